"""`latency`: warm time to first token, prompt-token budget, decode speed, threads, passages.

One process holds one pipeline per LLM thread count (same index, same embedder). After a
warm-up, the arms are interleaved rep by rep, alternating their order:

- showcase TTFT *after a different question*: only the fixed prefix (system + few-shot) is
  reused from the KV cache, as for a real user's next question;
- showcase TTFT *repeated*: the whole prompt is cached (an upper bound, not a real case);
- showcase TTFT *with no KV reuse* (`Llama.reset()` first): what a cold process pays, and
  the prompt-processing rate (llama.cpp's own counters: tokens evaluated / seconds);
- decode speed inside `ask()` vs `Llama.create_chat_completion` on the identical messages,
  same Llama object -> ratio (target >= 0.95);
- TTFT by number of passages k (the "tighter passages" lever);
- the fixed prefix's KV state saved to a file and restored into an emptied context (the
  cold-start lever): compute vs save vs load seconds, and the TTFT that follows.
Target: showcase TTFT <= 2.5 s median, warm.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import OTHER_QUESTIONS, SEEDS, SHOWCASE, Options, Report, load, make_embedder, median
from benchmarks.llm import (
    common_prefix,
    direct_answer,
    first_token,
    full_answer,
    llama_of,
    restore_prefix,
    save_prefix,
    user_message_tokens,
    without_ram_cache,
)
from chat.ask import Pipeline
from index.chunk import ChunkingParams
from index.search import HybridSearcher
from index.store import ensure_index
from models.generator import default_threads


def bench_settings(workdir: Path):  # type: ignore[no-untyped-def]
    """Default settings, with a private data dir for indexes and the user's GGUF pinned."""
    from chat.settings import Settings
    from models.gguf import resolve_gguf

    user = Settings.load()
    gguf = resolve_gguf(user.generator.gguf, user.data_dir)
    return Settings.load(corpus=str(SEEDS), data_dir=str(workdir / "data"), gguf=str(gguf))


class _Paced:
    """A fake generator that takes 3 ms per piece, so the fake run's rates are measurable."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self._inner = inner
        self.model_id, self.n_ctx, self.count_tokens = inner.model_id, inner.n_ctx, inner.count_tokens

    def stream(self, messages, *, max_tokens: int, stop=()):  # type: ignore[no-untyped-def]
        import time

        from models.generator import Generation

        generation = self._inner.stream(messages, max_tokens=max_tokens, stop=stop)

        def pieces():  # type: ignore[no-untyped-def]
            for piece in generation:
                time.sleep(0.003)
                yield piece
            paced.prompt_tokens, paced.completion_tokens = generation.prompt_tokens, generation.completion_tokens

        paced = Generation(pieces())
        return paced


def pipelines(options: Options) -> dict[int, Pipeline]:
    """One pipeline per thread count, sharing the index and the embedder."""
    embedder = make_embedder(options.fake)
    if options.fake:
        from models.fakes import ScriptedGenerator

        store = ensure_index(SEEDS, options.workdir / "latency-index", embedder, ChunkingParams())
        searcher = HybridSearcher(store, embedder)
        reply = "Erdogan turned to Russia because the West did not back him after the coup [1]."
        return {t: Pipeline(searcher, _Paced(ScriptedGenerator([reply]))) for t in options.threads}
    from chat.app import index_dir
    from models.generator import LlamaGenerator

    settings = bench_settings(options.workdir)
    store = ensure_index(settings.corpus, index_dir(settings), embedder, settings.chunking)
    searcher = HybridSearcher(store, embedder)
    out = {}
    for threads in options.threads:
        generator = LlamaGenerator(
            settings.generator.gguf,
            n_ctx=settings.generator.n_ctx,
            n_threads=threads,
            n_batch=settings.generator.n_batch,
        )
        out[threads] = Pipeline(searcher, generator, retrieval=settings.retrieval, answering=settings.answering)
    return out


def _order(keys: list[int], rep: int) -> list[int]:
    return keys if rep % 2 == 0 else keys[::-1]


def measure_ttft(pipes: dict[int, Pipeline], reps: int) -> dict[str, Any]:
    """Showcase after a different question, per thread count, interleaved."""
    rows: dict[int, list[dict]] = {t: [] for t in pipes}
    others: dict[int, list[dict]] = {t: [] for t in pipes}
    for pipe in pipes.values():  # warm-up: caches, allocations, the fixed prefix
        first_token(pipe, OTHER_QUESTIONS[-1])
        first_token(pipe, SHOWCASE)
    for rep in range(reps):
        for t in _order(list(pipes), rep):
            other = first_token(pipes[t], OTHER_QUESTIONS[rep % len(OTHER_QUESTIONS)])
            others[t].append({**other, "load": load()})
            rows[t].append({**first_token(pipes[t], SHOWCASE), "load": load()})
    return {"showcase": rows, "others": others}


def measure_repeat_and_cold(pipes: dict[int, Pipeline], reps: int) -> dict[str, Any]:
    repeat: dict[int, list[dict]] = {t: [] for t in pipes}
    nocache: dict[int, list[dict]] = {t: [] for t in pipes}
    for rep in range(reps):
        for t in _order(list(pipes), rep):
            first_token(pipes[t], SHOWCASE)
            repeat[t].append({**first_token(pipes[t], SHOWCASE), "load": load()})
            llm = llama_of(pipes[t].generator)
            with without_ram_cache(llm):
                if llm is not None:
                    llm.reset()  # forget the KV cache: the next prompt is evaluated from token 0
                nocache[t].append({**first_token(pipes[t], SHOWCASE), "load": load()})
    return {"repeat": repeat, "nocache": nocache}


def measure_decode(pipe: Pipeline, reps: int) -> dict[str, Any]:
    """ask() vs direct llama-cpp-python, ABBA, on a rotation of questions.

    A run where ask() took its second pass (the model refused, was asked again without the
    refusal option) generated from another prompt than the direct arm: such pairs are left
    out of the ratio and counted.
    """
    questions = (SHOWCASE, *OTHER_QUESTIONS)
    asked: list[dict] = []
    direct: list[dict] = []
    for rep in range(reps):
        question = questions[rep % len(questions)]
        arms = ((asked, full_answer), (direct, direct_answer))
        for sink, arm in arms if rep % 2 == 0 else arms[::-1]:
            sink.append({**arm(pipe, question), "load": load()})
    pairs = [(a, d) for a, d in zip(asked, direct, strict=True) if not a["second_pass"] and a["decode_pieces_per_s"]]
    ask_rate = median([a["decode_pieces_per_s"] for a, _ in pairs])
    direct_rate = median([d["decode_pieces_per_s"] for _, d in pairs])
    return {
        "ask": asked,
        "direct": direct,
        "pairs_used": len(pairs),
        "ask_rate": ask_rate,
        "direct_rate": direct_rate,
        "ratio": ask_rate / direct_rate if direct_rate else float("nan"),
        "paired_ratios": [
            a["decode_pieces_per_s"] / d["decode_pieces_per_s"] for a, d in pairs if d["decode_pieces_per_s"]
        ],
    }


def measure_k(pipe: Pipeline, k_values: tuple[int, ...], reps: int) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {k: [] for k in k_values}
    with without_ram_cache(llama_of(pipe.generator)):
        for rep in range(reps):
            for k in k_values if rep % 2 == 0 else k_values[::-1]:
                first_token(pipe, OTHER_QUESTIONS[rep % len(OTHER_QUESTIONS)], k=k)
                out[k].append({**first_token(pipe, SHOWCASE, k=k), "load": load()})
    return out


def measure_prefix_state(pipe: Pipeline, prefix_ids: list[int], reps: int) -> dict[str, Any]:
    llm = llama_of(pipe.generator)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, without_ram_cache(llm):
        path = Path(tmp) / "prefix.kv"
        for _ in range(reps):
            saved = save_prefix(llm, prefix_ids, path)
            restored = restore_prefix(llm, path)
            rows.append({**saved, **restored, **first_token(pipe, SHOWCASE), "load": load()})
    return {"runs": rows}


def measure_after_rewrite(pipe: Pipeline, prefix_ids: list[int], reps: int) -> dict[str, list[dict]]:
    """Showcase TTFT right after a follow-up rewrite prompt (chat/followup.py).

    The rewrite prompt has its own system text, so the KV cache no longer starts with the
    answer prompt's fixed prefix. Three ways back, each arm starting from the same sequence
    (a full answer to another question, the rewrite, then the showcase):
    - the product's LlamaRAMCache (256 MB, emptied first): restores a saved full state;
    - no cache: the whole prompt is processed again;
    - the fixed prefix's KV state (one 12 MB file, saved once) restored into the context.
    """
    from llama_cpp import LlamaRAMCache

    from chat.followup import build_messages as rewrite_messages

    llm = llama_of(pipe.generator)
    product = llm.cache
    rewrite = rewrite_messages([(OTHER_QUESTIONS[0], "More than 59 Turkish soldiers died [1].")], "and Russia?")
    arms = ("ram cache (product)", "no cache", "prefix state restored")
    rows: dict[str, list[dict]] = {arm: [] for arm in arms}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prefix.kv"
        with without_ram_cache(llm):
            saved = save_prefix(llm, prefix_ids, path)
        try:
            for rep in range(reps):
                for arm in arms if rep % 2 == 0 else arms[::-1]:
                    llm.set_cache(LlamaRAMCache(capacity_bytes=256 << 20) if arm == arms[0] else None)
                    full_answer(pipe, OTHER_QUESTIONS[(rep + 1) % len(OTHER_QUESTIONS)])
                    list(pipe.generator.stream(rewrite, max_tokens=60))
                    restored = restore_prefix(llm, path) if arm == arms[2] else {}
                    rows[arm].append({**first_token(pipe, SHOWCASE), **restored, "load": load()})
        finally:
            llm.set_cache(product)
    return {**rows, "prefix_file": saved}  # type: ignore[dict-item]


def _ttfts(rows: list[dict]) -> list[float]:
    return [r["ttft_s"] for r in rows]


def _strip(value: Any) -> Any:
    """Drop token-id lists from the saved JSON (kept only to compute the prefix)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "prompt_ids"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def run(options: Options) -> Report:
    report = Report("latency")
    pipes = pipelines(options)
    default = default_threads() if default_threads() in pipes else next(iter(pipes))
    reps = options.reps
    small = max(2, min(reps, 3))
    data: dict[str, Any] = {"default_threads": default, "reps": reps}

    ttft = measure_ttft(pipes, reps)
    data["ttft"] = ttft
    for t, rows in ttft["showcase"].items():
        note = f"median of {reps}, threads={t}" + (" (product default)" if t == default else "")
        report.add(f"showcase TTFT after another question, threads={t}", median(_ttfts(rows)), "s", note)
        passes = sum(r["second_pass"] for r in rows + ttft["others"][t])
        if passes:
            report.add(f"  runs whose first piece came from a second pass, threads={t}", passes, "runs")
        report.add(f"  other questions TTFT, threads={t}", median(_ttfts(ttft["others"][t])), "s")
        report.add(f"  retrieval part, threads={t}", median([r["retrieve_s"] for r in rows]), "s")
    if len(pipes) > 1:
        a, b = sorted(pipes)[:2]
        ratio = median(_ttfts(ttft["showcase"][b])) / median(_ttfts(ttft["showcase"][a]))
        report.add(f"TTFT ratio threads={b} / threads={a}", ratio, "", "< 1: more threads are faster")

    sample = ttft["showcase"][default][-1]
    if "prompt_ids" in sample:
        other = ttft["others"][default][-1]
        prefix = common_prefix(sample["prompt_ids"], other["prompt_ids"])
        data["prefix_tokens"] = prefix
        report.add("prompt tokens (showcase)", sample["prompt_tokens"], "tokens")
        report.add("  fixed prefix (system + few-shot)", prefix, "tokens", "shared with any other question")
        report.add("  per question", sample["prompt_tokens"] - prefix, "tokens",
                   f"llama.cpp evaluated {sample.get('n_prompt_eval')}")  # fmt: skip
        count = pipes[default].generator.count_tokens
        parts = user_message_tokens(pipes[default], SHOWCASE, count)
        data["user_message_tokens"] = parts
        for key, value in parts.items():
            report.add(f"    {key}", value, "tokens")
        rates = [r["n_prompt_eval"] / r["prompt_eval_s"] for r in ttft["showcase"][default] if r.get("prompt_eval_s")]
        report.add(f"prompt processing, per-question part, threads={default}", median(rates), "tok/s")

    extra = measure_repeat_and_cold(pipes, small)
    data["repeat_and_nocache"] = extra
    for t in pipes:
        report.add(f"showcase TTFT, same question repeated, threads={t}", median(_ttfts(extra["repeat"][t])), "s",
                   "whole prompt cached: not a real case")  # fmt: skip
        report.add(f"showcase TTFT, no KV reuse, threads={t}", median(_ttfts(extra["nocache"][t])), "s",
                   "what a cold process pays for the prompt")  # fmt: skip
        rates = [r["n_prompt_eval"] / r["prompt_eval_s"] for r in extra["nocache"][t] if r.get("prompt_eval_s")]
        if rates:
            report.add(f"  prompt processing, whole prompt, threads={t}", median(rates), "tok/s")

    by_k = measure_k(pipes[default], options.k_values, small)
    data["by_k"] = by_k
    for k, rows in by_k.items():
        report.add(f"showcase TTFT with k={k} passages", median(_ttfts(rows)), "s",
                   f"{rows[-1]['prompt_tokens']} prompt tokens, threads={default}")  # fmt: skip

    decode = measure_decode(pipes[default], small * 2)
    data["decode"] = decode
    used = f"{decode['pairs_used']} of {len(decode['ask'])} pairs (second passes left out)"
    report.add("decode inside ask()", decode["ask_rate"], "tok/s", f"threads={default}, {used}")
    report.add("decode direct llama-cpp-python", decode["direct_rate"], "tok/s", "same Llama, same messages")
    report.add("decode ratio ask() / direct", decode["ratio"], "", "target >= 0.95")
    inner = [r["n_decode"] / r["decode_s"] for r in decode["ask"] + decode["direct"] if r.get("decode_s")]
    if inner:
        report.add("  llama.cpp's own decode rate (both arms)", median(inner), "tok/s", "llama_perf_context")

    if "prefix_tokens" in data:
        state = measure_prefix_state(pipes[default], sample["prompt_ids"][: data["prefix_tokens"]], small)
        data["prefix_state"] = state
        runs = state["runs"]
        report.add("prefix KV: compute from scratch", median([r["compute_s"] for r in runs]), "s",
                   f"{runs[0]['prefix_tokens']} tokens, threads={default}")  # fmt: skip
        report.add(
            "prefix KV: save to file", median([r["save_s"] for r in runs]), "s", f"{runs[0]['bytes'] / 1e6:.1f} MB"
        )
        report.add("prefix KV: load from file", median([r["load_s"] for r in runs]), "s")
        report.add("showcase TTFT after loading the prefix KV", median(_ttfts(runs)), "s",
                   "an emptied context, as in a new process")  # fmt: skip
    llm = llama_of(pipes[default].generator)
    if "prefix_tokens" in data and llm is not None and getattr(llm, "cache", None) is not None:
        rewrite = measure_after_rewrite(pipes[default], sample["prompt_ids"][: data["prefix_tokens"]], small)
        data["after_rewrite"] = rewrite
        for arm, rows in rewrite.items():
            if isinstance(rows, list):
                report.add(f"showcase TTFT after a follow-up rewrite: {arm}", median(_ttfts(rows)), "s",
                           f"{rows[-1].get('n_prompt_eval')} prompt tokens evaluated")  # fmt: skip
    report.data = _strip(data)
    return report
