"""Smoke tests of the benchmark code on fakes and tiny sizes, so it cannot rot.

No timing is asserted: the numbers come from `python -m benchmarks.run` on the real models.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import build, latency, scale
from benchmarks.common import Options, Report, percentile
from benchmarks.corpus import queries, seed_sentences, write_corpus
from benchmarks.llm import first_token, prefix_tokens, stop, to_prefix, without_prefix
from benchmarks.run import main as run_main
from benchmarks.run import parse
from chat.ask import Pipeline
from index.chunk import ChunkingParams
from index.corpus import read_corpus
from index.search import HybridSearcher
from index.store import IndexSpec, build_index, load_index
from models.fakes import HashingEmbedder, ScriptedGenerator


@pytest.fixture
def options(tmp_path: Path) -> Options:
    return Options(reps=2, chunks=150, build_chunks=80, queries=12, fake=True, workdir=tmp_path / "work",
                   out=tmp_path / "results")  # fmt: skip


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 201)]
    assert percentile(values, 50) == 100.0
    assert percentile(values, 99) == 198.0
    assert percentile([3.0], 99) == 3.0


def test_synthetic_corpus_is_deterministic_and_near_its_size(tmp_path: Path) -> None:
    counter = HashingEmbedder().count_tokens
    n_files = write_corpus(tmp_path / "a", 120, counter)
    write_corpus(tmp_path / "b", 120, counter)
    first = sorted(p.read_text() for p in (tmp_path / "a").rglob("*.txt"))
    assert first == sorted(p.read_text() for p in (tmp_path / "b").rglob("*.txt"))
    documents, skipped = read_corpus(tmp_path / "a")
    assert len(documents) == n_files and not skipped
    report = build_index(IndexSpec(tmp_path / "a", tmp_path / "index", HashingEmbedder(), ChunkingParams()))
    assert 60 <= report.n_chunks <= 240
    sentences = set(seed_sentences())
    text = load_index(tmp_path / "index").chunks[0].text
    assert any(s in text for s in sentences)  # recombined seed sentences, verbatim


def test_queries_start_with_the_reference_questions() -> None:
    made = queries(90)
    assert len(made) == 90
    assert made[0] == "why did Erdogan pivot after 2016?"
    assert all(q.strip() for q in made)


def test_first_token_stops_the_generation_and_releases_the_model(corpus: Path, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    build_index(IndexSpec(corpus, tmp_path / "index", embedder, ChunkingParams(max_tokens=64)))
    generator = ScriptedGenerator(["one two three four", "five six"])
    pipeline = Pipeline(HybridSearcher(load_index(tmp_path / "index"), embedder), generator)
    question = "What did the council approve?"
    result = first_token(pipeline, question)
    assert result["ttft_s"] >= 0 and result["k"] >= 1 and result["prompt_tokens"] > 0
    again = pipeline.stream(question)  # the next question still streams
    assert "".join(again).startswith("five six")
    stop(again)


def test_prefix_helpers_are_no_ops_without_a_primed_llama() -> None:
    generator = ScriptedGenerator(["x"])
    assert prefix_tokens(generator) is None
    to_prefix(generator)
    with without_prefix(generator):
        pass
    assert not hasattr(generator, "_prefix")


def test_without_prefix_switches_the_restore_off_and_back() -> None:
    class Primed:  # LlamaGenerator's public switch
        restore_prefix = True

    primed = Primed()
    with without_prefix(primed):
        assert primed.restore_prefix is False
    assert primed.restore_prefix is True


def test_latency_runs_on_fakes(options: Options) -> None:
    report = latency.run(replace(options, threads=(1, 2), k_values=(2, 3)))
    assert report.value("showcase TTFT warm (from the fixed prefix), threads=1") >= 0
    assert report.value("  showcase TTFT right after another question, threads=2") >= 0
    assert report.value("decode ratio ask() / direct") > 0
    metrics = {r["metric"] for r in report.rows}
    assert "showcase TTFT with k=2 passages" in metrics
    assert "showcase TTFT after a follow-up rewrite: no restore" in metrics
    assert all("load" in r for r in report.rows)
    assert not list(options.workdir.glob("llm-state-*"))  # the run's prefix state dirs are removed


def test_build_runs_on_fakes(options: Options) -> None:
    report = build.run(options, embedder=HashingEmbedder())
    assert report.value("build / embed ratio") > 0
    # Appending a sentence to one file re-embeds that file's changed chunks only.
    rebuilt = report.data["rebuild_synthetic"]
    assert 1 <= rebuilt["n_embedded"] <= rebuilt["file_chunks_after"]
    assert report.data["rebuild_seeds"]["n_embedded"] <= report.data["rebuild_seeds"]["file_chunks_after"]


def test_scale_runs_on_fakes_in_worker_processes(options: Options) -> None:
    report = scale.run(options)
    query = report.data["query"]
    assert query["n_chunks"] == report.data["build"]["n_chunks"] > 50
    assert query["latency"]["default"]["fused_total"]["n"] == options.queries
    assert query["retrieval_peak_rss_mb"] > 0
    dense = query["dense_compare"]
    assert dense["flat"]["recall@10"] == 1.0
    assert 0.0 <= dense["hnsw_ef64"]["recall@10"] <= 1.0
    assert "csr" in query["keyword_compare"]
    again = scale.run(options, reuse_index=True, compare=False)  # queries the same index
    assert again.value("build") == "reused"


def test_run_entry_point_writes_json(options: Options, tmp_path: Path) -> None:
    names, parsed, _ = parse(["cold", "--fake", "--reps", "1", "--out", str(tmp_path / "out")])
    assert names == ["cold"] and parsed.fake and parsed.reps == 1
    reports = run_main(["cold", "--fake", "--reps", "1", "--out", str(tmp_path / "out")])
    assert reports[0].value("seedqa --help") > 0
    saved = json.loads(next((tmp_path / "out").glob("cold-*.json")).read_text())
    assert saved["machine"]["nproc"] >= 1 and saved["rows"][0]["load"] >= 0
    with pytest.raises(SystemExit):
        parse(["nonsense"])


def test_report_table_lists_every_row() -> None:
    report = Report("demo")
    report.add("a figure", 1.5, "s", "note")
    report.add("a count", 3, "chunks")
    table = report.table()
    assert "a figure" in table and "a count" in table and "load" in table
