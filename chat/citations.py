"""Check the model's `[n]` markers against the passages it was given, and repair them.

Only markers that name a passage survive. When the model cites nothing, each answer
sentence is attributed after the fact to the passage sharing most of its content words
(small models cite poorly when asked; post-hoc attribution roughly doubles their citation
quality in published results).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chat.prompt import REFUSAL
from chat.types import Citation
from index.chunk import sentence_spans
from index.text import canonical, content_words
from index.types import Passage

# "[1]", "[1, 2]", "[1][3]", "[Passage 2]", "[passages 1 and 2]"
_MARKER = re.compile(r"\[(?:passages?\s*)?(\d+(?:\s*(?:,|and|&)\s*\d+)*)\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+\])+\s*")
_MARKER_WITH_SPACE = re.compile(r"\s*" + _MARKER.pattern, re.IGNORECASE)
_REFUSAL_PATTERNS = re.compile(
    r"\b(?:do(?:es)? not (?:say|contain|mention|provide|specify|state)|"
    r"(?:is|are) not (?:mentioned|provided|stated|specified|given)|no information|"
    r"cannot (?:be )?(?:answer|determine|found)|not enough information)\b"
)
MIN_OVERLAP = 0.3  # share of a sentence's content words a passage must hold to support it


def strip_markers(text: str) -> str:
    """The text without its citation markers (and the space before each): "cost [1]." -> "cost."."""
    return _MARKER_WITH_SPACE.sub("", text)


def cited_numbers(text: str) -> list[int]:
    """Every number named by a marker, in order of appearance (duplicates kept)."""
    return [int(n) for m in _MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))]


def clean_markers(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Rewrite markers as "[n]" and drop numbers that name no passage; return dropped numbers."""
    invalid: list[int] = []

    def rewrite(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        invalid.extend(n for n in numbers if not 1 <= n <= n_passages)
        return "".join(f"[{n}]" for n in dict.fromkeys(numbers) if 1 <= n <= n_passages)

    cleaned = _MARKER.sub(rewrite, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)  # "claim [9]." -> "claim."
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), invalid


def is_refusal(text: str) -> bool:
    """The answer says the passages do not hold the answer (and claims nothing else)."""
    body = _MARKER.sub("", text).strip()
    if not body or canonical(body).startswith(canonical(REFUSAL).rstrip(".")):
        return True
    sentences = split_sentences(body)
    return len(sentences) <= 2 and all(_REFUSAL_PATTERNS.search(canonical(s)) for s in sentences)


_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
BULLET = "- "  # how a point of an analytical answer is written back


def answer_lines(text: str) -> list[tuple[str, list[str]]]:
    """The answer's non-empty lines, each as (BULLET or "", its sentences without the bullet).

    A factoid answer is one line; an analytical one is a lead line and "- " points
    (chat/prompt.py), whose layout the checks keep (`join_lines`).
    """
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines() or [text]:
        bullet = _BULLET.match(line)
        body = line[bullet.end() :] if bullet else line
        sentences = _sentences(body)
        if sentences:
            out.append((BULLET if bullet else "", sentences))
    return out


def join_lines(lines: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The inverse of `answer_lines`: sentences joined by spaces, lines by newlines; empty lines dropped."""
    return "\n".join(prefix + " ".join(sentences) for prefix, sentences in lines if sentences)


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer, each keeping the markers that follow it ("... end. [2]"), line
    by line (a point's bullet is not part of its sentence)."""
    return [sentence for _, sentences in answer_lines(text) for sentence in sentences]


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for start, end in sentence_spans(text, 0, len(text)):
        sentence = text[start:end]
        lead = _LEADING_MARKERS.match(sentence)
        if lead and sentences:
            sentences[-1] = sentences[-1].rstrip() + " " + lead.group().strip()
            sentence = sentence[lead.end() :]
        if sentence.strip():
            sentences.append(sentence.strip())
    return sentences


def support(sentence: str, passage_text: str) -> float:
    """Share of the sentence's content words that occur in the passage (0..1)."""
    words = set(content_words(_MARKER.sub("", sentence)))
    if not words:
        return 0.0
    return len(words & set(content_words(passage_text))) / len(words)


def attach_citations(text: str, passages: Sequence[Passage]) -> str:
    """Append "[n]" to each sentence that a passage supports well enough."""
    lines: list[tuple[str, list[str]]] = []
    for prefix, sentences in answer_lines(text):
        out: list[str] = []
        for sentence in sentences:
            scores = [support(sentence, p.chunk.text) for p in passages]
            best = max(range(len(scores)), key=lambda i: scores[i], default=None)
            if best is None or scores[best] < MIN_OVERLAP:
                out.append(sentence)
                continue
            stripped = sentence.rstrip(".!?")
            out.append(f"{stripped} [{best + 1}]{sentence[len(stripped) :]}")
        lines.append((prefix, out))
    return join_lines(lines)


def resolve(text: str, passages: Sequence[Passage]) -> tuple[Citation, ...]:
    numbers = sorted(set(n for n in cited_numbers(text) if 1 <= n <= len(passages)))
    return tuple(
        Citation(
            n=n,
            source=passages[n - 1].chunk.source,
            title=passages[n - 1].chunk.title,
            chunk_id=passages[n - 1].chunk.id,
            start=passages[n - 1].chunk.start,
            end=passages[n - 1].chunk.end,
            text=passages[n - 1].chunk.text,
            also_in=passages[n - 1].also_in,
        )
        for n in numbers
    )
