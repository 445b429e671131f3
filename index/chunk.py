"""Split cleaned paragraphs into sentences and pack them into chunks the embedder reads whole.

all-MiniLM-L6-v2 reads at most 256 word pieces and silently drops the rest, so every chunk
is measured with the embedder's own tokenizer and kept under `max_tokens` (default 128:
about 90 words, two to four news sentences). Consecutive chunks share one sentence so a
fact that straddles a boundary is still found whole in one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from index.text import normalize, normalize_lines
from index.types import Chunk, Document

# Words after which a period does not end a sentence ("Oct. 2", "U.S. presence", "Mr. Putin").
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt gen col lt sgt capt maj adm gov sen rep pres rev fr
    inc ltd co corp vs etc fig approx est dept univ jan feb mar apr jun jul aug sep
    sept oct nov dec e.g i.e u.s u.k u.n u.s.a e.u""".split()
)
_BOUNDARY = re.compile(r"[.!?…]+['\"\u2019\u201d)\]]*(?=\s+)")


@dataclass(frozen=True, slots=True)
class ChunkingParams:
    max_tokens: int = 128
    overlap_sentences: int = 1


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text[start:end], whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        stop = match.end()
        before = text[cursor : match.start()].split()
        last_word = before[-1].lower().strip("(\"'\u201c\u2018") if before else ""
        following = text[stop:end].lstrip()
        if not following:
            continue
        # An abbreviation or an initial ("J. Smith") does not end a sentence, nor does
        # punctuation followed by a lower-case word ('"Is it?" he asked').
        if following[0].islower() or (
            match.group().startswith(".")
            and (last_word.rstrip(".") in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", last_word))
        ):
            continue
        spans.append((cursor, stop))
        cursor = stop + (len(text[stop:end]) - len(following))
    if cursor < end:
        spans.append((cursor, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_long(text: str, span: tuple[int, int], count: Callable[[str], int], limit: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence at clause, then word boundaries so each piece fits."""
    start, end = span
    if count(normalize(text[start:end])) <= limit:
        return [span]
    pieces: list[tuple[int, int]] = []
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    piece_start = 0
    i = 0
    while i < len(words):
        j = i
        best = i
        while j < len(words) and count(normalize(text[start + words[piece_start][0] : start + words[j][1]])) <= limit:
            best = j
            j += 1
        # Prefer to cut after a comma or semicolon within the piece, if there is one.
        for k in range(best, piece_start, -1):
            if j < len(words) and text[start + words[k][1] - 1] in ",;:":
                best = k
                break
        pieces.append((start + words[piece_start][0], start + words[best][1]))
        piece_start = best + 1
        i = piece_start
    return pieces


def _sentences(document: Document, count: Callable[[str], int], limit: int) -> Iterator[tuple[int, int, bool]]:
    """(start, end, after_break) for every sentence piece of the document."""
    for (p_start, p_end), after_break in zip(document.paragraphs, document.breaks, strict=True):
        for n, span in enumerate(sentence_spans(document.text, p_start, p_end)):
            for m, piece in enumerate(_split_long(document.text, span, count, limit)):
                yield piece[0], piece[1], after_break and n == 0 and m == 0


def chunk_document(document: Document, params: ChunkingParams, count_tokens: Callable[[str], int]) -> list[Chunk]:
    sentences = list(_sentences(document, count_tokens, params.max_tokens))
    chunks: list[Chunk] = []

    def emit(first: int, last: int) -> None:
        start, end = sentences[first][0], sentences[last][1]
        chunks.append(
            Chunk(
                id=f"{document.source}:{start}-{end}",
                source=document.source,
                title=document.title,
                date=document.date,
                start=start,
                end=end,
                text=normalize_lines(document.text[start:end]),
            )
        )

    first = 0
    while first < len(sentences):
        last = first
        while (
            last + 1 < len(sentences)
            and not sentences[last + 1][2]
            and count_tokens(normalize(document.text[sentences[first][0] : sentences[last + 1][1]]))
            <= params.max_tokens
        ):
            last += 1
        emit(first, last)
        if last + 1 >= len(sentences):
            break
        overlap = min(params.overlap_sentences, last - first)  # always move forward
        if sentences[last + 1][2]:
            overlap = 0  # never carry a sentence across removed boilerplate
        first = last + 1 - overlap
    return chunks
