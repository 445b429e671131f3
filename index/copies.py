"""Syndicated copies: the same story twice in one folder (a wire story saved from two sites).

Two articles are copies when most of the shorter one's word 5-grams ("shingles") are also in
the other: containment |A & B| / min(|A|, |B|) >= COPY_CONTAINMENT. Containment, not Jaccard,
so a copy with its own headline, byline and "also read" lines, or one trimmed by an editor,
is still found. Candidates come from bottom-k sketches (the SKETCH smallest shingle hashes of
each article, an inverted index over them), so a folder of thousands of articles is not
compared pair by pair; each candidate pair is then measured exactly.

At search time one copy stands for all: a passage whose words are already in a higher-ranked
passage of a copy is left out, and the kept passage names the other file ("also in").
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

from index.text import words
from index.types import Chunk, Document

SHINGLE = 5  # words per shingle: long enough that two different news stories share almost none
SKETCH = 64  # smallest shingle hashes kept per article to find candidate pairs
COMMON = 50  # a sketch hash shared by more articles than this is ignored
# Measured (evals/measure_copies.py, evals/history/copies.md): two different articles share at
# most 0.002 of their shingles (the seeds, four articles on one topic; the 16 external Wikipedia
# articles); a copy saved as a news page, with a wire header, or with a paragraph or half of it
# cut: 0.99-1.00; with 2% of its words replaced 0.88-0.90, 5% 0.73-0.82, 10% 0.57-0.67, 20%
# 0.32-0.35. 0.5 keeps a copy edited in one word of ten a copy, far above different articles.
COPY_CONTAINMENT = 0.5
# A passage counts as already shown when this share of its shingles is in a kept passage.
PASSAGE_CONTAINMENT = 0.5


def shingles(text: str) -> frozenset[int]:
    """CRC32 hashes of the text's word 5-grams (lower-cased words; short texts: the whole text)."""
    tokens = [w.lower() for w in words(text)]
    if len(tokens) < SHINGLE:
        return frozenset({zlib.crc32(" ".join(tokens).encode())}) if tokens else frozenset()
    return frozenset(zlib.crc32(" ".join(tokens[i : i + SHINGLE]).encode()) for i in range(len(tokens) - SHINGLE + 1))


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _article_text(document: Document) -> str:
    return " ".join(document.text[start:end] for start, end in document.paragraphs)


def find_copies(documents: Sequence[Document], threshold: float = COPY_CONTAINMENT) -> dict[str, str]:
    """Each article that copies another, mapped to the one that stands for its group (the first
    by file name). Articles with no copy are not in the result."""
    sets = {d.source: shingles(_article_text(d)) for d in documents}
    by_hash: dict[int, list[str]] = {}
    for source, hashes in sets.items():
        for h in sorted(hashes)[:SKETCH]:
            by_hash.setdefault(h, []).append(source)
    parent = {source: source for source in sets}

    def root(source: str) -> str:
        while parent[source] != source:
            parent[source] = parent[parent[source]]
            source = parent[source]
        return source

    # A shingle in very many articles is boilerplate ("all rights reserved by the"), not a sign
    # of a copy; leaving it out keeps the candidate pairs few.
    pairs = {(a, b) for group in by_hash.values() if len(group) <= COMMON for a in group for b in group if a < b}
    for a, b in sorted(pairs):
        if root(a) != root(b) and containment(sets[a], sets[b]) >= threshold:
            first, second = sorted((root(a), root(b)))
            parent[second] = first
    return {source: root(source) for source in sorted(sets) if root(source) != source}


class OneCopy:
    """Ranked chunks with one copy standing for its group (`copies` from `find_copies`).

    The first article of a group to reach the ranking stands for it: a later chunk of another
    copy is left out when most of its shingles are in that article, and each kept chunk names
    the copies that hold its words. A copy's own paragraphs (an update, an added quote) stay.
    Chunk boundaries differ between copies (another headline shifts them), so a chunk is
    compared with the whole article that stands for the group, not with one chunk of it.
    """

    def __init__(self, chunks: Sequence[Chunk], copies: dict[str, str]) -> None:
        self.chunks = chunks
        self.copies = copies
        self.members: dict[str, list[str]] = {}
        for copy, first in sorted(copies.items()):
            self.members.setdefault(first, [first]).append(copy)
        self._articles: dict[str, frozenset[int]] = {}

    def article(self, source: str) -> frozenset[int]:
        """The shingles of every chunk of one article (computed once, on first use)."""
        if source not in self._articles:
            texts = [c.text for c in self.chunks if c.source == source]
            self._articles[source] = frozenset().union(*(shingles(t) for t in texts))
        return self._articles[source]

    def filter(self, order: Iterable[int]) -> tuple[list[int], dict[int, list[str]]]:
        """`order` (chunk numbers, best first) without the chunks a copy already shows, and for
        each kept chunk of a group the other copies holding its words."""
        if not self.copies:
            return list(order), {}
        kept: list[int] = []
        also_in: dict[int, list[str]] = {}
        standing: dict[str, str] = {}  # group -> the article that stands for it
        for i in order:
            source = self.chunks[i].source
            group = self.copies.get(source, source)
            if group not in self.members:
                kept.append(i)
                continue
            first = standing.setdefault(group, source)
            mine = shingles(self.chunks[i].text)
            if source != first and containment(mine, self.article(first)) >= PASSAGE_CONTAINMENT:
                continue
            kept.append(i)
            others = [m for m in self.members[group] if m != source]
            named = [m for m in others if containment(mine, self.article(m)) >= PASSAGE_CONTAINMENT]
            if named:
                also_in[i] = named
        return kept, also_in
