"""The processes `scale` starts, one at a time, so each one's peak memory is its own.

    python -m benchmarks.scale_worker build --corpus DIR --index DIR [--fake]
    python -m benchmarks.scale_worker query --index DIR --queries 200 [--fake] [--with-llm] [--compare]

`build` runs the product's `build_index` (with its progress bar), then times the phases other
than embedding once more and the embedder alone on a sample of the chunks. `query` is a fresh
query process: it loads the index and the embedder, times ~200 hybrid searches (and their
parts), records its peak RSS, optionally loads the LLM as the product does (primed with the
fixed prompt prefix, saved next to the index) and answers the showcase question (the peak RSS
of a whole `ask`), and then, with --compare, measures the alternatives: exact vs
HNSW (several efSearch) vs IVF, with recall@10 against exact search, and the sparse-matrix
BM25 against bm25s and the pure-Python rank-bm25. Each prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from benchmarks.build import phases
from benchmarks.common import SHOWCASE, emit, library_threads, median, peak_rss_mb, percentile, set_library_threads
from benchmarks.corpus import queries as make_queries
from chat.settings import Settings
from index.builds import live_build
from index.chunk import ChunkingParams
from index.focus import FocusParams
from index.keyword import KeywordIndex, tokenize
from index.search import HybridSearcher, RetrievalParams
from index.store import IndexSpec, build_index, load_index
from models.embedder import Embedder
from models.splade import SparseEncoder

T = TypeVar("T")
CANDIDATES = RetrievalParams().candidates  # 20 from each list, as the product searches


def _embedder(fake: bool) -> Embedder:
    """The product's embedder (chat/app.py `build_embedder`, not loaded yet), or the hashing fake."""
    if fake:
        from models.fakes import HashingEmbedder

        return HashingEmbedder()
    from chat.app import build_embedder

    return build_embedder(Settings.load())


def _fake_dense() -> Embedder:
    """The hashing embedder, cutting chunks as the real embedder's tokenizer does (no torch)."""
    from models.fakes import HashingEmbedder

    tokenizer = _embedder(False)

    class CountedAsReal(HashingEmbedder):
        def count_tokens(self, text: str) -> int:
            return tokenizer.count_tokens(text)

    return CountedAsReal()


def _sparse(fake: bool) -> SparseEncoder:
    """The product's SPLADE encoder (chat/app.py `build_sparse`), or the hashing fake."""
    if fake:
        from models.fakes import HashingSparseEncoder

        return HashingSparseEncoder()
    from chat.app import build_sparse

    sparse = build_sparse(Settings.load())
    if sparse is None:
        raise SystemExit("scale measures the sparse list: unset SEEDQA_SPARSE=off")
    return sparse


def stats(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"median_ms": median(ms), "p99_ms": percentile(ms, 99), "n": len(ms)}


def build(
    corpus: Path, index_dir: Path, fake: bool, sample: int, threads: int | None = None, fake_dense: bool = False
) -> dict:
    embedder = _fake_dense() if fake_dense and not fake else _embedder(fake or fake_dense)
    sparse = _sparse(fake)
    if threads and not fake:
        import torch

        torch.set_num_threads(threads)
    began = time.perf_counter()
    report = build_index(IndexSpec(corpus, index_dir, embedder, ChunkingParams(), sparse), progress=not fake)
    out: dict = {
        "n_documents": report.n_documents,
        "n_chunks": report.n_chunks,
        "n_embedded": report.n_embedded,
        "build_s": report.seconds,
        "build_wall_s": time.perf_counter() - began,  # includes loading the embedder
        "sparse_s": report.sparse_seconds,  # SPLADE weights of every chunk
        "build_peak_rss_mb": peak_rss_mb(),
        "torch_threads": threads or "default",
    }
    live = live_build(index_dir)
    assert live is not None
    # The phases other than embedding, timed once more (embedding = the rest of build_s).
    split, texts = phases(corpus, embedder, ChunkingParams(), np.load(live / "vectors.npy"))
    out.update({name: seconds for name, seconds in split.items() if name.endswith("_s")})
    # The embedder alone on an even sample of the same chunk texts.
    picked = texts[:: max(1, len(texts) // sample)][:sample]
    began = time.perf_counter()
    embedder.embed_documents(picked)
    out["sample_embed_chunks_per_s"] = len(picked) / (time.perf_counter() - began)
    out["sample_size"] = len(picked)
    began = time.perf_counter()
    sparse.encode(picked)
    out["sample_sparse_chunks_per_s"] = len(picked) / (time.perf_counter() - began)
    return out


def _timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    """The result of `function(*args)` and the seconds it took."""
    began = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - began


def query(index_dir: Path, n_queries: int, fake: bool, with_llm: bool, compare: bool, fake_dense: bool = False) -> dict:
    out: dict = {}
    store, out["load_index_s"] = _timed(load_index, index_dir)
    embedder = _embedder(fake or fake_dense)
    if hasattr(embedder, "load"):
        _, out["load_embedder_s"] = _timed(embedder.load)
    sparse = _sparse(fake)
    searcher = HybridSearcher(store, embedder, sparse)
    params = RetrievalParams()
    questions = make_queries(n_queries)
    searcher.search(questions[0], params)  # warm-up: first-call allocations
    # Each query runs with the libraries' default threads (what the product uses: torch and
    # faiss take every core) and with one thread, alternating which goes first.
    defaults = library_threads()
    arms: dict[str, int | dict[str, int]] = {"default": defaults, "1 thread": 1} if defaults else {"default": defaults}
    # "fused_total" is retrieval proper (embed + dense + keyword + fusion), what grows with the
    # corpus; "with_focus" adds the per-question focusing of the k passages (index/focus.py),
    # a cost that depends on k, not on the corpus size.
    unfocused = replace(params, focus=FocusParams(margin=None))
    parts = ("embed", "dense", "keyword", "sparse", "fused_total", "with_focus")
    times: dict[str, dict[str, list[float]]] = {arm: {part: [] for part in parts} for arm in arms}
    vectors = []
    learned = store.sparse
    assert learned is not None, "the scale index is built with SPLADE weights"
    for i, q in enumerate(questions):
        for arm in list(arms) if i % 2 == 0 else list(arms)[::-1]:
            set_library_threads(arms[arm])
            vector, t = _timed(embedder.embed_query, q)
            if arm == "default":
                vectors.append(vector.astype(np.float32))
            times[arm]["embed"].append(t)
            _, t = _timed(store.dense.search, vector.astype(np.float32), CANDIDATES)
            times[arm]["dense"].append(t)
            _, t = _timed(store.keyword.top, q, CANDIDATES)
            times[arm]["keyword"].append(t)
            _, t = _timed(lambda q: learned.top(*sparse.encode([q])[0], CANDIDATES), q)  # SPLADE, encode included
            times[arm]["sparse"].append(t)
            _, t = _timed(searcher.search, q, unfocused)
            times[arm]["fused_total"].append(t)
            _, t = _timed(searcher.search, q, params)
            times[arm]["with_focus"].append(t)
    set_library_threads(defaults)
    out["library_threads"] = defaults
    out["n_chunks"] = len(store.chunks)
    out["dense_index"] = store.manifest.get("dense_index")
    out["latency"] = {arm: {name: stats(values) for name, values in parts.items()} for arm, parts in times.items()}
    out["retrieval_peak_rss_mb"] = peak_rss_mb()
    if with_llm:
        out["llm"] = _answer_once(searcher, index_dir.parent / "llm-state", fake=fake)
        out["ask_peak_rss_mb"] = peak_rss_mb()
    if compare:
        queries_matrix = np.stack(vectors)
        out["dense_compare"] = compare_dense(
            store.dense.faiss_index, np.load(store.folder / "vectors.npy"), queries_matrix
        )
        out["keyword_compare"] = compare_keyword(store, questions)
    return out


def _answer_once(searcher: HybridSearcher, state_dir: Path, *, fake: bool = False) -> dict[str, Any]:
    """Load the LLM as the product does (chat/app.py `build_llama`, primed with the fixed prompt
    prefix by `prime_prefix`), answer the showcase; with `fake`, a scripted generator answers."""
    from chat.app import build_llama, prime_prefix
    from chat.ask import Pipeline
    from models.fakes import ScriptedGenerator
    from models.generator import Generator

    settings = Settings.load()
    generator: Generator
    if fake:
        generator, load_s = ScriptedGenerator(["Erdogan turned to Russia after the coup [1]."]), 0.0
        primed, prime_s = "fake", 0.0
    else:
        llama, load_s = _timed(lambda: build_llama(settings, state_dir=state_dir))
        primed, prime_s = _timed(prime_prefix, llama)
        generator = llama
    answer = Pipeline(searcher, generator, retrieval=settings.retrieval, answering=settings.answering).ask(SHOWCASE)
    return {
        "load_llm_s": load_s,
        "prime": primed,
        "prime_s": prime_s,
        "retrieve_s": answer.timings.retrieve_s,
        "ttft_s": answer.timings.ttft_s,
        "prompt_tokens": answer.tokens.prompt,
        "completion_tokens": answer.tokens.completion,
        "refused": answer.refused,
    }


def _search_each(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:  # type: ignore[no-untyped-def]
    """One query at a time, as the product searches; returns ids and per-query seconds."""
    ids = np.zeros((len(queries), k), dtype=np.int64)
    seconds = []
    for i, vector in enumerate(queries):
        began = time.perf_counter()
        _, found = index.search(vector.reshape(1, -1), k)
        seconds.append(time.perf_counter() - began)
        ids[i] = found[0]
    return ids, seconds


def recall_at(found: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    hits = [len(set(f[:k].tolist()) & set(e[:k].tolist())) / k for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits))


def compare_dense(product, vectors: np.ndarray, queries: np.ndarray) -> dict:  # type: ignore[no-untyped-def]
    import faiss

    n, dim = vectors.shape
    out: dict = {"n": n, "omp_threads": faiss.omp_get_max_threads()}
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors)
    exact, seconds = _search_each(flat, queries, CANDIDATES)
    out["flat"] = {**stats(seconds), "recall@10": 1.0}
    hnsw = product if isinstance(product, faiss.IndexHNSWFlat) else None
    if hnsw is None:
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        _, out["hnsw_build_s"] = _timed(hnsw.add, vectors)
    product_ef = hnsw.hnsw.efSearch
    for ef in (16, 32, 64, 128):
        hnsw.hnsw.efSearch = ef
        found, seconds = _search_each(hnsw, queries, CANDIDATES)
        out[f"hnsw_ef{ef}"] = {**stats(seconds), "recall@10": recall_at(found, exact)}
    hnsw.hnsw.efSearch = product_ef
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    began = time.perf_counter()
    ivf.train(vectors)
    ivf.add(vectors)
    out["ivf_build_s"] = time.perf_counter() - began
    out["ivf_nlist"] = nlist
    for nprobe in (8, 32):
        ivf.nprobe = nprobe
        found, seconds = _search_each(ivf, queries, CANDIDATES)
        out[f"ivf_nprobe{nprobe}"] = {**stats(seconds), "recall@10": recall_at(found, exact)}
    out["bytes"] = {
        "flat": int(faiss.serialize_index(flat).size),
        "hnsw": int(faiss.serialize_index(hnsw).size),
        "ivf": int(faiss.serialize_index(ivf).size),
    }
    return out


def compare_keyword(store, questions: list[str], slow_queries: int = 10) -> dict:  # type: ignore[no-untyped-def]
    """The product's CSR BM25 against bm25s and rank-bm25, same tokenizer, same queries."""
    texts = [c.text for c in store.chunks]
    tokens = [tokenize(t) for t in texts]
    out: dict = {}
    _, build_s = _timed(KeywordIndex.build, texts)
    seconds = [_timed(store.keyword.top, q, CANDIDATES)[1] for q in questions]
    out["csr"] = {**stats(seconds), "build_s": build_s}
    try:
        import bm25s

        retriever = bm25s.BM25(k1=1.5, b=0.75)
        _, build_s = _timed(lambda: retriever.index(tokens, show_progress=False))
        seconds = []
        for q in questions:
            words = tokenize(q)
            if words:
                seconds.append(_timed(lambda w=words: retriever.retrieve([w], k=CANDIDATES, show_progress=False))[1])
        out["bm25s"] = {**stats(seconds), "build_s": build_s}
    except Exception as exc:  # an optional comparison: report, don't fail the run
        out["bm25s"] = {"error": repr(exc)}
    try:
        from rank_bm25 import BM25Okapi

        bm25, build_s = _timed(BM25Okapi, tokens)
        seconds = [_timed(bm25.get_scores, tokenize(q))[1] for q in questions[:slow_queries]]
        out["rank_bm25"] = {**stats(seconds), "build_s": build_s}
    except Exception as exc:
        out["rank_bm25"] = {"error": repr(exc)}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_worker")
    parser.add_argument("mode", choices=("build", "query"))
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None, help="build: torch threads (default: torch's)")
    parser.add_argument("--fake", action="store_true")
    parser.add_argument("--with-llm", action="store_true")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--fake-dense", action="store_true", help="the hashing embedder, the real SPLADE")
    args = parser.parse_args(argv)
    if args.mode == "build":
        emit(build(args.corpus, args.index, args.fake, args.sample, args.threads, args.fake_dense))
    else:
        emit(query(args.index, args.queries, args.fake, args.with_llm, args.compare, args.fake_dense))


if __name__ == "__main__":
    main()
