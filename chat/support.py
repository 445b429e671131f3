"""Check each answer sentence against the passages and find the exact words that support it.

Support is the share of a sentence's content words found in a passage (after unicode,
quote and accent folding and plural stripping, as for BM25). Each sentence is checked
against the passages it cites; when a
different passage supports it clearly better, the citation moves there; when no passage
supports it, the sentence is dropped from the answer. The supporting span is the passage
sentence (or two adjacent sentences) with the most overlap, as offsets in the source file,
so the CLI and the web UI can highlight the exact words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from chat.citations import cited_numbers, split_sentences, strip_markers
from chat.types import SentenceSupport
from index.chunk import sentence_spans
from index.keyword import tokenize
from index.text import canonical, normalize
from index.types import Passage


@dataclass(frozen=True, slots=True)
class SupportParams:
    min_support: float = 0.4  # share of a sentence's new content words a passage must contain
    move_margin: float = 0.2  # another passage must beat the cited one by this to take the citation


def _terms(text: str) -> set[str]:
    """Content words, with verb endings and -ly cut too, so "supported" meets "support" and
    "gradually" meets "gradual", while "fought" does not meet "fight" (irregular forms stay
    apart); BM25 only strips plurals."""
    return {_base(w) for w in tokenize(text)}


def _base(word: str) -> str:
    for suffix, keep in (("ing", 4), ("ed", 4), ("ly", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = word[: -len(suffix)]
            return word[:-1] if len(word) > 4 and word[-1] == word[-2] else word  # "planned" -> "plan"
    return word


def _score(words: set[str], text: str, numbers: AbstractSet[str] = frozenset()) -> float:
    """Share of `words` in `text`; 0 when `text` lacks one of `numbers` (a figure must be quoted)."""
    if numbers and not numbers <= _numbers(text):
        return 0.0
    return len(words & _terms(text)) / len(words) if words else 0.0


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]+")
SPELLED_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}  # fmt: skip


MAGNITUDES = ("thousand", "million", "billion", "trillion")  # words that scale the figure before them
_MAGNITUDE = re.compile(rf"(\d+(?:\.\d+)?)\s*(%|(?:{'|'.join(MAGNITUDES)}|per\s*cent)\b)", re.IGNORECASE)


def _magnitudes(text: str) -> set[str]:
    """Figures with the magnitude after them: "54 billion", "54 percent" ("54 per cent", "54%")."""
    found = set()
    for number, unit in _MAGNITUDE.findall(_THOUSANDS.sub("", text)):
        unit = unit.lower()
        found.add(f"{number} {'percent' if unit == '%' or unit.startswith('per') else unit}")
    return found


def _numbers(text: str) -> set[str]:
    """The figures in a text: digit runs ("1,000" -> "1000", "3.5" -> "3", "5"), "one".."twenty",
    and figures with their magnitude ("54 billion"), so that either form can be looked up."""
    found = {n.lstrip("0") or "0" for n in _DIGITS.findall(_THOUSANDS.sub("", text))}
    spelled = (SPELLED_NUMBERS.get(w) for w in _LETTERS.findall(canonical(text)))  # "two-year" too
    return found | {n for n in spelled if n is not None} | _magnitudes(text)


def _stated(text: str) -> set[str]:
    """The figures a sentence states: with their magnitude where it has one, so "about 54
    billion cubic meters" is not backed by a passage's "54 per cent"."""
    tagged = _magnitudes(text)
    bare = _numbers(text) - tagged
    for figure in tagged:  # "3.5 million" already says 3 and 5
        bare -= set(_DIGITS.findall(figure))
    return bare | tagged


def _best_span(
    words: set[str], passage: Passage, source_text: Callable[[str], str | None]
) -> tuple[int, int, str] | None:
    """The passage sentence, or pair of adjacent sentences, that covers the most words."""
    original = source_text(passage.chunk.source)
    if original is None:
        return None
    spans = sentence_spans(original, passage.chunk.start, passage.chunk.end)
    candidates = list(spans) + [(a[0], b[1]) for a, b in zip(spans, spans[1:], strict=False)]
    best = None
    best_key = (-1.0, 0)
    for start, end in candidates:
        score = _score(words, original[start:end])
        key = (score, -(end - start))  # more overlap first, then the shorter span
        if key > best_key:
            best, best_key = (start, end), key
    if best is None:
        return None
    return best[0], best[1], normalize(original[best[0] : best[1]])


def check_support(
    text: str,
    passages: Sequence[Passage],
    source_text: Callable[[str], str | None],
    params: SupportParams,
    *,
    question: str = "",
) -> tuple[str, tuple[SentenceSupport, ...]]:
    """The answer with unsupported sentences removed and citations moved, and per-sentence support.

    Only what a sentence adds to the question needs support: "The Kremlin justified the push
    in Idlib" in reply to "How did the Kremlin justify the push in Idlib?" adds nothing and is
    dropped, while the question's own words in a real answer do not dilute its score.
    """
    asked = _terms(question)
    kept: list[str] = []
    report: list[SentenceSupport] = []
    for sentence in split_sentences(text):
        body = strip_markers(sentence).strip()
        words = _terms(body) - asked
        if not words and _terms(body):  # only restates the question: no answer in it
            report.append(SentenceSupport(sentence, (), None, 0.0, None, None, None, None, False))
            continue
        cited = [n for n in dict.fromkeys(cited_numbers(sentence)) if 1 <= n <= len(passages)]
        # A figure the question did not give must be in the passage: "Turkey bought 10 S-400
        # batteries" is not supported by a passage about S-400s without a 10.
        figures = _stated(body) - _numbers(question)
        scores = {n: _score(words, passages[n - 1].chunk.text, figures) for n in range(1, len(passages) + 1)}
        if not words:  # "Yes." or a bare marker: nothing to check, keep as written
            kept.append(sentence)
            report.append(SentenceSupport(sentence, tuple(cited), None, 1.0, None, None, None, None, True))
            continue
        best_cited = max(cited, key=lambda n: scores[n], default=None)
        best_any = max(scores, key=lambda n: scores[n])
        chosen = best_cited
        if chosen is None or scores[best_any] >= scores[chosen] + params.move_margin:
            chosen = best_any
        if scores[chosen] < params.min_support:
            report.append(SentenceSupport(sentence, tuple(cited), None, scores[chosen], None, None, None, None, False))
            continue
        if chosen not in cited:
            sentence = _recite(sentence, chosen)
        span = _best_span(words, passages[chosen - 1], source_text)
        report.append(
            SentenceSupport(
                sentence,
                tuple(n for n in dict.fromkeys(cited_numbers(sentence)) if 1 <= n <= len(passages)),
                chosen,
                scores[chosen],
                passages[chosen - 1].chunk.source,
                span[0] if span else None,
                span[1] if span else None,
                span[2] if span else None,
                True,
            )
        )
        kept.append(sentence)
    return " ".join(kept), tuple(report)


def _recite(sentence: str, n: int) -> str:
    """Replace the sentence's markers with [n], placed before its final punctuation."""
    body = strip_markers(sentence).rstrip()
    stripped = body.rstrip(".!?\"'\u201d")
    return f"{stripped} [{n}]{body[len(stripped) :]}"
