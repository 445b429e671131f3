"""`cold`: `seedqa --help` wall time, cold `seedqa ask` to its first character, start-up stages.

- `seedqa --help`, a new process each time, median of `reps` (target < 0.5 s);
- cold `seedqa ask "<showcase>"` (new process, index already built, model file in the page
  cache): seconds from launch to the first byte on its unbuffered stdout, its peak RSS
  (wait4). Once with an empty `<data dir>/llm-state` (a first-ever run: the fixed prompt
  prefix is computed and saved), then `reps` times with the saved state present (the normal
  case: the prefix is loaded), interleaved with warm showcase TTFTs in this process (from
  exactly the fixed prefix) -> ratio (target <= 2x);
- the start-up stages, each timed in order in one fresh process (`python -m benchmarks.cold
  stages`): imports, loading the LLM and priming its prompt prefix from the saved state, the
  embedder and the index, the first search. They show what a cold start spends before the
  prompt is even read;
- the peak RSS of a process holding only the product's LLM (primed, state dir of its own)
  after one or a dozen completed answers, for n_ctx 4096 and 2048, and once without weight
  repacking (`python -m benchmarks.cold llm-memory N_CTX N_BATCH ANSWERS [REPACK]`): the
  LLM's share of the 3 GB budget.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.common import (
    OTHER_QUESTIONS,
    ROOT,
    SHOWCASE,
    Options,
    Report,
    emit,
    load,
    median,
    peak_rss_mb,
    python_child,
)

SEEDQA = Path(sys.executable).with_name("seedqa")
T = TypeVar("T")


def help_times(reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        began = time.perf_counter()
        subprocess.run([str(SEEDQA), "--help"], check=True, capture_output=True)
        out.append(time.perf_counter() - began)
    return out


def help_imports(top: int = 8) -> list[tuple[str, float]]:
    """The slowest imports (cumulative ms) that `seedqa --help` pays for, from -X importtime."""
    code = (
        "import sys; sys.argv = ['seedqa', '--help']\nfrom chat.cli import main\ntry: main()\nexcept SystemExit: pass"
    )
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|")
            if not name.startswith("  "):  # top-level imports only (nested ones are inside them)
                rows.append((name.strip(), int(cumulative.strip()) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:top]


def cold_ask(env: dict[str, str], question: str = SHOWCASE) -> dict[str, Any]:
    """Launch `seedqa ask`, time its first stdout byte; its peak RSS is VmHWM read while it runs."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [str(SEEDQA), "ask", question], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
    )
    assert process.stdout is not None
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:  # VmHWM only grows; the last reading before exit is the peak
        while not done.wait(0.02):
            value = peak_rss_mb(process.pid)
            if value == value:  # not NaN: the process is still there
                peak[0] = max(peak[0], value)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    first = process.stdout.read(1)
    first_s = time.perf_counter() - began
    rest = process.stdout.read()
    done.set()
    watcher.join()
    process.wait()
    if process.returncode != 0 or not first:
        raise RuntimeError(f"seedqa ask exited with {process.returncode}")
    return {
        "first_byte_s": first_s,
        "total_s": time.perf_counter() - began,
        "peak_rss_mb": peak[0],
        "chars": len(first + rest),
    }


def stages(*, fake: bool = False) -> dict[str, float]:
    """Each start-up step of `seedqa ask`, in order, in this (fresh) process.

    The models are built as chat/app.py builds them; with `fake`, the hashing embedder and a
    scripted generator stand in (plumbing only: the numbers mean nothing) and the index is
    built if it is missing.
    """
    out: dict[str, float] = {}

    def step(name: str, action: Callable[[], T]) -> T:
        began = time.perf_counter()
        result = action()
        out[name] = time.perf_counter() - began
        return result

    step("import chat.cli", lambda: __import__("chat.cli"))
    step("import chat.app (+index, models)", lambda: __import__("chat.app"))
    step("import faiss", lambda: __import__("faiss"))
    step("import llama_cpp", lambda: __import__("llama_cpp"))
    from chat.app import build_embedder, build_llama, build_sparse, index_dir, prime_prefix
    from chat.settings import Settings
    from index.search import HybridSearcher
    from index.store import IndexSpec, ensure_index
    from models.embedder import Embedder
    from models.fakes import HashingEmbedder, HashingSparseEncoder
    from models.splade import SparseEncoder

    settings = Settings.load()
    if fake:
        out["load LLM (fake)"] = 0.0
    else:
        generator = step("load LLM (build_llama)", lambda: build_llama(settings))
        began = time.perf_counter()
        how = prime_prefix(generator)
        out[f"prime the prompt prefix ({how})"] = time.perf_counter() - began
    # As a cold ask: torch is never loaded, queries use NumPy.
    embedder: Embedder = HashingEmbedder() if fake else build_embedder(settings)
    sparse: SparseEncoder | None = HashingSparseEncoder() if fake else build_sparse(settings)
    spec = IndexSpec(settings.corpus, index_dir(settings), embedder, settings.chunking, sparse)
    store = step("check + load index", lambda: ensure_index(spec, rebuild=fake))
    searcher = HybridSearcher(store, embedder, sparse)
    step("first search (loads the NumPy query encoder)", lambda: searcher.search(SHOWCASE, settings.retrieval))
    step("second search", lambda: searcher.search(OTHER_QUESTIONS[0], settings.retrieval))
    # Not on a cold ask's path (only index builds and the web server load them); timed last
    # so the searches above run as in a cold ask.
    if not fake:
        step("import torch (not on the ask path)", lambda: __import__("torch"))
        step("import sentence_transformers (not on the ask path)", lambda: __import__("sentence_transformers"))
    return out


def _no_repack() -> None:
    """Make the next Llama keep its weights as stored (no repacked copy for the CPU kernels).

    llama-cpp-python does not expose llama.cpp's `use_extra_bufts`, so its default model
    parameters are patched for this (benchmark) process only.
    """
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params

    def patched() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    low.llama_model_default_params = patched


def llm_memory(n_ctx: int, n_batch: int, answers: int, repack: int = 1, *, fake: bool = False) -> dict[str, Any]:
    """Peak RSS of a process that holds only the LLM, after `answers` completed answers.

    The generator is the product's (chat/app.py `build_llama` and `prime_prefix`, with a state
    dir of its own, computed here); with `fake`, a scripted generator (plumbing only). The
    prompts are real ones (system, few-shot, four seed chunks shown whole, a reference
    question); the chunks come from the built index without loading the embedder, so torch
    is not counted.
    """
    import tempfile
    from dataclasses import replace

    from benchmarks.corpus import queries
    from chat.app import build_llama, index_dir, prime_prefix
    from chat.prompt import build_messages
    from chat.settings import Settings
    from index.store import load_index
    from index.types import Passage
    from models.fakes import ScriptedGenerator
    from models.generator import Generator

    settings = Settings.load()
    chunks = load_index(index_dir(settings)).chunks[:4]
    passages = [Passage(c, i + 1, 0.0, None, None) for i, c in enumerate(chunks)]
    sized = replace(settings, generator=replace(settings.generator, n_ctx=n_ctx, n_batch=n_batch))
    if not repack and not fake:
        _no_repack()
    with tempfile.TemporaryDirectory(prefix="llm-state-") as state_dir:
        began = time.perf_counter()
        llama = None if fake else build_llama(sized, state_dir=Path(state_dir))
        generator: Generator = ScriptedGenerator(n_ctx=n_ctx) if llama is None else llama
        out: dict[str, Any] = {"n_ctx": n_ctx, "n_batch": n_batch, "answers": answers, "repack": repack,
                               "load_s": time.perf_counter() - began, "after_load_rss_mb": peak_rss_mb()}  # fmt: skip
        began = time.perf_counter()
        out["prime"] = prime_prefix(llama) if llama is not None else "fake"
        out["prime_s"] = time.perf_counter() - began
        out["after_prime_rss_mb"] = peak_rss_mb()
        began = time.perf_counter()
        for question in [SHOWCASE, *queries(answers)[1:]][:answers]:
            generation = generator.stream(build_messages(question, passages), max_tokens=8)
            list(generation)
            out["prompt_tokens"] = generation.prompt_tokens
            out.setdefault("first_answer_s", time.perf_counter() - began)  # the per-question part
        out["answers_s"] = time.perf_counter() - began
    return out


def _clear_llm_state(data_dir: Path) -> None:
    """Remove the saved prompt-prefix state, so the next process computes it (a first-ever run)."""
    import shutil

    shutil.rmtree(data_dir / "llm-state", ignore_errors=True)


def run(options: Options) -> Report:
    report = Report("cold")
    reps = options.reps
    times = help_times(reps)
    report.data["help_s"] = times
    report.add("seedqa --help", median(times), "s", f"median of {reps} new processes; target < 0.5")
    slowest = help_imports()
    report.data["help_imports_ms"] = slowest
    report.add("  slowest imports of --help", ", ".join(f"{n} {ms:.0f} ms" for n, ms in slowest[:4]))
    if options.fake:
        return report

    from benchmarks.latency import bench_settings
    from benchmarks.llm import first_token, to_prefix
    from chat.app import build_pipeline

    settings = bench_settings(options.workdir)
    env = {**os.environ, "SEEDQA_GGUF": str(settings.generator.gguf), "SEEDQA_DATA_DIR": str(settings.data_dir),
           "SEEDQA_CORPUS": str(settings.corpus)}  # fmt: skip
    pipeline = build_pipeline(settings)  # builds the index in the private data dir if needed, primes the LLM
    first_token(pipeline, OTHER_QUESTIONS[-1])  # warm-up
    first_token(pipeline, SHOWCASE)
    staged = python_child(["-m", "benchmarks.cold", "stages"], env=env)  # the saved prefix state is present
    report.data["stages"] = staged

    def warm_showcase() -> dict[str, Any]:
        to_prefix(pipeline.generator)  # exactly the fixed prefix: the whole per-question part is evaluated
        return {**first_token(pipeline, SHOWCASE), "load": load()}

    _clear_llm_state(settings.data_dir)
    first_ever = {**cold_ask(env), "load": load()}  # computes the prefix and saves it for the next ones
    report.data["cold_ask_first_ever"] = first_ever
    cold: list[dict] = []
    warm: list[dict] = []
    for rep in range(reps):
        arms = [lambda: cold.append({**cold_ask(env), "load": load()}), lambda: warm.append(warm_showcase())]
        for arm in arms if rep % 2 == 0 else arms[::-1]:
            arm()
    report.data["cold_ask"] = cold
    report.data["warm"] = warm
    cold_median = median([r["first_byte_s"] for r in cold])
    warm_median = median([r["ttft_s"] for r in warm])
    report.add("cold seedqa ask: first character", cold_median, "s",
               f"median of {reps}, new process each, prefix state loaded from llm-state")  # fmt: skip
    report.add("  first-ever run (empty llm-state)", first_ever["first_byte_s"], "s",
               "prefix computed and saved; once")  # fmt: skip
    report.add("warm showcase TTFT (same run)", warm_median, "s", "from the fixed prefix")
    report.add("cold / warm ratio", cold_median / warm_median, "", "target <= 2")
    report.add("cold seedqa ask: whole answer", median([r["total_s"] for r in cold]), "s")
    peak = max(r["peak_rss_mb"] for r in [*cold, first_ever])
    report.add("cold seedqa ask: peak RSS", peak, "MB", "target <= 3000")
    n_batch = settings.generator.n_batch
    for n_ctx, answers, repack in ((4096, 1, 1), (4096, 12, 1), (2048, 1, 1), (2048, 12, 1), (4096, 12, 0)):
        used = python_child(
            ["-m", "benchmarks.cold", "llm-memory", *map(str, (n_ctx, n_batch, answers, repack))], env=env
        )
        report.data[f"llm_memory_{n_ctx}_{n_batch}_{answers}" + ("" if repack else "_no_repack")] = used
        report.add(f"LLM-only peak RSS, n_ctx={n_ctx}, {answers} answers" + ("" if repack else ", no repacking"),
                   used["peak_rss_mb"], "MB", f"n_batch={n_batch}, primed ({used['prime']})")  # fmt: skip
    for name, seconds in staged.items():
        if isinstance(seconds, float) and name not in ("wall_s", "peak_rss_mb", "load"):
            report.add(f"  stage: {name}", seconds, "s", "fresh process, in order")
    return report


def main(argv: list[str]) -> None:
    """`python -m benchmarks.cold stages | llm-memory N_CTX N_BATCH ANSWERS [REPACK]`, each with
    `--fake` for the fakes; prints one JSON line (`emit`)."""
    fake = "--fake" in argv
    args = [a for a in argv if a != "--fake"]
    if args == ["stages"]:
        emit(stages(fake=fake))
    elif args[:1] == ["llm-memory"] and len(args) in (4, 5):
        emit(llm_memory(*(int(a) for a in args[1:]), fake=fake))
    else:
        sys.exit("usage: python -m benchmarks.cold stages | llm-memory N_CTX N_BATCH ANSWERS [REPACK] [--fake]")


if __name__ == "__main__":
    main(sys.argv[1:])
