"""Does an answer state the kind of thing its question asks for?

A near-miss question ("How many Russian peacekeepers were deployed?" when the articles only
say how long they stay) tempts the model into a supported but off-target sentence, which the
support check keeps because every word of it is in a passage. Two question forms have an
answer whose form can be checked without understanding it:

- "How many <things> ..." wants a figure next to one of those things ("more than 59 Turkish
  soldiers", "eight Turkish military and civil personnel"): a figure within `WINDOW` words of
  a word of the phrase after "how many", and every word of the thing counted (that phrase up
  to its first plural: "Armenian soldiers") in the answer, or the same beside one of the
  answer's figures in the words that support it ("around 200-300 MHC:antigen molecules" from
  "many receptors (around 200-300) on the helper T cell", for "how many receptors").
- "How long ..." wants a length of time or distance: a unit word ("45 days", "1,200 km"), or
  "since" with a figure ("since 2003").
- "How much/far/old/tall/deep/heavy ..." wants an amount: a figure or a number word ("40
  million euros", "over the age of 18", "twelve kilometres").
- "What/which date ...", "what/which year ..." and "in what month ..." want a calendar word:
  a date has a figure or a month name ("July 15", "15/7"), not a weekday alone ("on Monday");
  a year has a four-digit figure ("2011", "the 1990s"); a month has a month name.

An answer that does not state what its question asks for is a refusal. Other questions are
left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chat.checks import Draft
from chat.checks.words import MAGNITUDES, SPELLED_NUMBERS, STOPWORDS, base, pins, with_parts, words
from chat.citations import strip_markers
from chat.types import Verdict
from index.keyword import tokenize

WINDOW = 4  # words between a figure and the thing counted

_NUMBER_WORDS = (
    frozenset(SPELLED_NUMBERS)
    | frozenset("thirty forty fifty sixty seventy eighty ninety hundred hundreds dozen dozens".split())
    | frozenset(MAGNITUDES)
    | frozenset(m + "s" for m in MAGNITUDES)  # "thousands of civilians"
)
_UNITS = frozenset(
    """second minute hour day week month year decade century km kilometre kilometer
    mile metre meter mm cm ft foot feet""".split()
)


# "How much/far/old/tall/deep/heavy ...?" asks for an amount: a figure or a number word.
_AMOUNTS = frozenset("much far old tall deep heavy".split())
_TIMES = frozenset({"once", "twice", "thrice"})  # "How many times ...?" -> "twice"
_MONTHS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
# The calendar word a question asks for ("on what date", "in which year") and what an answer
# must contain to state one.
_CALENDAR = {
    "date": lambda said: any(any(c.isdigit() for c in w) for w in said) or bool(_MONTHS & set(said)),
    "year": lambda said: any(_YEAR.search(w) for w in said),  # "2011", "1990s", "2019-2020"
    "month": lambda said: bool(_MONTHS & set(said)),
}


def _is_figure(word: str) -> bool:
    return any(c.isdigit() for c in word) or word in _NUMBER_WORDS


def _counted(question: list[str]) -> list[str] | None:
    """The content words right after "how many", or None for other questions."""
    for i in range(len(question) - 1):
        if question[i] == "how" and question[i + 1] == "many":
            phrase = []
            for word in question[i + 2 :]:
                if word in STOPWORDS:
                    break
                phrase.append(word)
            return phrase or None
    return None


def _things(phrase: list[str]) -> set[str]:
    """The counted noun phrase: the words after "how many" up to the first plural, which is
    the thing counted ("turkish soldiers" in "how many Turkish soldiers died ...")."""
    named: list[str] = []
    for word in phrase:
        stem = tokenize(word)
        named += stem
        if stem and stem[0] != word:  # "soldiers" -> "soldier": the noun; a verb may follow
            break
    return set(named)


def _counts(question: str, phrase: list[str], text: str, figures: set[str] | None = None) -> bool:
    """`text` gives a figure (one of `figures`, when given) within `WINDOW` words of a word of
    the phrase after "how many", and names every word of the thing counted."""
    counted = {base(w) for w in tokenize(" ".join(phrase))}
    said = with_parts(text)
    if "time" in counted and _TIMES & set(said):
        return True
    stems = [base((tokenize(w) or [w])[0]) for w in said]
    # "How many Armenian soldiers?" "59 Turkish soldiers" names other soldiers. A long name
    # may be shortened to its first word: "Cooper Industries Inc shares" -> "Cooper stock".
    shortened = {base((tokenize(part) or [part])[0]) for pin in pins(question) if pin.kind == "name"
                 for part in pin.parts[1:]}  # fmt: skip
    if not {base(w) for w in _things(phrase)} - shortened <= set(stems):
        return False
    return any(
        _is_figure(word)
        and (figures is None or word in figures)
        and counted & set(stems[max(0, i - WINDOW) : i + WINDOW + 1])
        for i, word in enumerate(said)
    )


def states_what_is_asked(question: str, answer: str, quotes: Sequence[str] = ()) -> bool:
    """False only when the question is "how many ...", "how long ...", "how much/far/old ..." or
    asks for a date, year or month, and the answer says no such thing.

    For "how many", the thing counted may stand beside the answer's figure in the words that
    support it (`quotes`) rather than in the answer: "How many receptors on a helper T cell must
    be bound ...?" -> "... activated by engagement of around 200-300 MHC:antigen molecules [3]",
    from "many receptors (around 200-300) on the helper T cell must be bound" (external set)."""
    asked = words(question)
    answer = strip_markers(answer)  # "[1]" is not a figure
    said = with_parts(answer)
    phrase = _counted(asked)
    if phrase is not None:
        if _counts(question, phrase, answer):
            return True
        figures = {w for w in said if any(c.isdigit() for c in w)}
        return bool(figures) and any(_counts(question, phrase, quote, figures) for quote in quotes)
    if any(a == "how" and b == "long" for a, b in zip(asked, asked[1:], strict=False)):
        since = any(w == "since" and any(map(_is_figure, said[i + 1 : i + 4])) for i, w in enumerate(said))
        return since or any(stem in _UNITS for stem in tokenize(" ".join(said)))  # "a two-year war"
    for a, b in zip(asked, asked[1:], strict=False):
        if a in ("what", "which") and b in _CALENDAR:
            return _CALENDAR[b](said)
        if a == "how" and b in _AMOUNTS:
            return any(map(_is_figure, said))
    return True


NAME = "answers_the_form"


def _form(question: str) -> str | None:
    """The form of question this check knows, as shown in a verdict ("how many soldiers")."""
    asked = words(question)
    phrase = _counted(asked)
    if phrase is not None:
        return "how many " + " ".join(phrase)
    pairs = list(zip(asked, asked[1:], strict=False))
    if ("how", "long") in pairs:
        return "how long"
    for a, b in pairs:
        if a in ("what", "which") and b in _CALENDAR:
            return f"{a} {b}"
        if a == "how" and b in _AMOUNTS:
            return f"how {b}"
    return None


def verdict(draft: Draft) -> Verdict:
    """The answer states the kind of thing a "how many", "how long" or "what date/year/month"
    question asks for (module docstring). Found on the reference set's near misses ("How many
    Russian peacekeepers were deployed?" answered with how long they stay)."""
    form = _form(draft.question)
    if form is None:
        return Verdict(NAME, True, "no answer form to check for this question")
    quotes = [s.quote for s in draft.sentences if s.supported and s.quote]
    if not draft.text or states_what_is_asked(draft.question, draft.text, quotes):
        return Verdict(NAME, True, f'the answer gives what "{form}" asks for')
    return Verdict(NAME, False, f'the question asks "{form}"; the answer does not say it')
