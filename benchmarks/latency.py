"""`latency`: warm time to first token, prompt-token budget, decode speed, threads, passages.

One process holds one pipeline per LLM thread count (same index, same embedder), each with
the product's generator: `LlamaGenerator(state_dir=...)` primed with the fixed prompt prefix
(system + few-shot, `chat.prompt.PREFIX`). After a warm-up, the arms are interleaved rep by
rep, alternating their order.

"Warm" means the context holds exactly the fixed prefix before the measured call (`to_prefix`):
llama-cpp-python reuses the longest common token prefix with the previous prompt, so right
after another question that retrieved the same first passages only the rest is evaluated.
Each row says how many prompt tokens llama.cpp evaluated (`llama_perf_context`).

- showcase TTFT *warm* (from the fixed prefix), per thread count: the whole per-question part
  is evaluated; the headline figure (target: <= 2.5 s median);
- showcase TTFT *after a different question*: the realistic sequence, which may also reuse
  passages the two prompts share;
- showcase TTFT *repeated*: the whole prompt is cached (an upper bound, not a real case);
- showcase TTFT *with no KV reuse* (`Llama.reset()`, the product's prefix restore off): the
  whole prompt from token 0, and the prompt-processing rate (tokens evaluated / seconds);
- TTFT by number of passages k, each from the fixed prefix (the "tighter passages" lever);
- decode speed inside `ask()` vs `Llama.create_chat_completion` on the identical messages,
  same Llama object, both from the fixed prefix -> ratio (target >= 0.95);
- `LlamaGenerator.prime()` into an emptied context: computing the prefix (no state file, a
  first-ever run) vs loading it (the file a previous process saved), the file's size, and
  the showcase TTFT right after the load (what a new process pays per question);
- showcase TTFT right after a follow-up rewrite prompt (chat/followup.py), with the product's
  automatic prefix restore and without it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import OTHER_QUESTIONS, SEEDS, SHOWCASE, Options, Report, load, make_embedder, median
from benchmarks.llm import (
    direct_answer,
    first_token,
    full_answer,
    generator_of,
    llama_of,
    prefix_tokens,
    timed_prime,
    to_prefix,
    user_message_tokens,
    without_prefix,
)
from chat.ask import Pipeline
from chat.settings import Settings
from index.chunk import ChunkingParams
from index.search import HybridSearcher
from index.store import IndexSpec, ensure_index
from models.llama import default_threads


def bench_settings(workdir: Path) -> Settings:
    """Default settings, with a private data dir for indexes and the user's GGUF pinned."""
    from models.gguf import resolve_gguf

    user = Settings.load()
    gguf = resolve_gguf(user.generator.gguf, user.data_dir)
    return Settings.load(corpus=str(SEEDS), data_dir=str(workdir / "data"), gguf=str(gguf))


class _Paced:
    """A fake generator that takes 3 ms per piece, so the fake run's rates are measurable."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self._inner = inner
        self.model_id, self.n_ctx, self.count_tokens = inner.model_id, inner.n_ctx, inner.count_tokens
        self.choose = inner.choose

    def stream(self, messages, *, max_tokens: int, stop=(), track=None):  # type: ignore[no-untyped-def]
        import time

        from models.generator import Generation

        generation = self._inner.stream(messages, max_tokens=max_tokens, stop=stop, track=track)

        def pieces():  # type: ignore[no-untyped-def]
            for piece in generation:
                time.sleep(0.003)
                yield piece
            paced.prompt_tokens, paced.completion_tokens = generation.prompt_tokens, generation.completion_tokens
            paced.track_logprob = generation.track_logprob

        paced = Generation(pieces())
        return paced


def pipelines(options: Options, state_root: Path) -> tuple[dict[int, Pipeline], dict[int, dict[str, Any]]]:
    """One pipeline per thread count, sharing the index and the embedder; and how each primed.

    Each generator gets its own state dir under `state_root` (the saved prefix depends on the
    thread count, and the product keeps one state file per dir).
    """
    embedder = make_embedder(options.fake)
    if options.fake:
        from models.fakes import ScriptedGenerator

        store = ensure_index(IndexSpec(SEEDS, options.workdir / "latency-index", embedder, ChunkingParams()))
        searcher = HybridSearcher(store, embedder)
        reply = "Erdogan turned to Russia because the West did not back him after the coup [1]."
        return {t: Pipeline(searcher, _Paced(ScriptedGenerator([reply]))) for t in options.threads}, {}
    import time
    from dataclasses import replace

    from chat.app import build_llama, build_sparse, index_dir, prime_prefix

    settings = bench_settings(options.workdir)
    sparse = build_sparse(settings)
    store = ensure_index(IndexSpec(settings.corpus, index_dir(settings), embedder, settings.chunking, sparse))
    searcher = HybridSearcher(store, embedder, sparse)
    out, primed = {}, {}
    for threads in options.threads:
        threaded = replace(settings, generator=replace(settings.generator, n_threads=threads))
        generator = build_llama(threaded, state_dir=state_root / f"threads-{threads}")
        began = time.perf_counter()
        how = prime_prefix(generator)  # as chat/app.py build_generator does
        primed[threads] = {"how": how, "prime_s": time.perf_counter() - began}
        out[threads] = Pipeline(searcher, generator, retrieval=settings.retrieval, answering=settings.answering)
    return out, primed


def _order(keys: list[Any], rep: int) -> list[Any]:
    return keys if rep % 2 == 0 else keys[::-1]


def _warm(pipe: Pipeline, question: str, **kwargs: Any) -> dict[str, Any]:
    """TTFT from exactly the fixed prefix: the whole per-question part is evaluated."""
    to_prefix(pipe.generator)
    return {**first_token(pipe, question, **kwargs), "load": load()}


def measure_ttft(pipes: dict[int, Pipeline], reps: int) -> dict[str, Any]:
    """Showcase warm (from the fixed prefix) and right after a different question, per thread count.

    The other question is itself timed from the fixed prefix.
    """
    warm: dict[int, list[dict]] = {t: [] for t in pipes}
    after: dict[int, list[dict]] = {t: [] for t in pipes}
    others: dict[int, list[dict]] = {t: [] for t in pipes}
    for pipe in pipes.values():  # warm-up: caches, allocations
        first_token(pipe, OTHER_QUESTIONS[-1])
        first_token(pipe, SHOWCASE)
    for rep in range(reps):
        for t in _order(list(pipes), rep):
            other = OTHER_QUESTIONS[rep % len(OTHER_QUESTIONS)]

            def after_other(t: int = t, other: str = other) -> None:
                others[t].append(_warm(pipes[t], other))
                after[t].append({**first_token(pipes[t], SHOWCASE), "load": load()})

            def from_prefix(t: int = t) -> None:
                warm[t].append(_warm(pipes[t], SHOWCASE))

            for arm in _order([after_other, from_prefix], rep):
                arm()
    return {"warm": warm, "after_other": after, "others": others}


def measure_repeat_and_cold(pipes: dict[int, Pipeline], reps: int) -> dict[str, Any]:
    repeat: dict[int, list[dict]] = {t: [] for t in pipes}
    nocache: dict[int, list[dict]] = {t: [] for t in pipes}
    for rep in range(reps):
        for t in _order(list(pipes), rep):
            first_token(pipes[t], SHOWCASE)
            repeat[t].append({**first_token(pipes[t], SHOWCASE), "load": load()})
            llm = llama_of(pipes[t].generator)
            # Without the product's prefix restore, which would otherwise put the prefix back.
            with without_prefix(pipes[t].generator):
                if llm is not None:
                    llm.reset()  # forget the KV cache: the next prompt is evaluated from token 0
                nocache[t].append({**first_token(pipes[t], SHOWCASE), "load": load()})
    return {"repeat": repeat, "nocache": nocache}


def measure_decode(pipe: Pipeline, reps: int) -> dict[str, Any]:
    """ask() vs direct llama-cpp-python, ABBA, on a rotation of questions, both from the fixed prefix.

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
            to_prefix(pipe.generator)  # the same KV state before both arms
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
    """Showcase TTFT with k passages, each from the fixed prefix (no passage reused from before)."""
    out: dict[int, list[dict]] = {k: [] for k in k_values}
    for rep in range(reps):
        for k in _order(list(k_values), rep):
            out[k].append(_warm(pipe, SHOWCASE, k=k))
    return out


def measure_prime(pipe: Pipeline, reps: int) -> dict[str, Any]:
    """`prime()` into an emptied context: computed (no state file) vs loaded (the file present).

    Each rep computes (and saves) the prefix, loads it back, then times the showcase: after a
    load the context holds exactly the prefix, as in a new process.
    """
    rows = []
    for _ in range(reps):
        computed = timed_prime(pipe.generator, keep_file=False)
        loaded = timed_prime(pipe.generator, keep_file=True)
        showcase = first_token(pipe, SHOWCASE)
        rows.append({"computed": computed, "loaded": loaded, "showcase": showcase, "load": load()})
    return {"runs": rows}


def measure_after_rewrite(pipe: Pipeline, reps: int) -> dict[str, list[dict]]:
    """Showcase TTFT right after a follow-up rewrite prompt (chat/followup.py).

    The rewrite prompt has its own system text, so afterwards the KV cache no longer starts
    with the answer prompt's fixed prefix. Each arm runs the same sequence from the fixed
    prefix (a full answer to another question, the rewrite, then the showcase):
    - the product restores the saved prefix state before the answer prompt (~16 ms);
    - without it (`_prefix = None` for the arm) the whole prompt is processed again.
    """
    from contextlib import nullcontext

    from chat.followup import build_messages as rewrite_messages

    rewrite = rewrite_messages([(OTHER_QUESTIONS[0], "More than 59 Turkish soldiers died [1].")], "and Russia?")
    arms = ("prefix restored (product)", "no restore")
    rows: dict[str, list[dict]] = {arm: [] for arm in arms}
    for rep in range(reps):
        for arm in _order(list(arms), rep):
            to_prefix(pipe.generator)
            with without_prefix(pipe.generator) if arm == "no restore" else nullcontext():
                full_answer(pipe, OTHER_QUESTIONS[(rep + 1) % len(OTHER_QUESTIONS)])
                list(pipe.generator.stream(rewrite, max_tokens=60))
                rows[arm].append({**first_token(pipe, SHOWCASE), "load": load()})
    return rows


def _ttfts(rows: list[dict]) -> list[float]:
    return [r["ttft_s"] for r in rows]


def _evaluated(rows: list[dict]) -> str:
    """What llama.cpp evaluated in the last run of an arm (empty for fakes)."""
    last = rows[-1]
    if "n_prompt_eval" not in last:
        return f"{last['prompt_tokens']} prompt tokens"
    return f"{last['n_prompt_eval']} of {last['prompt_tokens']} prompt tokens evaluated"


def run(options: Options) -> Report:
    report = Report("latency")
    options.workdir.mkdir(parents=True, exist_ok=True)
    state_root = Path(tempfile.mkdtemp(prefix="llm-state-", dir=options.workdir))
    try:
        return _run(options, report, state_root)
    finally:
        shutil.rmtree(state_root, ignore_errors=True)


def _run(options: Options, report: Report, state_root: Path) -> Report:
    pipes, primed = pipelines(options, state_root)
    default = default_threads() if default_threads() in pipes else next(iter(pipes))
    reps = options.reps
    small = max(2, min(reps, 3))
    data: dict[str, Any] = {"default_threads": default, "reps": reps, "primed": primed}

    ttft = measure_ttft(pipes, reps)
    data["ttft"] = ttft
    for t in pipes:
        warm, after, others = ttft["warm"][t], ttft["after_other"][t], ttft["others"][t]
        note = f"median of {reps}, threads={t}" + (" (product default)" if t == default else "")
        report.add(f"showcase TTFT warm (from the fixed prefix), threads={t}", median(_ttfts(warm)), "s",
                   f"{note}; {_evaluated(warm)}")  # fmt: skip
        report.add(f"  showcase TTFT right after another question, threads={t}", median(_ttfts(after)), "s",
                   f"may reuse passages the two prompts share; {_evaluated(after)}")  # fmt: skip
        passes = sum(r["second_pass"] for r in warm + after + others)
        if passes:
            report.add(f"  runs whose first piece came from a second pass, threads={t}", passes, "runs")
        report.add(f"  other questions TTFT warm, threads={t}", median(_ttfts(others)), "s")
        report.add(f"  retrieval part, threads={t}", median([r["retrieve_s"] for r in warm]), "s")
    if len(pipes) > 1:
        a, b = sorted(pipes)[:2]
        ratio = median(_ttfts(ttft["warm"][b])) / median(_ttfts(ttft["warm"][a]))
        report.add(f"TTFT ratio threads={b} / threads={a}", ratio, "", "warm; < 1: more threads are faster")

    prefix = prefix_tokens(pipes[default].generator)
    sample = ttft["warm"][default][-1]
    if prefix is not None:
        data["prefix_tokens"] = prefix
        report.add("prompt tokens (showcase)", sample["prompt_tokens"], "tokens")
        report.add("  fixed prefix (system + few-shot)", prefix, "tokens", "primed once, shared with any question")
        report.add("  per question", sample["prompt_tokens"] - prefix, "tokens",
                   f"llama.cpp evaluated {sample.get('n_prompt_eval')} from the fixed prefix")  # fmt: skip
        count = pipes[default].generator.count_tokens
        parts = user_message_tokens(pipes[default], SHOWCASE, count)
        data["user_message_tokens"] = parts
        for key, value in parts.items():
            report.add(f"    {key}", value, "tokens")
        rates = [r["n_prompt_eval"] / r["prompt_eval_s"] for r in ttft["warm"][default] if r.get("prompt_eval_s")]
        report.add(f"prompt processing, per-question part, threads={default}", median(rates), "tok/s")

    extra = measure_repeat_and_cold(pipes, small)
    data["repeat_and_nocache"] = extra
    for t in pipes:
        report.add(f"showcase TTFT, same question repeated, threads={t}", median(_ttfts(extra["repeat"][t])), "s",
                   "whole prompt cached: not a real case")  # fmt: skip
        report.add(f"showcase TTFT, no KV reuse, threads={t}", median(_ttfts(extra["nocache"][t])), "s",
                   f"the whole prompt from token 0; {_evaluated(extra['nocache'][t])}")  # fmt: skip
        rates = [r["n_prompt_eval"] / r["prompt_eval_s"] for r in extra["nocache"][t] if r.get("prompt_eval_s")]
        if rates:
            report.add(f"  prompt processing, whole prompt, threads={t}", median(rates), "tok/s")

    by_k = measure_k(pipes[default], options.k_values, small)
    data["by_k"] = by_k
    for k, rows in by_k.items():
        report.add(f"showcase TTFT with k={k} passages", median(_ttfts(rows)), "s",
                   f"warm, threads={default}; {_evaluated(rows)}")  # fmt: skip

    decode = measure_decode(pipes[default], small * 2)
    data["decode"] = decode
    used = f"{decode['pairs_used']} of {len(decode['ask'])} pairs (second passes left out)"
    report.add("decode inside ask()", decode["ask_rate"], "tok/s", f"threads={default}, {used}")
    report.add("decode direct llama-cpp-python", decode["direct_rate"], "tok/s", "same Llama, same messages")
    report.add("decode ratio ask() / direct", decode["ratio"], "", "target >= 0.95; both from the fixed prefix")
    inner = [r["n_decode"] / r["decode_s"] for r in decode["ask"] + decode["direct"] if r.get("decode_s")]
    if inner:
        report.add("  llama.cpp's own decode rate (both arms)", median(inner), "tok/s", "llama_perf_context")

    if hasattr(generator_of(pipes[default].generator), "prime"):
        state = measure_prime(pipes[default], small)
        data["prime"] = state
        runs = state["runs"]
        computed, loaded = [r["computed"] for r in runs], [r["loaded"] for r in runs]
        hows = {r["how"] for r in computed} | {r["how"] for r in loaded}
        report.add("prefix KV: prime() computes it (no state file)", median([r["prime_s"] for r in computed]), "s",
                   f"{computed[0]['prefix_tokens']} tokens, threads={default}, a first-ever run")  # fmt: skip
        report.add("prefix KV: prime() loads it (state file present)", median([r["prime_s"] for r in loaded]), "s",
                   "into an emptied context, as in a new process")  # fmt: skip
        if hows != {"computed", "loaded"}:
            report.add("  prime() results (expected computed and loaded)", ", ".join(sorted(hows)))
        report.add("prefix KV: state file size", loaded[-1]["state_bytes"] / 1e6, "MB")
        showcase = [r["showcase"] for r in runs]
        report.add("showcase TTFT right after loading the prefix", median(_ttfts(showcase)), "s",
                   _evaluated(showcase))  # fmt: skip

    rewrite = measure_after_rewrite(pipes[default], small)
    data["after_rewrite"] = rewrite
    for arm, rows in rewrite.items():
        report.add(f"showcase TTFT after a follow-up rewrite: {arm}", median(_ttfts(rows)), "s",
                   _evaluated(rows))  # fmt: skip
    report.data = data
    return report
