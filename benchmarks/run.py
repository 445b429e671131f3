"""The one entry point: `python -m benchmarks.run [NAME...] [options]`.

    .venv/bin/python -m benchmarks.run                      # all: latency cold build scale
    .venv/bin/python -m benchmarks.run latency --reps 7
    .venv/bin/python -m benchmarks.run scale --chunks 5000  # a quick scale run
    .venv/bin/python -m benchmarks.run build scale --fake --chunks 300   # plumbing only
    .venv/bin/python -m benchmarks.run scale --chunks 5000 --no-llm      # retrieval only

Benchmarks run one after another (never two heavy processes at once); each prints its table
and writes benchmarks/results/<name>-<time>.json with the machine and load averages.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from benchmarks.common import Options, Report

NAMES = ("latency", "cold", "build", "scale")


def _runner(name: str) -> Callable[[Options], Report]:
    # Imported on demand: `scale` alone should not load llama.cpp, `latency` not faiss compares.
    if name == "latency":
        from benchmarks.latency import run
    elif name == "cold":
        from benchmarks.cold import run
    else:
        from benchmarks.build import run
    return run


def parse(argv: list[str] | None) -> tuple[list[str], Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)} (default: all)")
    defaults = Options()
    parser.add_argument("--reps", type=int, default=defaults.reps, help="repetitions per A/B arm")
    parser.add_argument("--chunks", type=int, default=defaults.chunks, help="scale: corpus size in chunks")
    parser.add_argument("--build-chunks", type=int, default=defaults.build_chunks, help="build: corpus size")
    parser.add_argument("--queries", type=int, default=defaults.queries, help="scale: retrieval queries")
    parser.add_argument("--threads", default=",".join(map(str, defaults.threads)), help="latency: e.g. 1,2")
    parser.add_argument("--k-values", default=",".join(map(str, defaults.k_values)), help="latency: e.g. 2,3,4")
    parser.add_argument("--embed-threads", type=int, default=None, help="scale: torch threads for the build")
    llm_help = "scale: answer the showcase in the query process (the default; with --fake a scripted LLM answers)"
    parser.add_argument("--with-llm", dest="no_llm", action="store_false", default=False, help=llm_help)
    parser.add_argument("--no-llm", dest="no_llm", action="store_true", help="scale: skip that answer")
    parser.add_argument("--reuse-index", action="store_true", help="scale: query an existing index of that size")
    parser.add_argument("--fake", action="store_true", help="fake models: checks the plumbing, numbers mean nothing")
    parser.add_argument("--sparse-only", action="store_true", help="scale: real SPLADE, fake dense embedder")
    parser.add_argument("--workdir", type=Path, default=defaults.workdir)
    parser.add_argument("--out", type=Path, default=defaults.out)
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    options = replace(
        defaults,
        reps=args.reps,
        chunks=args.chunks,
        build_chunks=args.build_chunks,
        queries=args.queries,
        threads=tuple(int(t) for t in args.threads.split(",") if t),
        k_values=tuple(int(k) for k in args.k_values.split(",") if k),
        with_llm=not args.no_llm,
        embed_threads=args.embed_threads,
        fake=args.fake,
        sparse_only=args.sparse_only,
        workdir=args.workdir,
        out=args.out,
    )
    return list(args.names) or list(NAMES), options, args


def main(argv: list[str] | None = None) -> list[Report]:
    names, options, args = parse(argv)
    reports = []
    for name in names:
        print(f"-- running {name} ...", file=sys.stderr, flush=True)
        if name == "scale":
            from benchmarks.scale import run as run_scale

            report = run_scale(options, reuse_index=args.reuse_index)
        else:
            report = _runner(name)(options)
        path = report.save(options.out)
        print(report.table(), flush=True)
        print(f"   -> {path}", flush=True)
        reports.append(report)
    return reports


if __name__ == "__main__":
    main()
