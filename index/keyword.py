"""BM25 keyword search over a sparse matrix: one matrix-vector product per query.

A pure-Python BM25 (rank-bm25) scores every document in a Python loop per query term; at
100,000 chunks that is far slower than a scipy CSR matrix whose rows are terms and whose
columns are chunks, holding the precomputed BM25 weight of each (term, chunk) pair.
Scoring a query sums the rows of its terms. idf is Lucene's, log(1 + (N - df + .5)/(df + .5)),
which stays positive for terms found in most documents of a small corpus.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.text import content_words


def _stem(word: str) -> str:
    # Just enough to match "soldier"/"soldiers" and "talks"/"talk"; no stemmer dependency.
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    return [_stem(w) for w in content_words(text)]


class KeywordIndex:
    def __init__(self, vocab: dict[str, int], weights, n_docs: int) -> None:  # type: ignore[no-untyped-def]
        self._vocab = vocab
        self._weights = weights  # scipy.sparse.csr_matrix, shape (n_terms, n_docs)
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> KeywordIndex:
        from scipy import sparse

        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for doc, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[doc] = len(tokens)
            for term, count in Counter(tokens).items():
                rows.append(vocab.setdefault(term, len(vocab)))
                cols.append(doc)
                tfs.append(count)
        n_docs = len(texts)
        row = np.asarray(rows, dtype=np.int64)
        col = np.asarray(cols, dtype=np.int64)
        tf = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(row, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avg = float(lengths.mean()) if n_docs else 1.0
        norm = k1 * (1 - b + b * lengths[col] / max(avg, 1e-9))
        weight = idf[row] * tf * (k1 + 1) / (tf + norm)
        matrix = sparse.csr_matrix((weight, (row, col)), shape=(len(vocab), n_docs), dtype=np.float32)
        return cls(vocab, matrix, n_docs)

    @property
    def terms(self) -> list[str]:
        """Every term of the corpus, as `tokenize` writes it (content words, plurals stripped)."""
        return list(self._vocab)

    def scores(self, query: str) -> np.ndarray:
        ids = [self._vocab[t] for t in tokenize(query) if t in self._vocab]
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        # Repeated query terms count once per occurrence, as in BM25's query-term sum.
        return np.asarray(self._weights[ids].sum(axis=0)).ravel()

    def top(self, query: str, n: int) -> list[tuple[int, float]]:
        return top_scores(self.scores(query), n)

    def save(self, folder: Path) -> None:
        from scipy import sparse

        sparse.save_npz(folder / "keyword.npz", self._weights)
        (folder / "keyword_vocab.json").write_text(json.dumps(self._vocab), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        from scipy import sparse

        weights = sparse.load_npz(folder / "keyword.npz").tocsr()
        vocab = json.loads((folder / "keyword_vocab.json").read_text(encoding="utf-8"))
        return cls(vocab, weights, weights.shape[1])


def top_scores(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The n best (document, score) pairs, best first, leaving out documents that scored 0."""
    n = min(n, len(scores))
    if n == 0:
        return []
    best = np.argpartition(-scores, n - 1)[:n]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best if scores[i] > 0]
