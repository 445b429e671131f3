"""The prompt: fixed instructions and few-shot examples first, then numbered passages.

The fixed part comes first and never changes, so llama.cpp reuses its KV cache across
questions and only the passages and the question are processed each time.
A probe on this 1.5B model: 3 of 4 answers acceptable with one cited example and one refusal
example, against 1 of 4 with instructions alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from index.types import Chunk, Passage
from models.generator import Message

REFUSAL = "The articles do not say."

SYSTEM = f"""You answer questions about news articles. You may use only the numbered passages in the user's message.
Answer in one to three short sentences in your own words, and put the number of the passage that supports each \
sentence in brackets at its end, like [2].
If the passages do not state the answer to the exact question asked, reply only: {REFUSAL}"""

# Repeated after the passages: a 1.5B model follows instructions it has just read far better
# (probe: with them, "What did Erdogan say about Brexit?" was refused instead of answered
# with an unrelated quote).
REMINDER = f"Answer only from the passages, citing them like [1]. If they do not state the answer, reply: {REFUSAL}"

_EXAMPLE_PASSAGES = """\
Article: Harbor News
[1] The city council approved the new harbor bridge on 3 May 2018 after a two-year debate.
[2] Construction is expected to cost 40 million euros, paid mostly by the regional government.
Article: City Weekly
[3] The mayor said the bridge would cut commuting times for thousands of residents."""


# The second pass (chat/ask.py): the same message without the option to refuse.
FORCED_REMINDER = "Answer from the passages in one or two sentences, citing them like [1]."

# Analytical questions (chat/kind.py): the same fixed prefix (its KV state is reused), and this
# reminder instead of REMINDER, which the model follows as the last instruction it read.
POINTS_REMINDER = (
    "Answer with one short lead sentence, then 2 to 5 points, each on its own line starting with "
    '"- ", each stating one thing a passage says and ending with that passage\'s number like [2]. '
    "Use points from different articles. Where a passage says whose view it is, say so "
    '("according to ..."). Answer only from the passages, like this:\n'
    "The two countries cooperate but disagree [1].\n- They built a gas pipeline together [2].\n"
    "- They back opposite sides in Libya, according to analyst Jane Roe [3].\n"
    f"If the passages do not state the answer, reply: {REFUSAL}"
)
FORCED_POINTS_REMINDER = (
    "Answer from the passages with one short lead sentence, then 2 to 5 points, each on its own line "
    'starting with "- " and ending with its passage\'s number like [2].'
)


def _user(passages: str, question: str, *, forced: bool = False, points: bool = False) -> str:
    if points:
        reminder = FORCED_POINTS_REMINDER if forced else POINTS_REMINDER
    else:
        reminder = FORCED_REMINDER if forced else REMINDER
    return f"Passages:\n{passages}\n\nQuestion: {question}\n{reminder}"


FEW_SHOT: tuple[Message, ...] = (
    Message("user", _user(_EXAMPLE_PASSAGES, "When was the bridge approved and who pays for it?")),
    Message(
        "assistant",
        "The council approved the bridge on 3 May 2018 [1]. The regional government pays most of its "
        "40 million euro cost [2].",
    ),
    Message("user", _user(_EXAMPLE_PASSAGES, "How many workers were injured during construction?")),
    Message("assistant", REFUSAL),
)


def arrange(passages: Sequence[Passage]) -> list[Passage]:
    """The order the model reads (and cites) the passages in: one article's passages together,
    in their order in the article, articles in the order of their best-ranked passage.

    Each title is then shown once, above its passages: the top 4 come from fewer than 4
    articles for 78 of the 80 reference questions, and a title costs ~19 prompt tokens.
    """
    first: dict[str, int] = {}
    for passage in passages:
        first.setdefault(passage.chunk.source, len(first))
    return sorted(passages, key=lambda p: (first[p.chunk.source], p.chunk.start, p.rank))


# "[1]" or "[2, 3]" inside an article (a footnote, or text written to look like a citation) would
# read as a citation of another passage: the model is shown "(1)" instead.
_BRACKETED_NUMBER = re.compile(r"\[(\s*\d+(?:\s*[,&]\s*\d+)*\s*)\]")


def format_passages(passages: Sequence[Passage]) -> str:
    """Numbered passages under their article's title; a new title line wherever the article changes."""
    lines = []
    source = None
    for n, passage in enumerate(passages, start=1):
        if passage.chunk.source != source:
            source = passage.chunk.source
            lines.append(f"Article: {passage.chunk.title}")
        text = _BRACKETED_NUMBER.sub(r"(\1)", passage.shown_text.replace("\n", " "))
        lines.append(f"[{n}] {text}")
    return "\n".join(lines)


# Every answer prompt starts with these messages; their KV state is computed once (or loaded
# from disk) and reused (models/llama.py, LlamaGenerator.prime).
PREFIX: tuple[Message, ...] = (Message("system", SYSTEM), *FEW_SHOT)


def build_messages(
    question: str, passages: Sequence[Passage], *, forced: bool = False, points: bool = False
) -> list[Message]:
    """The prompt: PREFIX, then the passages and the question; `points` asks for a lead and cited points."""
    return [*PREFIX, Message("user", _user(format_passages(passages), question, forced=forced, points=points))]


def arrange_by_date(passages: Sequence[Passage]) -> list[Passage]:
    """As `arrange`, but articles in the order of their dates (oldest first, undated last), for
    questions about a change over time: the model reads the development in order."""
    grouped = arrange(passages)
    first = {p.chunk.source: i for i, p in reversed(list(enumerate(grouped)))}

    def key(p: Passage) -> tuple[bool, str, int, int]:
        day = date_key(p.chunk.date)
        return (day is None, day or "", first[p.chunk.source], p.chunk.start)

    return sorted(grouped, key=key)


_DATE_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d", "%B %Y", "%b %Y")


def date_key(text: str | None) -> str | None:
    """An article's date as written ("Nov 18, 2020", "14 November 2019") made sortable
    ("2020-11-18"); just the year when only a year can be read; None without a date."""
    if not text:
        return None
    cleaned = " ".join(text.replace(".", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    year = re.search(r"\b(19|20)\d\d\b", text)
    return year.group() if year else None


def _opening(title: str, text: str, question: str) -> str:
    chunk = Chunk(f"{title}:0-{len(text)}", title, title, None, 0, len(text), text)
    return _user(format_passages([Passage(chunk, 1, 1.0, None, None)]), question)


# Two different questions' user messages: what they share (chat template, "Passages:\nArticle:")
# joins PREFIX in the saved KV state (LlamaGenerator.prime).
OPENINGS = (_opening("A", "B.", "C?"), _opening("D", "E.", "F?"))
