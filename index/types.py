"""The core types of the index: a document, a chunk of it, and a retrieved passage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Document:
    """One source file: its original text and where the article's paragraphs are in it."""

    source: str  # file name relative to the corpus folder, e.g. "004_453518dfc179236b.txt"
    text: str  # the file's text exactly as stored (offsets point into this)
    sha256: str
    title: str
    date: str | None
    author: str | None
    # (start, end) of each kept paragraph in `text`; `True` in `breaks` marks a paragraph
    # that follows removed boilerplate, so a chunk never spans what was cut out.
    paragraphs: tuple[tuple[int, int], ...]
    breaks: tuple[bool, ...]
    # "html" or "pdf" for a file converted to text (index/formats.py): `text` is then the
    # extracted text, kept in the index, and `sha256` is still the original file's hash.
    converted: str | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A few consecutive sentences; `text` is normalize_lines(document.text[start:end])."""

    id: str
    source: str
    title: str
    date: str | None
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk returned by search, with its fused rank and the scores that produced it."""

    chunk: Chunk
    rank: int  # 1-based
    score: float  # reciprocal-rank fusion score
    dense_score: float | None  # cosine similarity, when the dense search returned it
    keyword_score: float | None  # BM25 score, when the keyword search returned it
    # (start, end) spans in `chunk.text` of the sentences shown to the model (index/focus.py);
    # None shows the whole chunk.
    focus: tuple[tuple[int, int], ...] | None = None
    sparse_score: float | None = None  # SPLADE dot product, when the learned sparse search returned it
    # Other files holding these words (syndicated copies, index/copies.py): shown once, named here.
    also_in: tuple[str, ...] = ()

    @property
    def shown_text(self) -> str:
        """What the model reads of this passage: the focused sentences, "…" where some were left out."""
        text = self.chunk.text
        if not self.focus:
            return text
        parts: list[str] = []
        last = 0
        for start, end in self.focus:
            if text[last:start].strip():
                parts.append("…")
            parts.append(text[start:end])
            last = end
        if text[last:].strip():
            parts.append("…")
        return " ".join(parts)
