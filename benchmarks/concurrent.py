"""Concurrent web clients: each client's time to first token and total, answers per minute.

    .venv/bin/python -m benchmarks.concurrent                       # 1, 4, 8 clients, both backends
    .venv/bin/python -m benchmarks.concurrent --clients 1,2 --backends in-process
    .venv/bin/python -m benchmarks.concurrent --server http://127.0.0.1:8080/v1   # e.g. llama-server --parallel 4
    .venv/bin/python -m benchmarks.concurrent --fake --clients 1,4   # plumbing only

The chat page is served as `seedqa serve` serves it (chat/web.py, with the concurrency
chat/app.py `web_concurrency` gives the backend: 1 in-process, SEEDQA_WEB_CONCURRENCY or 4
with a server), and N gradio_client clients ask at once, each a different reference
question. Backends: the in-process model, and a model server: the one at --server, else
llama-cpp-python's own server started here with the same GGUF (benchmarks/llama_server.py;
it has one llama.cpp context, so it answers one request at a time: servers with parallel
slots are llama.cpp's `llama-server --parallel N` and vLLM, docs/SERVER.md). An answer is lost
when a client gets none, mixed up when it answers another client's question.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.common import OTHER_QUESTIONS, RESULTS, SEEDS, SHOWCASE, Report, median

QUESTIONS = (
    SHOWCASE,
    *OTHER_QUESTIONS,
    "Which Libyan commander did Erdogan accuse Russia of backing?",
    "When did the TurkStream pipeline begin commercial gas deliveries?",
    "Which Ukrainian president visited Turkey in October 2020?",
    "Where is Middle East Eye headquartered?",
)


@dataclass(frozen=True, slots=True)
class Options:
    clients: tuple[int, ...] = (1, 4, 8)
    backends: tuple[str, ...] = ("in-process", "server")
    server: str | None = None  # a running server's URL; None: start llama_cpp.server for the server arm
    fake: bool = False  # hashing embedder and a scripted generator: plumbing only, numbers meaningless
    timeout_s: float = 900.0  # for one client's answer
    workdir: Path = RESULTS / "work"
    out: Path = RESULTS


def ask(url: str, question: str, start: threading.Barrier, timeout_s: float) -> dict[str, Any]:
    """One web client: submit the question once every client is ready, time its first token
    (the first update carrying the assistant's message) and its final answer."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    start.wait()
    began = time.perf_counter()
    first: float | None = None
    job = client.submit(question, [], api_name="/ask")
    for output in job:
        chat = output[1] if isinstance(output, list | tuple) else None
        if first is None and chat and chat[-1].get("role") == "assistant":
            first = time.perf_counter() - began
    final = job.result(timeout=timeout_s)
    total = time.perf_counter() - began
    details = final[4] if isinstance(final, list | tuple) and len(final) > 4 else {}
    return {
        "question": question,
        "answered": details.get("asked"),
        "refused": details.get("refused"),
        "error": details.get("error"),
        "ttft_s": round(first if first is not None else total, 3),
        "total_s": round(total, 3),
    }


def round_of(url: str, n: int, timeout_s: float, *, first: int = 0) -> dict[str, Any]:
    """N clients at once, asking QUESTIONS from `first` on; each one's result (or the exception it met)."""
    start = threading.Barrier(n)
    results: list[dict[str, Any]] = [{} for _ in range(n)]

    def client(i: int) -> None:
        question = QUESTIONS[(first + i) % len(QUESTIONS)]
        try:
            results[i] = ask(url, question, start, timeout_s)
        except Exception as exc:  # a lost answer is a result here, not a crash
            results[i] = {"question": question, "error": f"{type(exc).__name__}: {exc}"}

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s + 60)
    wall = time.perf_counter() - began
    answered = [r for r in results if r.get("answered") and not r.get("error")]
    return {
        "clients": results,
        "wall_s": round(wall, 2),
        "lost": sum(1 for r in results if not r.get("answered") or r.get("error")),
        "mixed": sum(1 for r in answered if r["answered"] != r["question"]),
        "answers_per_minute": round(len(answered) / wall * 60, 2) if wall else 0.0,
    }


def _pipelines(options: Options, settings: Any, servers: list[Any]) -> dict[str, tuple[Any, Any]]:
    """Each backend's pipeline (sharing one searcher) and settings; the server arm may start its server."""
    from chat.app import build_generator, build_pipeline
    from chat.ask import Pipeline

    if options.fake:
        from index.search import HybridSearcher
        from index.store import IndexSpec, build_index, load_index
        from models.fakes import HashingEmbedder, ScriptedGenerator

        embedder = HashingEmbedder()
        build_index(IndexSpec(SEEDS, options.workdir / "concurrent-fake-index", embedder, settings.chunking))
        searcher = HybridSearcher(load_index(options.workdir / "concurrent-fake-index"), embedder)
        scripted = ScriptedGenerator(["Erdogan turned to Russia after the coup attempt [1]."])
        # The server arm is the scripted generator served with a server's concurrency.
        fake_url = {"in-process": None, "server": options.server or "http://127.0.0.1:9/v1"}
        return {
            name: (
                Pipeline(searcher, scripted, answering=settings.answering),
                replace(settings, generator=replace(settings.generator, url=fake_url[name])),
            )
            for name in options.backends
        }
    base = build_pipeline(settings, progress=True)
    out: dict[str, tuple[Any, Any]] = {}
    for name in options.backends:
        if name == "in-process":
            out[name] = (base, settings)
            continue
        url = options.server
        if url is None:
            from benchmarks.llama_server import start
            from models.gguf import resolve_gguf
            from models.llama import default_threads

            config = settings.generator
            server = start(
                resolve_gguf(config.gguf, settings.data_dir), options.workdir / "llama-server.log",
                n_ctx=config.n_ctx, threads=config.n_threads or default_threads(), n_batch=config.n_batch,
            )  # fmt: skip
            servers.append(server)
            url = server.url
        served = replace(settings, generator=replace(settings.generator, url=url))
        generator = build_generator(served)
        out[name] = (Pipeline(base.searcher, generator, retrieval=served.retrieval, answering=served.answering), served)
    return out


def run(options: Options) -> Report:
    from chat import web
    from chat.app import web_concurrency
    from chat.settings import Settings

    settings = Settings.load(corpus=str(SEEDS), data_dir=str(options.workdir / "concurrent-data"))
    if not options.fake:  # the user's assembled GGUF, not a second 1.1 GB copy
        from models.gguf import resolve_gguf

        shared = Settings.load()
        settings = replace(
            settings, generator=replace(settings.generator, gguf=resolve_gguf(shared.generator.gguf, shared.data_dir))
        )
    report = Report("concurrent" + ("-fake" if options.fake else ""))
    servers: list[Any] = []
    try:
        pipelines = _pipelines(options, settings, servers)
        for name, (pipeline, arm_settings) in pipelines.items():
            pipeline.warm_up(full_embedder=True)
            slots = web_concurrency(arm_settings)
            demo = web.build_app(pipeline, examples=[], corpus="seeds", concurrency=slots)
            url = web.launch(demo, port=0, concurrency=slots)
            try:
                arm: dict[str, Any] = {"model": pipeline.generator.model_id, "web_concurrency": slots, "rounds": {}}
                # Warm each arm as a running service is: one answer per slot, to other questions than
                # the measured ones, so a server's slots hold the fixed prompt prefix in their caches
                # as the in-process model holds it from its saved state (not reported).
                round_of(url, slots, options.timeout_s, first=len(QUESTIONS) - slots)
                for n in options.clients:
                    result = round_of(url, n, options.timeout_s)
                    arm["rounds"][str(n)] = result
                    answered = [c for c in result["clients"] if "ttft_s" in c]
                    label = f"{name}, {n} client{'s' if n > 1 else ''}"
                    report.add(f"{label}: median TTFT", median([c["ttft_s"] for c in answered]), "s")
                    report.add(f"{label}: max TTFT", max((c["ttft_s"] for c in answered), default=float("nan")), "s")
                    report.add(f"{label}: median total", median([c["total_s"] for c in answered]), "s")
                    report.add(f"{label}: answers per minute", result["answers_per_minute"], "/min")
                    report.add(f"{label}: lost / mixed up", f"{result['lost']} / {result['mixed']}")
                report.data[name] = arm
            finally:
                demo.close()
    finally:
        from benchmarks.llama_server import stop

        for server in servers:
            stop(server)
    return report


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrent", description=__doc__.split("\n")[0])
    defaults = Options()
    parser.add_argument("--clients", default=",".join(map(str, defaults.clients)), help="e.g. 1,4,8")
    parser.add_argument("--backends", default=",".join(defaults.backends), help="in-process, server or both")
    parser.add_argument("--server", default=None, help="a running OpenAI-compatible server (default: start one)")
    parser.add_argument("--fake", action="store_true", help="fake models: checks the plumbing, numbers mean nothing")
    parser.add_argument("--timeout", type=float, default=defaults.timeout_s, help="seconds for one answer")
    parser.add_argument("--workdir", type=Path, default=defaults.workdir)
    parser.add_argument("--out", type=Path, default=defaults.out)
    args = parser.parse_args(argv)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    if unknown := [b for b in backends if b not in ("in-process", "server")]:
        parser.error(f"unknown backend {', '.join(unknown)}; choose in-process or server")
    options = Options(
        clients=tuple(int(c) for c in args.clients.split(",")), backends=backends, server=args.server,
        fake=args.fake, timeout_s=args.timeout, workdir=args.workdir, out=args.out,
    )  # fmt: skip
    report = run(options)
    print(report.table())
    print(f"saved {report.save(options.out)}")
    return report


if __name__ == "__main__":
    main()
