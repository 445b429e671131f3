"""`scale`: a 100,000-chunk synthetic corpus, built and queried by the product's own code.

Steps, one process at a time (benchmarks/scale_worker.py):
  1. write the corpus (recombined seed sentences, fixed seed; benchmarks/corpus.py);
  2. a build process: `build_index` with the real MiniLM, its peak RSS, phase times, and the
     embedder alone on a 2,000-chunk sample;
  3. index size on disk, per file;
  4. a fresh query process: ~200 hybrid searches (embed, dense, keyword, fused end to end)
     with median and p99, its peak RSS, one full `ask` with the LLM primed as the product
     primes it (peak RSS of a whole query), then exact vs HNSW vs IVF with recall@10, and
     CSR BM25 vs bm25s vs rank-bm25.

Targets: fused retrieval <= 50 ms median at 100k chunks; peak RSS of a query process <= 3 GB.
`--chunks N` makes a small run (the smoke test uses a few hundred chunks and the fakes).
"""

from __future__ import annotations

import shutil

from benchmarks.common import Options, Report, folder_size, python_child
from benchmarks.corpus import write_corpus
from index.builds import live_build
from index.chunk import ChunkingParams
from index.dense import EXACT_LIMIT
from index.store import read_manifest


def _count_tokens(fake: bool):  # type: ignore[no-untyped-def]
    if fake:
        from models.fakes import HashingEmbedder

        return HashingEmbedder().count_tokens
    from models.embedder import SentenceTransformerEmbedder, default_embedder_path

    return SentenceTransformerEmbedder(default_embedder_path()).count_tokens  # tokenizer only, no torch


def run(options: Options, *, reuse_index: bool = False, compare: bool = True) -> Report:
    report = Report(f"scale-{options.chunks}")
    suffix = "-fake" if options.fake else "-sparse-only" if options.sparse_only else ""
    work = options.workdir / f"scale-{options.chunks}{suffix}"
    corpus, index_dir = work / "corpus", work / "index"
    fake = ["--fake"] if options.fake else ["--fake-dense"] if options.sparse_only else []
    if options.sparse_only:
        report.add("mode", "SPLADE only", "", "hashing embedder for the dense list: its numbers mean nothing")
    manifest = read_manifest(index_dir)
    if reuse_index and manifest is not None and corpus.is_dir():
        report.add("build", "reused", "", f"existing index of {manifest['n_chunks']} chunks")
    else:
        shutil.rmtree(work, ignore_errors=True)
        n_files = write_corpus(corpus, options.chunks, _count_tokens(options.fake), ChunkingParams())
        threads = ["--threads", str(options.embed_threads)] if options.embed_threads else []
        built = python_child(
            [
                "-m",
                "benchmarks.scale_worker",
                "build",
                "--corpus",
                str(corpus),
                "--index",
                str(index_dir),
                *threads,
                *fake,
            ]
        )
        report.data["build"] = built
        embed_s = (
            built["build_s"] - built["read_clean_s"] - built["chunk_s"] - built["faiss_s"] - built["bm25_s"]
            - built["sparse_s"]
        )  # fmt: skip
        report.add("corpus", f"{n_files} files / {built['n_chunks']} chunks")
        report.add("build time", built["build_s"], "s", f"{built['n_chunks'] / built['build_s']:.1f} chunks/s, "
                   f"torch threads {built['torch_threads']}")  # fmt: skip
        for phase in ("read_clean_s", "chunk_s", "faiss_s", "bm25_s"):
            report.add(f"  build phase {phase}", built[phase], "s", "timed again after the build")
        report.add("  build phase SPLADE weights", built["sparse_s"], "s", "in the build")
        report.add("  build phase embed+write (rest)", embed_s, "s")
        report.add("embedder alone, sample", built["sample_embed_chunks_per_s"], "chunks/s", f"{built['sample_size']}")
        report.add("SPLADE alone, sample", built["sample_sparse_chunks_per_s"], "chunks/s", f"{built['sample_size']}")
        report.add(
            "build / embedder throughput (SPLADE excluded)",
            (built["n_chunks"] / (built["build_s"] - built["sparse_s"])) / built["sample_embed_chunks_per_s"],
            "",
            "target >= 0.90",
        )
        report.add("build process peak RSS", built["peak_rss_mb"], "MB")
    live = live_build(index_dir)
    assert live is not None
    sizes = folder_size(live)
    report.data["index_files"] = sizes
    report.add(
        "index size on disk", sum(sizes.values()) / 1e6, "MB", ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sizes.items())
    )

    args = ["-m", "benchmarks.scale_worker", "query", "--index", str(index_dir), "--queries", str(options.queries)]
    if options.with_llm and not options.sparse_only:  # with --fake, a scripted generator answers
        args.append("--with-llm")
    if compare:
        args.append("--compare")
    queried = python_child(args + fake)
    report.data["query"] = queried
    kind = queried["dense_index"]
    report.add("dense index type", f"{kind} (EXACT_LIMIT {EXACT_LIMIT:,})")
    report.add("library threads (torch, faiss)", str(queried["library_threads"] or "n/a"))
    for arm, parts in queried["latency"].items():
        for part in ("embed", "dense", "keyword", "sparse", "fused_total", "with_focus"):
            s = parts[part]
            report.add(
                f"retrieval {part} median, {arm}", s["median_ms"], "ms", f"p99 {s['p99_ms']:.1f} ms over {s['n']}"
            )
    report.add("query process peak RSS (retrieval)", queried["retrieval_peak_rss_mb"], "MB", "target <= 3000")
    if "llm" in queried:
        llm = queried["llm"]
        report.add("query process peak RSS (with LLM answer)", queried["ask_peak_rss_mb"], "MB", "target <= 3000")
        report.add("  showcase TTFT in that process", llm["ttft_s"], "s",
                   f"{llm['prompt_tokens']} prompt tokens, new process, prompt prefix {llm['prime']}")  # fmt: skip
    if compare:
        dense = queried["dense_compare"]
        for name, row in dense.items():
            if isinstance(row, dict) and "recall@10" in row:
                report.add(
                    f"dense {name}",
                    row["median_ms"],
                    "ms",
                    f"p99 {row['p99_ms']:.2f} ms, recall@10 {row['recall@10']:.3f}",
                )
        for name, row in queried["keyword_compare"].items():
            if "error" in row:
                report.add(f"keyword {name}", "n/a", "", row["error"][:60])
            else:
                report.add(
                    f"keyword {name}",
                    row["median_ms"],
                    "ms",
                    f"p99 {row['p99_ms']:.1f}, build {row['build_s']:.1f} s, n={row['n']}",
                )
    return report
