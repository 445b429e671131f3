"""Dense search over normalized chunk vectors: FAISS behind one small interface.

Shaped like `KeywordIndex`: `build`, `search`, `save`, `load`, `size`. Exact inner-product search
up to EXACT_LIMIT chunks; above it an HNSW graph. The rest of seedqa never touches FAISS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FILE = "dense.faiss"
# Exact search is fast enough below this many chunks (~40 ms at 100k x 384 on 2 cores is
# the budget); above it an HNSW graph answers in about a millisecond.
EXACT_LIMIT = 50_000
# Measured at 116,909 chunks (benchmarks.run scale): recall@10 against exact search 0.911 with
# efSearch 64 (0.15 ms), 0.949 with 128 (0.27 ms).
HNSW_EF_SEARCH = 128


class DenseIndex:
    """Inner-product (cosine, for normalized vectors) search over one vector per chunk."""

    def __init__(self, index) -> None:  # type: ignore[no-untyped-def]
        self.faiss_index = index  # a faiss.Index; benchmarks compare it with other FAISS layouts

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseIndex:
        import faiss

        dim = vectors.shape[1]
        index: faiss.Index
        if len(vectors) <= EXACT_LIMIT:
            index = faiss.IndexFlatIP(dim)
        else:
            hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            index = hnsw
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def kind(self) -> str:
        """ "flat" (exact) or "hnsw"."""
        return "hnsw" if hasattr(self.faiss_index, "hnsw") else "flat"

    @property
    def size(self) -> int:
        """How many vectors (chunks) it holds."""
        return int(self.faiss_index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.faiss_index.d)

    def search(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The `n` best (chunk number, inner product) pairs for one query vector, best first."""
        n = min(n, self.size)
        if n <= 0:
            return []
        scores, ids = self.faiss_index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self.faiss_index, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path) -> DenseIndex:
        """Raises RuntimeError (FAISS) or OSError for a missing or damaged file."""
        import faiss

        index = faiss.read_index(str(folder / FILE))
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = HNSW_EF_SEARCH  # also for indexes built with an older value
        return cls(index)
