"""The learned sparse list: SPLADE term weights of every chunk, searched like BM25.

Stored as a scipy CSR matrix of shape (vocabulary, chunks), as the BM25 index is (index/keyword.py),
so a query is one weighted sum of the rows of the terms the question weighs, expansion terms
included. Weights come from models/splade.SpladeEncoder at build time; the question is encoded by
the same model at query time (a few milliseconds, NumPy only).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.keyword import top_scores
from models.splade import SparseEncoder

PROGRESS_STEP = 512  # chunks encoded between progress lines (about 9 s on one core)
Column = tuple[np.ndarray, np.ndarray]  # one chunk's term ids and their weights


class SparseIndex:
    def __init__(self, weights, model_id: str) -> None:  # type: ignore[no-untyped-def]
        self._weights = weights  # scipy.sparse.csr_matrix, shape (vocabulary, n_docs)
        self.model_id = model_id
        self.n_docs = int(weights.shape[1])

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        encoder: SparseEncoder,
        *,
        known: Sequence[Column | None] | None = None,
        progress: bool = False,
    ) -> SparseIndex:
        """Encode every text, except where `known` already holds its (terms, weights) column."""
        from scipy import sparse

        columns: list[Column | None] = list(known) if known is not None else [None] * len(texts)
        todo = [i for i, column in enumerate(columns) if column is None]
        for start in range(0, len(todo), PROGRESS_STEP):
            batch = todo[start : start + PROGRESS_STEP]
            for i, column in zip(batch, encoder.encode([texts[i] for i in batch]), strict=True):
                columns[i] = column
            if progress:
                print(f"\rSPLADE weights: {start + len(batch)}/{len(todo)} chunks", end="", file=sys.stderr, flush=True)
        if progress and todo:
            print(file=sys.stderr)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for doc, done in enumerate(columns):
            assert done is not None
            terms, weights = done
            rows.append(terms)
            cols.append(np.full(len(terms), doc, dtype=np.int32))
            values.append(weights)
        shape = (encoder.vocab_size, len(texts))
        if not rows:
            return cls(sparse.csr_matrix(shape, dtype=np.float32), encoder.model_id)
        matrix = sparse.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=shape, dtype=np.float32
        )
        return cls(matrix, encoder.model_id)

    def columns(self) -> list[Column]:
        """Each chunk's (term ids, weights), in chunk order (to reuse them in a rebuild)."""
        by_doc = self._weights.tocsc()
        return [
            (by_doc.indices[a:b].astype(np.int32), by_doc.data[a:b].astype(np.float32))
            for a, b in zip(by_doc.indptr[:-1], by_doc.indptr[1:], strict=True)
        ]

    def scores(self, terms: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Dot product of the query's term weights with every chunk's."""
        if len(terms) == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._weights[terms].T @ weights, dtype=np.float32).ravel()

    def top(self, terms: np.ndarray, weights: np.ndarray, n: int) -> list[tuple[int, float]]:
        return top_scores(self.scores(terms, weights), n)

    def save(self, folder: Path) -> None:
        from scipy import sparse

        sparse.save_npz(folder / "sparse.npz", self._weights)
        (folder / "sparse.json").write_text(json.dumps({"model": self.model_id}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> SparseIndex | None:
        """The stored sparse list, or None for a build made without one."""
        from scipy import sparse

        if not (folder / "sparse.npz").is_file():
            return None
        meta = json.loads((folder / "sparse.json").read_text(encoding="utf-8"))
        return cls(sparse.load_npz(folder / "sparse.npz").tocsr(), str(meta["model"]))
