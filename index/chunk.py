"""Split cleaned paragraphs into sentences and pack them into chunks the embedder reads whole.

all-MiniLM-L6-v2 reads at most 256 word pieces and silently drops the rest, so every chunk
is measured with the embedder's own tokenizer and kept under `max_tokens` (default 128:
about 90 words, two to four news sentences). Consecutive chunks share one sentence so a
fact that straddles a boundary is still found whole in one of them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
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


_RUN = re.compile(r"\S+")
_NON_SPACE = re.compile(r"\S")
# A "word" of more than 4 characters per token of the limit (512 characters at 128 tokens) is a
# base64 blob, a hash or a tracking URL: nothing a question asks about, and too long to fit or
# not worth its place. It is left out of the chunks without being counted: the tokenizer takes
# 1.7 s to read a 1 MB base64 string (590,424 tokens).
_CHARS_PER_TOKEN = 4


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text[start:end], whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    # Where each word starts and ends, found once: looking back from every full stop to the
    # last sentence start would read a one-line 5 MB file once per sentence.
    runs = [m.span() for m in _RUN.finditer(text, start, end)]
    run_starts = [s for s, _ in runs]
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        stop = match.end()
        i = bisect_left(run_starts, match.start()) - 1  # the word the punctuation ends
        word = text[runs[i][0] : min(runs[i][1], match.start())] if i >= 0 and runs[i][0] >= cursor else ""
        last_word = word.lower().strip("(\"'\u201c\u2018")
        following = _NON_SPACE.search(text, stop, end)
        if following is None:
            continue
        # An abbreviation or an initial ("J. Smith") does not end a sentence, nor does
        # punctuation followed by a lower-case word ('"Is it?" he asked').
        if text[following.start()].islower() or (
            match.group().startswith(".")
            and (last_word.rstrip(".") in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", last_word))
        ):
            continue
        spans.append((cursor, stop))
        cursor = following.start()
    if cursor < end:
        spans.append((cursor, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_long(
    text: str, span: tuple[int, int], count: Callable[[str], int], limit: int
) -> list[tuple[int, int, int]]:
    """(start, end, tokens) of pieces of one sentence that each fit: the whole sentence if it fits.

    An over-long sentence is cut at clause, then word boundaries. A word that does not fit alone
    is left out; the words before and after it go into separate pieces.
    """
    start, end = span
    longest = _CHARS_PER_TOKEN * limit
    runs = [m.span() for m in _RUN.finditer(text, start, end)] if end - start > longest else []
    # Each word is at least one token, so a sentence of more words than the limit is not
    # counted whole (a 5 MB file without full stops is one sentence: ~9 s to count).
    if not runs or (len(runs) <= limit and all(e - s <= longest for s, e in runs)):
        tokens = count(normalize(text[start:end]))
        if tokens <= limit:
            return [(start, end, tokens)]
        runs = runs or [m.span() for m in _RUN.finditer(text, start, end)]
    pieces: list[tuple[int, int, int]] = []
    words: list[tuple[int, int]] = []
    for s, e in runs:
        if e - s > longest:  # left out, uncounted
            pieces.extend(_pack_words(text, words, count, limit))
            words = []
        else:
            words.append((s, e))
    pieces.extend(_pack_words(text, words, count, limit))
    return pieces


def _pack_words(
    text: str, words: list[tuple[int, int]], count: Callable[[str], int], limit: int
) -> list[tuple[int, int, int]]:
    """(start, end, tokens) of the longest runs of `words` that fit, cut after a comma when one is near."""
    pieces: list[tuple[int, int, int]] = []

    def tokens(first: int, last: int) -> int:
        return count(normalize(text[words[first][0] : words[last][1]]))

    first = 0
    while first < len(words):
        fit, fit_tokens = first, tokens(first, first)
        if fit_tokens > limit:  # a word that alone does not fit is left out
            first += 1
            continue
        # The last word that still fits: double the step until a piece is too long, then
        # bisect (a piece's tokens grow with its words). ~14 counts for a 90-word piece.
        over, step = len(words), 1
        while fit + step < over:
            n = tokens(first, fit + step)
            if n > limit:
                over = fit + step
                break
            fit, fit_tokens, step = fit + step, n, step * 2
        while over - fit > 1:
            mid = (fit + over) // 2
            n = tokens(first, mid)
            if n <= limit:
                fit, fit_tokens = mid, n
            else:
                over = mid
        # Prefer to cut after a comma or semicolon within the piece, if there is one.
        if fit + 1 < len(words):
            for k in range(fit, first, -1):
                if text[words[k][1] - 1] in ",;:":
                    if k != fit:
                        fit, fit_tokens = k, tokens(first, k)
                    break
        pieces.append((words[first][0], words[fit][1], fit_tokens))
        first = fit + 1
    return pieces


def _sentences(document: Document, count: Callable[[str], int], limit: int) -> Iterator[tuple[int, int, bool, int]]:
    """(start, end, after_break, tokens) for every sentence piece of the document."""
    text = document.text
    previous_end: int | None = None
    for (p_start, p_end), after_break in zip(document.paragraphs, document.breaks, strict=True):
        first = True
        for span in sentence_spans(text, p_start, p_end):
            for start, end, tokens in _split_long(text, span, count, limit):
                # Text left out between two pieces (an over-long word) is a break as well:
                # a chunk never spans words it does not show.
                gap = previous_end is not None and _NON_SPACE.search(text, previous_end, start) is not None
                yield start, end, (after_break and first) or gap, tokens
                first = False
                previous_end = end


def chunk_document(document: Document, params: ChunkingParams, count_tokens: Callable[[str], int]) -> list[Chunk]:
    """Pack consecutive sentence pieces into chunks of at most `params.max_tokens` tokens."""
    sentences = list(_sentences(document, count_tokens, params.max_tokens))
    chunks: list[Chunk] = []
    # The tokenizer frames every text it reads ([CLS] ... [SEP]: 2 tokens for MiniLM), so two
    # sentences read together take about the sum of their counts less one frame; exactly so for
    # a word-piece tokenizer, which splits at whitespace. That sum picks a chunk's last sentence
    # and one count of the whole chunk confirms it (saves ~45% of the counts of a 5 MB file).
    frame = count_tokens("")

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
        last, total = first, sentences[first][3]
        while (
            last + 1 < len(sentences)
            and not sentences[last + 1][2]
            and total + sentences[last + 1][3] - frame <= params.max_tokens
        ):
            last, total = last + 1, total + sentences[last + 1][3] - frame
        while (
            last > first
            and count_tokens(normalize(document.text[sentences[first][0] : sentences[last][1]])) > params.max_tokens
        ):
            last -= 1  # this tokenizer reads the sentences together as more than their sum
        emit(first, last)
        if last + 1 >= len(sentences):
            break
        overlap = min(params.overlap_sentences, last - first)  # always move forward
        if sentences[last + 1][2]:
            overlap = 0  # never carry a sentence across removed boilerplate or a left-out word
        first = last + 1 - overlap
    return chunks
