"""What kind of question this is: a fact, or an explanation, a comparison, a change over time.

A fact ("Who wrote...", "How many soldiers died...") is answered in one to three sentences from
the best passages. The other kinds ask for reasons, differences or a development, which the seed
articles answer between them, so they get evidence from several articles and an answer of a
lead sentence and cited points (chat/ask.py). The rule reads the question's opening and its
verbs; docs/EVALUATION.md gives how often it fires on each reference set.
"""

from __future__ import annotations

import re

FACT = "fact"
EXPLANATION = "explanation"
COMPARISON = "comparison"
CHANGE = "change"
ANALYTICAL = frozenset({EXPLANATION, COMPARISON, CHANGE})

_CHANGE = re.compile(
    r"\bhow\b.*\b(change[sd]?|evolv(e|ed|es)|develop(ed|s)?|shift(ed|s)?|transform(ed|s)?)\b"
    r"|\bover (time|the years)\b|\b(trajectory|evolution) of\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"^\s*(compare|contrast)\b|\bcompared? (with|to)\b|\bdiffer(ent|ence|ences)? (between|from)\b"
    r"|\bsimilarit(y|ies)\b|\bhow do the articles\b",
    re.IGNORECASE,
)
_EXPLANATION = re.compile(
    r"^\s*(why|explain|to what extent)\b"
    r"|^\s*what (are|were) the (main|key|major|biggest)\b"
    r"|^\s*what (factors|reasons|explains|drove|drives|motivated)\b"
    r"|^\s*how (do|does|did) the articles\b",
    re.IGNORECASE,
)


def question_kind(question: str) -> str:
    """FACT, EXPLANATION, COMPARISON or CHANGE; the first rule that matches, in that order."""
    if _CHANGE.search(question):
        return CHANGE
    if _COMPARISON.search(question):
        return COMPARISON
    if _EXPLANATION.search(question):
        return EXPLANATION
    return FACT
