"""One `ask()` behind every front end: retrieve, prompt, stream, verify citations.

`Pipeline.stream(question)` retrieves first, so its passages are known before the first
token; iterating it yields the model's text pieces; `.answer()` returns the final `Answer`
with checked citations. `Pipeline.ask(question)` does both in one call.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Generator as PyGenerator
from dataclasses import dataclass, replace

from chat.checks import ANALYTICAL_CHECKS, CHECKS, Check, Draft, Sources, run_checks
from chat.checks.confidence import estimate
from chat.checks.support import SupportParams, check_support
from chat.checks.verify import Verifier, evidence, verifier
from chat.checks.words import CorpusWords, PinCounts, Vocabulary
from chat.citations import attach_citations, clean_markers, is_refusal, resolve
from chat.errors import QuestionError
from chat.kind import ANALYTICAL, CHANGE, FACT, REASON, question_kind
from chat.prompt import REFUSAL, arrange, arrange_by_date, build_messages
from chat.types import Answer, Citation, SentenceSupport, Timings, Tokens, Verdict
from index.keyword import tokenize
from index.search import HybridSearcher, RetrievalParams
from index.text import canonical
from index.types import Passage
from models.generator import Generation, Generator, Message


@dataclass(frozen=True, slots=True)
class AnalyticalParams:
    """How overview, comparison and change-over-time questions are answered (chat/kind.py)."""

    enabled: bool = True  # False answers every question as a fact
    k: int = 6  # passages the model reads (focused, as for facts)
    per_article: int = 2  # at most this many from one article while others have candidates
    max_tokens: int = 320  # a lead sentence and up to five points
    # "extractive": up to `points` sentences of the passages that answer the question between
    # them (maximal marginal relevance, at most `per_article` from one article), quoted as
    # points, then the model's short answer as the connecting line (at most
    # `extractive_tokens`). "free": the model writes a lead and the points (`max_tokens`).
    form: str = "extractive"
    extractive_tokens: int = 80
    points: int = 5  # extractive: sentences quoted (index/focus.key_sentences)
    # "Why" questions (chat/kind.py REASON) are answered as facts, with every check deciding
    # whether the passages answer them; with `reason_evidence`, an answer that passes is
    # followed by up to `points` quoted sentences from a wider, several-article retrieval.
    reason_evidence: bool = True


MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True, slots=True)
class AnswerParams:
    max_tokens: int = 200  # answers are one to three sentences; 200 tokens ~ 150 words
    max_question_chars: int = MAX_QUESTION_CHARS
    support: SupportParams = SupportParams()
    # When the model refuses although a passage matches the question this well (cosine), or
    # answers with nothing the checks keep (say, the question restated), it is asked once
    # more without the refusal option; the support check then keeps only what the passages
    # back. None turns the second pass off.
    second_pass_min_dense: float | None = 0.55
    # ... or when one passage holds this share of the question's content words (BM25 terms):
    # "Where is Middle East Eye headquartered?" scores 0.475 cosine against the passage that
    # says "headquartered in London", but every word of it is there. None turns this off.
    second_pass_min_coverage: float | None = 1.0
    # The model reads its answer back against the supporting words (chat/checks/verify.py).
    verify: bool = True
    # The checks whose rejection of an answer leads to a second pass; None: any check's. Not
    # after "grounded" or "confident": on the external set, all 10 forced second answers after
    # a grounding rejection were rejected again (evals/history/README.md, issue 13); a forced answer
    # names the same neighbour, at the cost of a second generation.
    second_pass_after: frozenset[str] | None = frozenset({"supported", "answers_the_form"})
    # When the model's last answer was rejected only by the checks of `second_pass_after` (its
    # own words are not backed: a restated question, a paraphrase no passage holds), the
    # passages' sentence closest to the question (index/focus.py `key_sentences`) is offered
    # instead, quoted verbatim with its citation, and must pass every check, flags included:
    # "In which case were French vigilantes sabotaging shipments of Spanish strawberries?" ->
    # "The French vigilantes sabotaged shipments of Spanish strawberries [1]" (the question
    # restated, rejected) -> "In Commission v France French farmer vigilantes were continually
    # sabotaging shipments of Spanish strawberries" [1]. Not after the model refuses, nor after a
    # grounding or confidence rejection: on the SQuAD dev split, most quotes there answered near
    # misses (evals/history/README.md). False: such answers are refused.
    quote_fallback: bool = True
    # The sentences tried, in passage order, until one passes every check (key_sentences, at
    # most this many, any number from one article). Against the closest sentence alone, replayed
    # with the real read-back: +1 right answer on the external set, +2 on the SQuAD check split,
    # no near miss or wrong answer let through, the reference and held-out sets unchanged.
    quote_candidates: int = 3
    analytical: AnalyticalParams = AnalyticalParams()


# Evidence after a checked answer, given the passages the model read and the answer's own
# supporting words (not quoted again): the passages it may cite (the read ones first, with
# their numbers) and the quoted sentences, numbered into them.
Evidence = Callable[[tuple[Passage, ...], tuple[str, ...]], tuple[tuple[Passage, ...], Sequence[tuple[int, str]]]]


# Streamed between an answer the checks rejected and the second pass that replaces it, so the
# reader sees why a second answer follows the first.
RETRY_NOTE = "\n\n(The passages do not back that answer; asking the model again.)\n\n"
# Streamed before the quoted sentence that replaces a rejected answer (AnswerParams.quote_fallback).
QUOTE_NOTE = "\n\n(The passages do not back that answer; quoting a passage sentence close to the question.)\n\n"

# The passages' sentences closest to the question, as (1-based passage number, sentence), in
# the order they are tried as a quote.
Quote = Callable[[], Sequence[tuple[int, str]]]


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
        verify: Verifier | None = None,
        corpus: Callable[[], PinCounts | None] = lambda: None,
        retry: Callable[[], Generation] | None = None,
        retry_after: frozenset[str] | None = None,
        kind: str = FACT,
        checks: tuple[Check, ...] = CHECKS,
        evidence: Evidence | None = None,
        quote: Quote | None = None,
    ) -> None:
        self.question = question
        self._quote = quote
        # The model's answer was rejected as not backed; the answer is a passage sentence, quoted.
        self.quoted = False
        self._evidence = evidence
        self._evidence_lines: list[str] = []  # quoted after an answer the checks kept
        self.kind = kind
        self._checks = checks
        self._retry = retry
        self._retry_after = retry_after
        # The model refused, or its answer did not pass the checks, and it was asked again
        # without the option to refuse.
        self.second_pass = False
        self._generations = [generation] if generation is not None else []
        self._source_text = source_text
        self._support = support or SupportParams()
        self._verify = verify
        self._corpus = corpus
        self.passages = tuple(passages)
        self._generation = generation
        self._started = started
        self._retrieve_s = retrieve_s
        self._pieces: list[str] = []
        self._ttft: float | None = None
        self._passes: list[str] = []  # the raw text of each finished pass
        self._iterator: PyGenerator[str, None, None] = self._iterate()
        self._answer: Answer | None = None
        self._checked: Checked | None = None

    def _iterate(self) -> PyGenerator[str, None, None]:
        yield from self._passes_()
        yield from self._quote_evidence()

    def _quote_evidence(self) -> Iterator[str]:
        """After an answer the checks keep, its evidence as quoted points (never after a refusal)."""
        if self._evidence is None or self._generation is None:
            return
        checked = self._check()
        if checked.refused:
            return
        # What the answer already rests on is not quoted again.
        cited = tuple(s.quote for s in checked.sentences if s.supported and s.quote)
        passages, quotes = self._evidence(self.passages, cited)
        # Only the passages a quote cites join the answer's; the first ones keep their numbers.
        numbers = {n: n for n in range(1, len(self.passages) + 1)}
        kept = list(self.passages)
        for n, _ in quotes:
            if n not in numbers:
                kept.append(passages[n - 1])
                numbers[n] = len(kept)
        self.passages = tuple(kept)
        self._evidence_lines = [f"- {quoted(numbers[n], sentence)}" for n, sentence in quotes]
        if self._evidence_lines:
            yield from self._emit(["\n\n" + "\n".join(self._evidence_lines)])

    def _passes_(self) -> PyGenerator[str, None, None]:
        if self._generation is None:  # nothing retrieved: refuse without asking the model
            self._ttft = time.perf_counter() - self._started
            self._pieces.append(REFUSAL)
            yield REFUSAL
            return
        # Pieces are held back while the output may still be the refusal sentence, so that a
        # refusal answered again (second pass) is never shown and then taken back.
        held = yield from self._relay(self._generation, hold=self._retry is not None)
        if self._retry is not None and self._ask_again(held):
            if not held:  # shown, then rejected by the checks: say so before the second answer
                yield from self._emit([RETRY_NOTE])
            self.second_pass = True
            self._next_pass()
            self._generation = self._retry()
            self._generations.append(self._generation)
            yield from self._relay(self._generation, hold=False)
        if self._quote is not None and self._mended_by_quote():
            yield from self._quote_instead()

    def _failing(self) -> set[str]:
        """The binding checks that reject the current answer (none for a refusal by the model)."""
        return {v.check for v in self._check().verdicts if not v.ok and v.binding}

    def _ask_again(self, held: bool) -> bool:
        """After a refusal, or an answer the checks reject for a reason a forced answer may mend."""
        if held:
            return True
        if not self._check().refused:
            return False
        failing = self._failing()
        return self._retry_after is None or not failing or bool(failing & self._retry_after)

    def _mended_by_quote(self) -> bool:
        """The model's last answer was rejected only because its own words are not backed: the
        checks of `retry_after` (the support and answer-form checks), not a refusal of the
        model's, a neighbour's name or a low estimate (AnswerParams.quote_fallback)."""
        failing = self._failing()  # empty when the answer was kept or the model refused
        return bool(failing) and (self._retry_after is None or failing <= self._retry_after)

    def _next_pass(self) -> None:
        self._passes.append("".join(self._pieces).strip())
        self._pieces = []
        self._checked = None

    def _quote_instead(self) -> Iterator[str]:
        """The first of the closest passage sentences that every check passes, quoted, in place
        of the rejected answer: the weighed signals too (a grounding flag, "the question names
        Istanbul; passage [2] does not", refuses a quote, which has no words of the model's to be
        judged by). None passing: the refusal stands."""
        assert self._quote is not None
        kept_pieces, kept_check = self._pieces, self._checked
        for n, sentence in self._quote():
            self._pieces, self._checked, self.quoted = [quoted(n, sentence)], None, True
            checked = self._check()
            if not checked.refused and all(v.ok for v in checked.verdicts):
                self._passes.append("".join(kept_pieces).strip())
                yield from self._emit([QUOTE_NOTE, *self._pieces])
                return
        self._pieces, self._checked, self.quoted = kept_pieces, kept_check, False

    def _relay(self, generation: Generation, *, hold: bool) -> PyGenerator[str, None, bool]:
        """Pass pieces on; with `hold`, keep them back while they may be the refusal sentence.

        Returns True when everything was held back: the output was the refusal (or nothing).
        """
        held: list[str] = []
        try:
            for piece in generation:
                self._pieces.append(piece)
                if hold and _may_be_refusal("".join(self._pieces)):
                    held.append(piece)
                    continue
                hold = False
                yield from self._emit([*held, piece])
                held = []
        finally:
            # Closing this stream early must end the model's generation at once, so the
            # model's lock is free for the next question (not whenever the GC runs).
            generation.close()
        return hold

    def _emit(self, pieces: Sequence[str]) -> Iterator[str]:
        for piece in pieces:
            if self._ttft is None:
                self._ttft = time.perf_counter() - self._started
            yield piece

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

    def _check(self) -> Checked:
        """The checks on the text generated so far (by the current pass), computed once."""
        if self._checked is None:
            raw = "".join(self._pieces).strip()
            self._checked = check_answer(
                raw,
                Sources(self.passages, self._source_text, self.question),
                self._support,
                refusal_logprob=self._generations[0].track_logprob if self._generations else None,
                # A quote stands in for a second answer (the calibration's `second_pass` signal).
                second_pass=self.second_pass or self.quoted,
                checks=self._checks,
                verify=self._verify,
                corpus=self._corpus(),  # built on first use, after the answer: not on the way to the first token
            )
        return self._checked

    def _finish(self) -> Answer:
        total = time.perf_counter() - self._started
        raw = "".join(self._pieces).strip()
        checked = self._check()
        text, citations = checked.text, checked.citations
        if self._evidence_lines and not checked.refused:
            text = text + "\n" + "\n".join(self._evidence_lines)
            citations = resolve(text, self.passages)
        return checked.answer(
            question=self.question,
            passages=self.passages,
            timings=Timings(self._retrieve_s, self._ttft if self._ttft is not None else total, total),
            tokens=Tokens(
                sum(g.prompt_tokens for g in self._generations),
                sum(g.completion_tokens for g in self._generations),
            ),
            raw_text=raw,
            second_pass=self.second_pass,
            text=text,
            citations=citations,
            passes=(*self._passes, raw),
            refusal_logprob=self._generations[0].track_logprob if self._generations else None,
            kind=self.kind,
            quoted=self.quoted,
        )


def _may_be_refusal(text: str) -> bool:
    """The output so far could still turn out to be exactly the refusal sentence."""
    return canonical(REFUSAL).startswith(canonical(text))


@dataclass(frozen=True, slots=True)
class Checked:
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    repaired: bool
    invalid: tuple[int, ...]
    sentences: tuple[SentenceSupport, ...]
    verdicts: tuple[Verdict, ...] = ()
    confidence: float | None = None
    draft: Draft | None = None  # what the checks judged (None for a refusal by the model)

    @property
    def verified(self) -> float | None:
        return None if self.draft is None else self.draft.verified

    def answer(
        self,
        *,
        question: str,
        passages: tuple[Passage, ...],
        timings: Timings,
        tokens: Tokens,
        raw_text: str,
        second_pass: bool,
        text: str | None = None,
        citations: tuple[Citation, ...] | None = None,
        passes: tuple[str, ...] = (),
        refusal_logprob: float | None = None,
        kind: str = FACT,
        quoted: bool = False,
    ) -> Answer:
        """The `Answer` these checks give (`text` and `citations` when something was added after
        them, such as quoted evidence)."""
        return Answer(
            question=question,
            text=self.text if text is None else text,
            citations=self.citations if citations is None else citations,
            refused=self.refused,
            passages=passages,
            timings=timings,
            tokens=tokens,
            repaired=self.repaired,
            invalid_citations=self.invalid,
            sentences=self.sentences,
            raw_text=raw_text,
            second_pass=second_pass,
            verdicts=self.verdicts,
            confidence=self.confidence,
            verified=self.verified,
            passes=passes,
            refusal_logprob=refusal_logprob,
            kind=kind,
            quoted=quoted,
        )


def check_answer(
    raw: str,
    sources: Sources,
    support: SupportParams,
    *,
    refusal_logprob: float | None = None,
    second_pass: bool = False,
    checks: tuple[Check, ...] = CHECKS,
    verify: Verifier | None = None,
    corpus: PinCounts | None = None,
) -> Checked:
    """Everything between the model's raw output and the answer a user sees.

    Markers are validated, a refusal is recognized, missing citations are attached, sentences
    no passage supports are dropped, and then every check in `checks` gives its verdict; the
    answer is refused when a binding one fails (chat/checks). Pure but for `verify`, the one
    call to the model (injected; a replay passes the recorded value), so the evaluation can
    replay it on recorded outputs (evals/replay.py).
    """
    passages, source_text, question = sources.passages, sources.source_text, sources.question
    text, invalid = clean_markers(raw, len(passages))
    if is_refusal(text):
        return Checked(REFUSAL, (), True, False, tuple(invalid), ())
    repaired = False
    if not resolve(text, passages):
        text = attach_citations(text, passages)
        repaired = True
    text, sentences = check_support(text, sources, support)
    verified = None
    if verify is not None and text:
        found = evidence(sentences, {n: p.chunk.text for n, p in enumerate(passages, start=1)})
        verified = verify(found, question, text) if found else None
    draft = Draft(
        question, text, sentences, tuple(passages), refusal_logprob, second_pass, source_text, verified, corpus
    )
    verdicts = run_checks(draft, checks)
    confidence = estimate(draft)
    if not text or not all(v.ok for v in verdicts if v.binding):
        return Checked(REFUSAL, (), True, repaired, tuple(invalid), sentences, verdicts, confidence, draft)
    return Checked(
        text, resolve(text, passages), False, repaired, tuple(invalid), sentences, verdicts, confidence, draft
    )


def check_question(question: str, limit: int = MAX_QUESTION_CHARS) -> str:
    """The question with its whitespace collapsed, or a QuestionError a person can act on.

    Checked before anything loads. Bytes that are not UTF-8 reach Python as lone surrogates
    (a command-line argument) or arrive as such from a JSON client; no tokenizer accepts them,
    so they are refused by name. Other control characters count as spaces.
    """
    bad = next((c for c in question if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise QuestionError(
            f"the question holds bytes that are not valid UTF-8 text (shown as {ascii(bad)[1:-1]}); "
            "retype it or save it as UTF-8"
        )
    question = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in question).split())
    if not question:
        raise QuestionError("the question is empty; type a question about the articles")
    if len(question) > limit:
        raise QuestionError(f"the question is {len(question)} characters long; keep it under {limit}")
    return question


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
        self._corpus_words: tuple[object, CorpusWords] | None = None

    def corpus_words(self) -> CorpusWords | None:
        """Every term of the indexed corpus, once per index (for names no article uses), and
        what the cleaner left out of its files, read only if a name is in none of the terms."""
        keyword = getattr(getattr(self.searcher, "store", None), "keyword", None)
        if keyword is None:
            return None
        if self._corpus_words is None or self._corpus_words[0] is not keyword:
            chunks = getattr(self.searcher.store, "chunks", ())
            indexed = Vocabulary.of_corpus(keyword.terms, (c.text for c in chunks))
            left_out = getattr(self.searcher.store, "left_out_text", lambda: "")
            self._corpus_words = (keyword, CorpusWords(indexed, left_out))
        return self._corpus_words[1]

    def warm_up(self, *, full_embedder: bool = False) -> None:
        """Load the models before the first question, so its latency is not the load: the
        embedder and the LLM (primed with the fixed prompt prefix; a model server is asked
        for its models). `full_embedder` loads torch for the embedder, as a long-lived server
        wants: it embeds passage sentences about twice as fast as the NumPy encoder a one-shot
        `seedqa ask` uses."""
        load = getattr(self.searcher.embedder, "load", None)
        if full_embedder and load is not None:
            load()
        self.searcher.search("warm up", replace(self.retrieval, k=1))
        self.generator.count_tokens("warm up")

    def check_question(self, question: str) -> str:
        return check_question(question, self.answering.max_question_chars)

    def _check_fits(self, messages: Sequence[Message], max_tokens: int) -> None:
        # ~4 tokens of chat-template overhead per message on top of the text itself.
        prompt = sum(self.generator.count_tokens(m.content) + 4 for m in messages)
        budget = self.generator.n_ctx - max_tokens
        if prompt > budget:
            raise QuestionError(
                f"the prompt needs {prompt} tokens but the model's context leaves {budget}; "
                "shorten the question, lower -k, or raise the context size (SEEDQA_N_CTX)"
            )

    def kind(self, question: str) -> str:
        """The question's kind (chat/kind.py); FACT for all when analytical answers are off."""
        return question_kind(question) if self.answering.analytical.enabled else FACT

    def retrieve(self, question: str, *, k: int | None = None, kind: str = FACT) -> list[Passage]:
        """The passages for a checked question, numbered as the model will read and cite them.

        Analytical kinds read more passages, at most `per_article` from one article while others
        have candidates; for a change over time the articles are in date order.
        """
        params = self.retrieval if k is None else _with_k(self.retrieval, k)
        if kind in ANALYTICAL:
            wide = self.answering.analytical
            params = replace(params, k=k or wide.k, per_article=wide.per_article)
        found = self.searcher.search(question, params)
        return arrange_by_date(found) if kind == CHANGE else arrange(found)

    def stream(self, question: str, *, k: int | None = None) -> AnswerStream:
        question = self.check_question(question)
        started = time.perf_counter()
        kind = self.kind(question)
        points = kind in ANALYTICAL
        passages = self.retrieve(question, k=k, kind=kind)
        retrieve_s = time.perf_counter() - started
        if not passages:
            return AnswerStream(question, passages, None, started, retrieve_s, kind=kind)
        wide = self.answering.analytical
        extractive = points and wide.form == "extractive"
        messages = build_messages(question, passages, points=points and not extractive)
        max_tokens = (
            (wide.extractive_tokens if extractive else wide.max_tokens) if points else self.answering.max_tokens
        )
        self._check_fits(messages, max_tokens)
        # The model's own probability of refusing is read from the same forward passes (the
        # calibrated abstention in chat/checks uses it).
        generation = self.generator.stream(messages, max_tokens=max_tokens, track=REFUSAL)
        if extractive:
            quotes = self.searcher.key_sentences(question, passages, limit=wide.points, per_article=wide.per_article)
            generation = _after_quotes(quotes, generation)
        elif points:
            generation = _until_points_repeat(generation)
        retry = None
        if not extractive and self._second_pass_allowed(question, passages):
            # Same prefix as the first prompt up to the question: llama.cpp reuses its cache,
            # so the second pass costs little more than its generation.
            forced = build_messages(question, passages, forced=True, points=points)

            def retry() -> Generation:
                return self.generator.stream(forced, max_tokens=max_tokens)

        quote = None
        if self.answering.quote_fallback and not points:

            def quote() -> Sequence[tuple[int, str]]:
                limit = self.answering.quote_candidates
                return self.searcher.key_sentences(question, passages, limit=limit, per_article=limit)

        return AnswerStream(
            question,
            passages,
            generation,
            started,
            retrieve_s,
            source_text=self.searcher.store.source_text,
            support=self.answering.support,
            # The read-back is calibrated on factoid answers; a lead and points are not one claim.
            verify=verifier(self.generator) if self.answering.verify and not points else None,
            corpus=self.corpus_words,
            retry=retry,
            retry_after=self.answering.second_pass_after,
            kind=kind,
            checks=ANALYTICAL_CHECKS if points else CHECKS,
            evidence=self._reason_evidence(question) if kind == REASON and wide.reason_evidence else None,
            quote=quote,
        )

    def _reason_evidence(self, question: str) -> Evidence:
        """Quoted evidence for a "why" answer: sentences from the read passages and a wider
        retrieval drawing on several articles, chosen as for an analytical answer."""
        wide = self.answering.analytical

        def evidence(
            read: tuple[Passage, ...], cited: tuple[str, ...]
        ) -> tuple[tuple[Passage, ...], Sequence[tuple[int, str]]]:
            shown = {p.chunk.id for p in read}
            # Quotes are chosen from whole chunks: no focusing (it would embed their sentences twice).
            params = replace(
                self.retrieval, k=wide.k, per_article=wide.per_article, focus=replace(self.retrieval.focus, margin=None)
            )
            more = [p for p in arrange(self.searcher.search(question, params)) if p.chunk.id not in shown]
            passages = (*read, *more)
            quotes = self.searcher.key_sentences(
                question, passages, limit=wide.points, per_article=wide.per_article, exclude=cited
            )
            return passages, quotes

        return evidence

    def _second_pass_allowed(self, question: str, passages: Sequence[Passage]) -> bool:
        """The passages match the question well enough to ask again after a refusal or a rejected answer."""
        dense_gate = self.answering.second_pass_min_dense
        if dense_gate is not None and max((p.dense_score or 0.0 for p in passages), default=0.0) >= dense_gate:
            return True
        coverage_gate = self.answering.second_pass_min_coverage
        terms = set(tokenize(question))
        if coverage_gate is None or not terms:
            return False
        best = max(len(terms & set(tokenize(p.chunk.text))) for p in passages)
        return best / len(terms) >= coverage_gate

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        return self.stream(question, k=k).answer()


_QUOTES = " \"'\u201c\u201d\u2018\u2019"  # a quoted sentence is not quoted twice


def quoted(n: int, sentence: str) -> str:
    """A passage sentence as the answer quotes it: “sentence” [n]."""
    return f"\u201c{sentence.strip(_QUOTES)}\u201d [{n}]"


def _after_quotes(quotes: Sequence[tuple[int, str]], generation: Generation) -> Generation:
    """The extractive form: one "- “sentence” [n]" point per article, then the model's text."""
    lines = [f"- {quoted(n, sentence)}\n" for n, sentence in quotes]

    def pieces() -> Iterator[str]:
        yield from lines
        yield from generation
        out.prompt_tokens, out.completion_tokens = generation.prompt_tokens, generation.completion_tokens
        out.track_logprob = generation.track_logprob

    out = Generation(pieces())
    inner_close = out.close

    def close() -> None:
        inner_close()
        generation.close()

    out.close = close  # type: ignore[method-assign]
    return out


MAX_POINTS = 5


def _until_points_repeat(generation: Generation) -> Generation:
    """Free-form points, cut where the model starts a sixth point or repeats a line (at
    temperature 0 the 1.5B model can loop on one point until its token budget runs out)."""

    def pieces() -> Iterator[str]:
        text = ""
        try:
            for piece in generation:
                text += piece
                lines = [canonical(line) for line in text.split("\n")]
                done = [line for line in lines[:-1] if line]  # lines already ended
                bullets = [line for line in lines if line.startswith(("-", "*"))]
                if len(bullets) > MAX_POINTS or len(set(done)) < len(done):
                    break  # the repeated line is left out by the support check
                yield piece
        finally:
            out.prompt_tokens, out.completion_tokens = generation.prompt_tokens, generation.completion_tokens
            out.track_logprob = generation.track_logprob
            generation.close()

    out = Generation(pieces())
    return out


def _with_k(params: RetrievalParams, k: int) -> RetrievalParams:
    if k < 1:
        raise QuestionError(f"-k must be at least 1, got {k}")
    return replace(params, k=k)
