"""One `ask()` behind every front end: retrieve, prompt, stream, verify citations.

`Pipeline.stream(question)` retrieves first, so its passages are known before the first
token; iterating it yields the model's text pieces; `.answer()` returns the final `Answer`
with checked citations. `Pipeline.ask(question)` does both in one call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from chat.citations import attach_citations, clean_markers, is_refusal, resolve
from chat.errors import QuestionError
from chat.prompt import REFUSAL, build_messages
from chat.support import SupportParams, check_support
from chat.types import Answer, Citation, SentenceSupport, Timings, Tokens
from index.search import HybridSearcher, RetrievalParams
from index.types import Passage
from models.generator import Generation, Generator, Message


@dataclass(frozen=True, slots=True)
class AnswerParams:
    max_tokens: int = 200  # answers are one to three sentences; 200 tokens ~ 150 words
    max_question_chars: int = 1000
    support: SupportParams = SupportParams()


class AnswerStream:
    """Passages first (available at once), then text pieces, then the checked `Answer`."""

    def __init__(
        self,
        question: str,
        passages: Sequence[Passage],
        generation: Generation | None,
        started: float,
        retrieve_s: float,
        *,
        source_text: Callable[[str], str | None] = lambda source: None,
        support: SupportParams | None = None,
    ) -> None:
        self.question = question
        self._source_text = source_text
        self._support = support or SupportParams()
        self.passages = tuple(passages)
        self._generation = generation
        self._started = started
        self._retrieve_s = retrieve_s
        self._pieces: list[str] = []
        self._ttft: float | None = None
        self._iterator = self._iterate()
        self._answer: Answer | None = None

    def _iterate(self) -> Iterator[str]:
        if self._generation is None:  # nothing retrieved: refuse without asking the model
            self._ttft = time.perf_counter() - self._started
            self._pieces.append(REFUSAL)
            yield REFUSAL
            return
        try:
            for piece in self._generation:
                if self._ttft is None:
                    self._ttft = time.perf_counter() - self._started
                self._pieces.append(piece)
                yield piece
        finally:
            # Closing this stream early must end the model's generation at once, so the
            # model's lock is free for the next question (not whenever the GC runs).
            self._generation.close()

    def __iter__(self) -> Iterator[str]:
        return self._iterator

    def close(self) -> None:
        """Stop generating (e.g. the user pressed stop); `answer()` then uses what came."""
        self._iterator.close()

    def answer(self) -> Answer:
        if self._answer is None:
            for _ in self._iterator:
                pass
            self._answer = self._finish()
        return self._answer

    def _finish(self) -> Answer:
        total = time.perf_counter() - self._started
        raw = "".join(self._pieces).strip()
        checked = check_answer(raw, self.passages, self._source_text, self._support)
        generation = self._generation
        return Answer(
            question=self.question,
            text=checked.text,
            citations=checked.citations,
            refused=checked.refused,
            passages=self.passages,
            timings=Timings(self._retrieve_s, self._ttft if self._ttft is not None else total, total),
            tokens=Tokens(
                generation.prompt_tokens if generation else 0,
                generation.completion_tokens if generation else 0,
            ),
            repaired=checked.repaired,
            invalid_citations=checked.invalid,
            sentences=checked.sentences,
            raw_text=raw,
        )


@dataclass(frozen=True, slots=True)
class Checked:
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    repaired: bool
    invalid: tuple[int, ...]
    sentences: tuple[SentenceSupport, ...]


def check_answer(
    raw: str,
    passages: Sequence[Passage],
    source_text: Callable[[str], str | None],
    support: SupportParams,
) -> Checked:
    """Everything between the model's raw output and the answer a user sees.

    Markers are validated, a refusal is recognized, missing citations are attached, and
    sentences no passage supports are dropped (an answer left empty becomes a refusal).
    A pure function, so the evaluation can replay it on recorded outputs (evals/replay.py).
    """
    text, invalid = clean_markers(raw, len(passages))
    refused = is_refusal(text)
    repaired = False
    sentences: tuple[SentenceSupport, ...] = ()
    if not refused:
        if not resolve(text, passages):
            text = attach_citations(text, passages)
            repaired = True
        text, sentences = check_support(text, passages, source_text, support)
        refused = not text  # no sentence was supported by the passages
    if refused:
        return Checked(REFUSAL, (), True, repaired, tuple(invalid), sentences)
    return Checked(text, resolve(text, passages), False, repaired, tuple(invalid), sentences)


class Pipeline:
    def __init__(
        self,
        searcher: HybridSearcher,
        generator: Generator,
        *,
        retrieval: RetrievalParams | None = None,
        answering: AnswerParams | None = None,
    ) -> None:
        self.searcher = searcher
        self.generator = generator
        self.retrieval = retrieval or RetrievalParams()
        self.answering = answering or AnswerParams()

    def check_question(self, question: str) -> str:
        question = " ".join(question.split())
        if not question:
            raise QuestionError("the question is empty; type a question about the articles")
        limit = self.answering.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"the question is {len(question)} characters long; keep it under {limit}")
        return question

    def _check_fits(self, messages: Sequence[Message]) -> None:
        # ~4 tokens of chat-template overhead per message on top of the text itself.
        prompt = sum(self.generator.count_tokens(m.content) + 4 for m in messages)
        budget = self.generator.n_ctx - self.answering.max_tokens
        if prompt > budget:
            raise QuestionError(
                f"the prompt needs {prompt} tokens but the model's context leaves {budget}; "
                "shorten the question, lower -k, or raise the context size (SEEDQA_N_CTX)"
            )

    def stream(self, question: str, *, k: int | None = None) -> AnswerStream:
        question = self.check_question(question)
        started = time.perf_counter()
        params = self.retrieval if k is None else _with_k(self.retrieval, k)
        passages = self.searcher.search(question, params)
        retrieve_s = time.perf_counter() - started
        if not passages:
            return AnswerStream(question, passages, None, started, retrieve_s)
        messages = build_messages(question, passages)
        self._check_fits(messages)
        generation = self.generator.stream(messages, max_tokens=self.answering.max_tokens)
        return AnswerStream(
            question,
            passages,
            generation,
            started,
            retrieve_s,
            source_text=self.searcher.store.source_text,
            support=self.answering.support,
        )

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        return self.stream(question, k=k).answer()


def _with_k(params: RetrievalParams, k: int) -> RetrievalParams:
    if k < 1:
        raise QuestionError(f"-k must be at least 1, got {k}")
    from dataclasses import replace

    return replace(params, k=k)
