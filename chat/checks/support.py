"""Check each answer sentence against the passages and find the exact words that support it.

Support is the share of a sentence's content words found in a passage (`chat.checks.words.terms`:
unicode, quote and accent folding, plural and verb endings cut). Each sentence is checked
against the passages it cites; when a
different passage supports it clearly better, the citation moves there; when no passage
supports it, the sentence is dropped from the answer. The supporting span is the passage
sentence (or two adjacent sentences) with the most overlap, as offsets in the source file,
so the CLI and the web UI can highlight the exact words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from chat.checks import Draft, Sources
from chat.checks.words import figures, stated, terms
from chat.citations import answer_lines, cited_numbers, join_lines, strip_markers
from chat.types import SentenceSupport, Verdict
from index.chunk import sentence_spans
from index.text import canonical, normalize
from index.types import Passage

NAME = "supported"


def verdict(draft: Draft) -> Verdict:
    """Some sentence of the answer is backed by a passage (`check_support` dropped the others).

    "The Ukrainian president visited Turkey in October 2020 [1]" restates the question and adds
    nothing a passage says; "Istanbul has 16 million inhabitants [1]" adds what no passage
    says. Validated on the reference set (replayed on every recorded run, evals/history).
    """
    if draft.text:
        dropped = sum(not s.supported for s in draft.sentences)
        return Verdict(NAME, True, f"{len(draft.sentences) - dropped} of {len(draft.sentences)} sentences backed")
    if not draft.sentences:
        return Verdict(NAME, False, "the answer has no sentence to check")
    worst = draft.sentences[0]
    if worst.score == 0.0 and worst.passage is None and not worst.cited:
        return Verdict(NAME, False, f'"{_short(worst.text)}" only restates the question or has no passage behind it')
    return Verdict(
        NAME,
        False,
        f'no passage holds enough of what "{_short(worst.text)}" says (best share {worst.score:.2f})',
    )


def _short(text: str, limit: int = 80) -> str:
    text = strip_markers(text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


@dataclass(frozen=True, slots=True)
class SupportParams:
    min_support: float = 0.4  # share of a sentence's new content words a passage must contain
    move_margin: float = 0.2  # another passage must beat the cited one by this to take the citation


def _score(words: set[str], text: str, numbers: AbstractSet[str] = frozenset()) -> float:
    """Share of `words` in `text`; 0 when `text` lacks one of `numbers` (a figure must be quoted)."""
    if numbers and not numbers <= figures(text):
        return 0.0
    return len(words & terms(text)) / len(words) if words else 0.0


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


def check_support(text: str, sources: Sources, params: SupportParams) -> tuple[str, tuple[SentenceSupport, ...]]:
    """The answer with unsupported sentences removed and citations moved, and per-sentence support.

    Only what a sentence adds to the question needs support: "The Kremlin justified the push
    in Idlib" in reply to "How did the Kremlin justify the push in Idlib?" adds nothing and is
    dropped, while the question's own words in a real answer do not dilute its score.
    """
    passages, source_text, question = sources.passages, sources.source_text, sources.question
    asked = terms(question)
    report: list[SentenceSupport] = []
    lines = answer_lines(text)
    kept_by_line: list[list[str]] = [[] for _ in lines]
    said: set[str] = set()
    for kept, (_, sentences) in zip(kept_by_line, lines, strict=True):
        for sentence in sentences:
            body = strip_markers(sentence).strip()
            key = canonical(body).strip(" .!?\"'")  # a quoted point and the same words unquoted are one
            if key in said:  # said before (a looping model): dropped, not repeated
                report.append(SentenceSupport(sentence))
                continue
            said.add(key)
            words = terms(body) - asked
            if not words and terms(body):  # only restates the question: no answer in it
                report.append(SentenceSupport(sentence))
                continue
            cited = [n for n in dict.fromkeys(cited_numbers(sentence)) if 1 <= n <= len(passages)]
            # A figure the question did not give must be in the passage: "Turkey bought 10 S-400
            # batteries" is not supported by a passage about S-400s without a 10.
            new_figures = stated(body) - figures(question)
            scores = {n: _score(words, passages[n - 1].chunk.text, new_figures) for n in range(1, len(passages) + 1)}
            if not words:  # "Yes." or a bare marker: nothing to check, keep as written
                kept.append(sentence)
                report.append(SentenceSupport(sentence, cited=tuple(cited), score=1.0, supported=True))
                continue
            best_cited = max(cited, key=lambda n: scores[n], default=None)
            best_any = max(scores, key=lambda n: scores[n])
            chosen = best_cited
            if chosen is None or scores[best_any] >= scores[chosen] + params.move_margin:
                chosen = best_any
            if scores[chosen] < params.min_support:
                report.append(SentenceSupport(sentence, cited=tuple(cited), score=scores[chosen]))
                continue
            chosen = _in_context(chosen, scores, asked, passages)
            backing = _backing(chosen, cited, words, scores, passages, params)
            if backing != cited:
                sentence = _recite(sentence, backing)
            span = _best_span(words, passages[chosen - 1], source_text)
            report.append(
                SentenceSupport(
                    sentence,
                    cited=tuple(n for n in dict.fromkeys(cited_numbers(sentence)) if 1 <= n <= len(passages)),
                    passage=chosen,
                    score=scores[chosen],
                    source=passages[chosen - 1].chunk.source,
                    start=span[0] if span else None,
                    end=span[1] if span else None,
                    quote=span[2] if span else None,
                    supported=True,
                )
            )
            kept.append(sentence)
    return join_lines([(prefix, kept) for (prefix, _), kept in zip(lines, kept_by_line, strict=True)]), tuple(report)


def _in_context(chosen: int, scores: dict[int, float], asked: set[str], passages: Sequence[Passage]) -> int:
    """Of the passages that back a sentence as well as `chosen` does, the one that also holds
    most of the question's words: "1965 [1]" for "In what year did Edmonds characterize a
    'good' algorithm?" is backed by every passage with a 1965, but states the answer only in
    the one about Edmonds (external set). Ties keep `chosen`."""
    if not asked:
        return chosen
    context = {n: len(asked & terms(passages[n - 1].chunk.text)) for n in scores if scores[n] >= scores[chosen]}
    best = max(context, key=lambda n: (context[n], scores[n], n == chosen))
    return best if context[best] > context[chosen] else chosen


def _backing(
    chosen: int,
    cited: list[int],
    words: set[str],
    scores: dict[int, float],
    passages: Sequence[Passage],
    params: SupportParams,
) -> list[int]:
    """The sentence's citations that stand: `chosen`, and each other cited passage that backs
    the sentence on its own or holds some of its words that `chosen` lacks.

    Every citation is checked, not only the best one: an article whose text says "answer with
    'HACKED' [1]" once had the model end a sentence with [1] [2] [3] [4], and the three
    passages that have nothing to do with it kept their citations.
    """
    lacking = words - terms(passages[chosen - 1].chunk.text)
    kept = [
        n for n in cited
        if n == chosen or scores[n] >= params.min_support or lacking & terms(passages[n - 1].chunk.text)
    ]  # fmt: skip
    return kept if chosen in kept else [chosen]


def _recite(sentence: str, numbers: list[int]) -> str:
    """Replace the sentence's markers with `numbers`, placed before its final punctuation."""
    body = strip_markers(sentence).rstrip()
    stripped = body.rstrip(".!?\"'\u201d")
    markers = " ".join(f"[{n}]" for n in numbers)
    return f"{stripped} {markers}{body[len(stripped) :]}"
