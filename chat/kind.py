"""What kind of question this is: a fact, a reason, or an explanation, a comparison, a change.

A fact ("Who wrote...", "How many soldiers died...") and a reason ("Why did Ankara...") are
answered in one to three sentences from the best passages, with every answer check, the
calibrated abstention included. The analytical kinds ask for an overview ("What are the main
disagreements...", "To what extent..."), differences ("Compare how the articles judge...") or a
development ("How did relations change between 2016 and 2020?"), which the articles answer
between them, so they get evidence from several articles and an answer of cited points
(chat/ask.py).

"Why" questions stay on the factoid path: in two SQuAD 2.0 development splits (evals/squad_dev.py),
13 of the 18 "why" questions are unanswerable near misses, and the points form has no abstention
beyond names no article uses (docs/EVALUATION.md, analytical questions). So the factoid answer
and its checks decide whether the articles answer a "why" question; only an answer they keep
is followed by quoted evidence from several articles (chat/ask.py, `reason_evidence`).
"""

from __future__ import annotations

import re

FACT = "fact"
REASON = "reason"
EXPLANATION = "explanation"
COMPARISON = "comparison"
CHANGE = "change"
ANALYTICAL = frozenset({EXPLANATION, COMPARISON, CHANGE})

_QUANTITY = re.compile(r"\bhow (many|much|far|long|old|big|large|often)\b", re.IGNORECASE)
_CHANGE = re.compile(
    r"^\s*how (did|has|have|do|does|is|are|was|were)\b.*"
    r"\b(change[sd]?|evolv(e|ed|es|ing)|develop(ed|s)?|shift(ed|s)?|transform(ed|s)?)\b"
    r"|\bover (time|the years)\b|\b(trajectory|evolution) of\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"^\s*(compare|contrast)\b|\bdifferences? between\b|\bsimilarit(y|ies) between\b|\bhow do the articles\b",
    re.IGNORECASE,
)
_EXPLANATION = re.compile(
    r"^\s*(explain|to what extent)\b"
    r"|^\s*what (are|were) the (main|key|major|biggest)\b"
    r"|^\s*what (factors|reasons)\b",
    re.IGNORECASE,
)
_REASON = re.compile(r"^\s*why\b", re.IGNORECASE)


def question_kind(question: str) -> str:
    """FACT, REASON, EXPLANATION, COMPARISON or CHANGE; a question about a quantity is a FACT."""
    if _QUANTITY.search(question):
        return FACT
    if _CHANGE.search(question):
        return CHANGE
    if _COMPARISON.search(question):
        return COMPARISON
    if _EXPLANATION.search(question):
        return EXPLANATION
    if _REASON.search(question):
        return REASON
    return FACT
