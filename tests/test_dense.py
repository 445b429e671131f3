"""The dense index: exact search below EXACT_LIMIT, saved and loaded whole."""

from __future__ import annotations

import numpy as np
import pytest

from index.dense import DenseIndex


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_search_returns_the_nearest_chunks_best_first_and_survives_a_save(tmp_path):
    vectors = _unit(np.random.default_rng(0).normal(size=(50, 8)))
    dense = DenseIndex.build(vectors)
    assert (dense.kind, dense.size, dense.dim) == ("flat", 50, 8)
    hits = dense.search(vectors[7], 3)
    assert hits[0][0] == 7 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert len(dense.search(vectors[0], 500)) == 50  # asking for more than it holds
    dense.save(tmp_path)
    assert DenseIndex.load(tmp_path).search(vectors[7], 3) == hits


def test_a_damaged_file_raises_what_the_store_reports_as_unreadable(tmp_path):
    DenseIndex.build(_unit(np.ones((3, 4)))).save(tmp_path)
    data = (tmp_path / "dense.faiss").read_bytes()
    (tmp_path / "dense.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError):
        DenseIndex.load(tmp_path)
