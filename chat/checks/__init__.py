"""The answer checks: a named, ordered list, each giving a verdict a person can read.

Between the model's raw output and the answer a user sees, `chat.ask.check_answer` validates
the `[n]` markers, attaches missing citations and drops the sentences no passage supports
(`chat.checks.support`). What is left is a `Draft`, and every check in `CHECKS` gives it a
`Verdict`. The answer is refused when one of them fails; all of them run, so that the `Answer`
(and `--json`, `ask -v`, the eval report's rejections per check) shows every reason, not only
the first. Each check is one module with a docstring naming the question that motivated it
and the sets it was validated on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chat.checks.words import PinCounts
from chat.types import SentenceSupport, Verdict
from index.types import Passage


@dataclass(frozen=True, slots=True)
class Sources:
    """What an answer is checked against: the passages the model read (numbered from 1 as it
    cited them), the original text of a source file (None when it changed or vanished: no
    supporting span then), and the question, whose own words need no support."""

    passages: Sequence[Passage]
    source_text: Callable[[str], str | None]
    question: str = ""


@dataclass(frozen=True, slots=True)
class Draft:
    """An answer after the sentence support check, with what the checks may look at."""

    question: str
    text: str  # the answer as it would be shown ("" when no sentence was supported)
    sentences: tuple[SentenceSupport, ...]  # per-sentence support, dropped ones included
    passages: tuple[Passage, ...]  # numbered as the model cited them
    refusal_logprob: float | None = None  # the model's own log P(refusal) on its first pass
    second_pass: bool = False  # the answer came from a second pass (the model had refused or been rejected)
    # The original text of a source file, for checks that read a passage's whole article.
    source_text: Callable[[str], str | None] = field(default=lambda source: None, compare=False)
    verified: float | None = None  # the model's P(yes) that the supporting words state the answer (verify.py)
    # Every word of the whole corpus (chat.checks.words.CorpusWords), for names no article uses.
    corpus: PinCounts | None = field(default=None, compare=False)

    @property
    def supporting(self) -> tuple[int, ...]:
        """Numbers of the passages that support the kept sentences (by the support check)."""
        found: dict[int, None] = {}
        for sentence in self.sentences:
            if sentence.supported:
                if sentence.passage is not None:
                    found[sentence.passage] = None
                for n in sentence.cited:
                    found[n] = None
        return tuple(n for n in found if 1 <= n <= len(self.passages))


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    run: Callable[[Draft], Verdict]


def passage_label(numbers: tuple[int, ...] | list[int]) -> str:
    """ "passage [2]", "passages [1] and [3]", "passages [1], [2] and [4]"."""
    marks = [f"[{n}]" for n in numbers]
    if len(marks) == 1:
        return f"passage {marks[0]}"
    return f"passages {', '.join(marks[:-1])} and {marks[-1]}"


# Last: the check modules import Draft and passage_label from here.
def _checks() -> tuple[Check, ...]:
    from chat.checks import answer_type, confidence, grounding, support

    return (
        Check(support.NAME, support.verdict),
        Check(grounding.NAME, grounding.verdict),
        Check(answer_type.NAME, answer_type.verdict),
        Check(confidence.NAME, confidence.verdict),
    )


CHECKS: tuple[Check, ...] = _checks()


# Analytical answers (chat/kind.py): every point must be supported and the question's names
# must exist, but the answer-form check (a "how many" wants a number) and the calibrated
# abstention (fitted on factoid answers) do not apply to a lead and points.
# Their points quote whole passage sentences, naming much around what was asked, so grounding
# leaves out what the answer itself names (chat/checks/grounding.py `verdict`).
def _analytical_checks() -> tuple[Check, ...]:
    from chat.checks import grounding

    def grounded(draft: Draft) -> Verdict:
        return grounding.verdict(draft, answer_names=False)

    return tuple(
        Check(c.name, grounded) if c.name == grounding.NAME else c
        for c in CHECKS
        if c.name in ("supported", grounding.NAME)
    )


ANALYTICAL_CHECKS: tuple[Check, ...] = _analytical_checks()


def run_checks(draft: Draft, checks: tuple[Check, ...] = CHECKS) -> tuple[Verdict, ...]:
    """Every check's verdict on the draft, in order."""
    return tuple(check.run(draft) for check in checks)
