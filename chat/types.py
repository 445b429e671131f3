"""The core types of an answer: its citations, per-sentence support, timings, and itself."""

from __future__ import annotations

from dataclasses import dataclass

from index.types import Passage


@dataclass(frozen=True, slots=True)
class Citation:
    """A `[n]` in the answer, resolved to the exact words of a source file."""

    n: int  # the number shown in the answer, 1-based index into Answer.passages
    source: str
    title: str
    chunk_id: str
    start: int  # character offsets of the cited passage in the source file
    end: int
    text: str  # the passage's words
    also_in: tuple[str, ...] = ()  # other files with the same words (syndicated copies)


@dataclass(frozen=True, slots=True)
class SentenceSupport:
    """How one answer sentence is supported, down to the exact words in the source file."""

    text: str  # the sentence as it stands in the answer, with its markers
    cited: tuple[int, ...] = ()  # the [n] it carries after checking
    passage: int | None = None  # the passage that supports it best (None when nothing does)
    score: float = 0.0  # share of its content words found in that passage (0..1)
    source: str | None = None
    start: int | None = None  # offsets of the supporting words in the source file
    end: int | None = None
    quote: str | None = None  # those words
    supported: bool = False  # False: no passage supports it and it was dropped from the answer


@dataclass(frozen=True, slots=True)
class Verdict:
    """One answer check's judgment (chat/checks): its name, pass or fail, and why in plain words."""

    check: str  # the check's name, e.g. "grounded"
    ok: bool
    reason: str  # "the question names TRANSPAC; passage [2] does not"
    # False for a signal: shown, and weighed by the calibrated confidence check, but a failure
    # alone does not refuse the answer.
    binding: bool = True


@dataclass(frozen=True, slots=True)
class Timings:
    retrieve_s: float
    ttft_s: float  # from the start of ask() to the first token
    total_s: float


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int
    completion: int


@dataclass(frozen=True, slots=True)
class Answer:
    question: str  # what was searched (after any follow-up rewriting)
    text: str  # the answer as shown, with only valid [n] markers
    citations: tuple[Citation, ...]  # one per distinct [n] in `text`, in order of n
    refused: bool  # the passages did not contain the answer
    passages: tuple[Passage, ...]  # what the model was given, in prompt order
    timings: Timings
    tokens: Tokens
    repaired: bool = False  # citations were attached after the fact (the model gave none)
    invalid_citations: tuple[int, ...] = ()  # numbers the model cited that name no passage
    sentences: tuple[SentenceSupport, ...] = ()  # per-sentence support, dropped ones included
    raw_text: str = ""  # the model's output exactly as generated, before any checking
    second_pass: bool = False  # the first output was a refusal or rejected; asked again (see AnswerParams)
    passes: tuple[str, ...] = ()  # the raw output of each pass, first to last (the last is raw_text)
    # The model's log-probability of starting its first output with the refusal sentence
    # (models.generator.Generation.track_logprob); None when the model was not asked.
    refusal_logprob: float | None = None
    verdicts: tuple[Verdict, ...] = ()  # every answer check's verdict, in the order of chat.checks.CHECKS
    # The calibrated estimate that the answer is right (chat/checks/confidence.py); None when
    # the model refused or no calibration is installed.
    confidence: float | None = None
    # The model's probability that the supporting words state the answer (chat/checks/verify.py).
    verified: float | None = None
    kind: str = "fact"  # chat/kind.py: fact, explanation, comparison or change
    # The model's last answer was rejected as not backed by its passages, and `text` is instead
    # one of the passages' sentences closest to the question, quoted, which passed every check
    # (chat.ask.AnswerParams.quote_fallback).
    quoted: bool = False
