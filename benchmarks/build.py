"""`build`: index build throughput against the embedder's own batch speed, and incremental rebuilds.

Target: `build_index` throughput (chunks/s) within 10% of `embed_documents` on the same chunk
texts, measured in the same run with the two arms alternated (ABBA); and a rebuild after one
changed file re-embeds only that file's changed chunks (`BuildReport.n_embedded`).
The phases (read + clean, chunking with the tokenizer, embedding, FAISS, BM25) are timed once
to show where any gap comes from; `scale` times them the same way (`phases`).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.common import SEEDS, Options, Report, load, make_embedder, median
from benchmarks.corpus import write_corpus
from index.chunk import ChunkingParams, chunk_document
from index.corpus import read_corpus
from index.dense import DenseIndex
from index.keyword import KeywordIndex
from index.store import IndexSpec, build_index, load_index

EDIT = "\n\nOfficials in Ankara declined to comment on the report on Tuesday.\n"


def _chunk_texts(index_dir: Path) -> list[str]:
    build = index_dir / "builds" / (index_dir / "CURRENT").read_text().strip()
    with (build / "chunks.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle]


def throughput(corpus: Path, work: Path, embedder, params: ChunkingParams, reps: int) -> dict:  # type: ignore[no-untyped-def]
    """Alternate full builds (fresh folder, nothing reused) with embed_documents on their chunks."""
    build_rates: list[float] = []
    embed_rates: list[float] = []
    loads: list[float] = []
    texts: list[str] = []
    n_chunks = 0

    def build_arm(rep: int) -> None:
        nonlocal texts, n_chunks
        target = work / f"index-{rep}"
        shutil.rmtree(target, ignore_errors=True)
        report = build_index(IndexSpec(corpus, target, embedder, params))
        n_chunks = report.n_chunks
        build_rates.append(report.n_chunks / report.seconds)
        texts = _chunk_texts(target)
        shutil.rmtree(target, ignore_errors=True)

    def embed_arm(rep: int) -> None:
        began = time.perf_counter()
        embedder.embed_documents(texts)
        embed_rates.append(len(texts) / (time.perf_counter() - began))

    for rep in range(reps):
        loads.append(load())
        # A B, then B A, ...: neither arm always runs first. Rep 0 builds first to get the texts.
        for arm in (build_arm, embed_arm) if rep % 2 == 0 else (embed_arm, build_arm):
            arm(rep)
    return {
        "n_chunks": n_chunks,
        "build_chunks_per_s": build_rates,
        "embed_chunks_per_s": embed_rates,
        "loads": loads,
        "ratio": median(build_rates) / median(embed_rates),
    }


def _chunk_texts_of(corpus: Path, embedder, params: ChunkingParams) -> list[str]:  # type: ignore[no-untyped-def]
    documents, _ = read_corpus(corpus)
    return [c.text for d in documents for c in chunk_document(d, params, embedder.count_tokens)]


def phases(
    corpus: Path, embedder, params: ChunkingParams, vectors: np.ndarray | None = None
) -> tuple[dict[str, float], list[str]]:  # type: ignore[no-untyped-def]
    """Seconds of each build phase, timed once, and the chunk texts.

    Without `vectors` the texts are embedded here (`embed_s`) for the FAISS phase; with a
    built index's vectors, embedding is not timed again.
    """
    out: dict[str, float] = {}
    began = time.perf_counter()
    documents, _ = read_corpus(corpus)
    out["read_clean_s"] = time.perf_counter() - began
    began = time.perf_counter()
    texts = [c.text for d in documents for c in chunk_document(d, params, embedder.count_tokens)]
    out["chunk_s"] = time.perf_counter() - began
    if vectors is None:
        began = time.perf_counter()
        vectors = embedder.embed_documents(texts)
        out["embed_s"] = time.perf_counter() - began
    began = time.perf_counter()
    DenseIndex.build(vectors)
    out["faiss_s"] = time.perf_counter() - began
    began = time.perf_counter()
    KeywordIndex.build(texts)
    out["bm25_s"] = time.perf_counter() - began
    out["n_chunks"] = len(texts)
    return out, texts


def embedder_threads(embedder, texts: list[str], reps: int) -> dict:  # type: ignore[no-untyped-def]
    """torch's default threads (every core) vs one thread: batch encoding and single queries.

    On a 2-core machine where another process keeps one core busy, the default's second
    thread waits on the busy core at every synchronization point.
    """
    import torch

    from benchmarks.corpus import queries

    default = torch.get_num_threads()
    arms = {f"default ({default})": default, "1 thread": 1}
    rates: dict[str, list[float]] = {arm: [] for arm in arms}
    query_ms: dict[str, list[float]] = {arm: [] for arm in arms}
    loads: list[float] = []
    asked = queries(20)
    for rep in range(reps):
        loads.append(load())
        for arm in list(arms) if rep % 2 == 0 else list(arms)[::-1]:
            torch.set_num_threads(arms[arm])
            began = time.perf_counter()
            embedder.embed_documents(texts)
            rates[arm].append(len(texts) / (time.perf_counter() - began))
            for q in asked:
                began = time.perf_counter()
                embedder.embed_query(q)
                query_ms[arm].append((time.perf_counter() - began) * 1000)
    torch.set_num_threads(default)
    return {"chunks_per_s": rates, "query_ms": query_ms, "loads": loads, "texts": len(texts)}


def rebuild_one_file(corpus: Path, index_dir: Path, embedder, params: ChunkingParams) -> dict:  # type: ignore[no-untyped-def]
    """Build, append a sentence to one file, rebuild: how many chunks were embedded again?"""
    full = build_index(IndexSpec(corpus, index_dir, embedder, params))
    files = sorted(p for p in corpus.rglob("*.txt"))
    changed = files[len(files) // 2]
    source = changed.relative_to(corpus).as_posix()
    before = sum(1 for c in load_index(index_dir).chunks if c.source == source)
    original = changed.read_text(encoding="utf-8")
    changed.write_text(original.rstrip("\n") + EDIT, encoding="utf-8")
    try:
        again = build_index(IndexSpec(corpus, index_dir, embedder, params))
        after = sum(1 for c in load_index(index_dir).chunks if c.source == source)
    finally:
        changed.write_text(original, encoding="utf-8")
    return {
        "changed_file": source,
        "n_chunks": again.n_chunks,
        "file_chunks_before": before,
        "file_chunks_after": after,
        "n_embedded": again.n_embedded,
        "full_build_s": full.seconds,
        "rebuild_s": again.seconds,
    }


def run(options: Options, embedder=None) -> Report:  # type: ignore[no-untyped-def]
    report = Report("build")
    embedder = embedder or make_embedder(options.fake)
    params = ChunkingParams()
    work = options.workdir / "build"
    shutil.rmtree(work, ignore_errors=True)
    seeds = work / "seeds"
    shutil.copytree(SEEDS, seeds)
    synthetic = work / "synthetic"
    n_files = write_corpus(synthetic, options.build_chunks, embedder.count_tokens, params)
    reps = max(2, min(options.reps, 4))

    result = throughput(synthetic, work, embedder, params, reps)
    report.data["throughput"] = result
    report.add("synthetic corpus", f"{n_files} files / {result['n_chunks']} chunks")
    report.add("build throughput", median(result["build_chunks_per_s"]), "chunks/s", f"median of {reps}")
    report.add("embed_documents throughput", median(result["embed_chunks_per_s"]), "chunks/s", f"median of {reps}")
    report.add("build / embed ratio", result["ratio"], "", "target >= 0.90")

    split, _ = phases(synthetic, embedder, params)
    report.data["phases"] = split
    for key in ("read_clean_s", "chunk_s", "embed_s", "faiss_s", "bm25_s"):
        report.add(f"phase {key}", split[key], "s", f"{split['n_chunks']} chunks, once")

    if not options.fake:
        threads = embedder_threads(embedder, _chunk_texts_of(synthetic, embedder, params)[:256], reps)
        report.data["embedder_threads"] = threads
        for arm, values in threads["chunks_per_s"].items():
            report.add(
                f"embed_documents, torch {arm}", median(values), "chunks/s", f"{threads['texts']} chunks, {reps}x"
            )
        for arm, values in threads["query_ms"].items():
            report.add(f"embed_query, torch {arm}", median(values), "ms", f"median of {len(values)}")

    seeds_build = build_index(IndexSpec(seeds, work / "seeds-index", embedder, params))
    report.add("seeds full build", seeds_build.seconds, "s", f"{seeds_build.n_chunks} chunks")
    for name, corpus in (("seeds", seeds), ("synthetic", synthetic)):
        rebuilt = rebuild_one_file(corpus, work / f"{name}-rebuild", embedder, params)
        report.data[f"rebuild_{name}"] = rebuilt
        report.add(
            f"{name}: re-embedded after 1 file changed",
            rebuilt["n_embedded"],
            "chunks",
            f"of {rebuilt['n_chunks']}; the file has {rebuilt['file_chunks_after']} chunks",
        )
        report.add(
            f"{name}: rebuild vs full build",
            rebuilt["rebuild_s"] / rebuilt["full_build_s"],
            "",
            f"{rebuilt['rebuild_s']:.2f} s vs {rebuilt['full_build_s']:.2f} s",
        )
    shutil.rmtree(work, ignore_errors=True)
    return report
