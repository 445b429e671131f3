"""What the evaluation measures: judging one answer against its reference, and the summary metrics.

Definitions (docs/EVALUATION.md explains them with their denominators):

- a passage is *relevant* when its text contains one of the question's evidence quotes, compared
  after `canonical()` (NFKC, straight quotes and dashes, collapsed whitespace, lower case);
- an answer to an answerable question is *correct* when it is not a refusal and contains, for
  every answer-key group, at least one alternative (case- and accent-insensitive);
- an unanswerable question is handled correctly when it is refused.

Every metric keeps its numerator and denominator, so a summary can be checked by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chat.citations import cited_numbers, split_sentences
from chat.types import Answer
from index.text import canonical, fold
from index.types import Passage

SEARCH_K = 10  # depth of the retrieval-only search: hit@1/3/5 and MRR@10 are read from it


@dataclass(frozen=True, slots=True)
class Question:
    """One line of a reference questions file (docs/EVALUATION.md)."""

    id: str
    question: str
    answerable: bool
    evidence: tuple[str, ...]  # verbatim quotes; a passage containing one is relevant
    answer_keys: tuple[tuple[str, ...], ...]  # every group needs one alternative in the answer
    gold_sources: tuple[str, ...] = ()
    # An analytical question's expected points, each a group of alternatives; the answer
    # covers a point when it holds one of them (point coverage, separate from accuracy).
    points: tuple[tuple[str, ...], ...] = ()

    @property
    def analytical(self) -> bool:
        return bool(self.points)


@dataclass(frozen=True, slots=True)
class Result:
    """What one question produced: the answer and a deeper retrieval-only ranking, or an error."""

    id: str
    answer: Answer | None  # None when processing failed
    search: tuple[Passage, ...] = ()  # retrieval-only top SEARCH_K, independent of -k
    error: str | None = None  # "ExceptionType: message" when processing failed

    @property
    def failed(self) -> bool:
        return self.answer is None


@dataclass(frozen=True, slots=True)
class Judgment:
    """One answer judged against its reference question."""

    search_rank: int | None  # rank of the first relevant passage in the retrieval-only search
    given_rank: int | None  # ... among the passages given to the model (top k)
    correct: bool  # answerable: answered with every key group; unanswerable: refused
    missing_keys: tuple[tuple[str, ...], ...]  # key groups the answer lacks
    relevant_citations: tuple[int, ...]  # citation numbers that point at a relevant passage
    sentences: int  # sentences of a non-refused answer (0 when refused)
    uncited_sentences: int  # ... that carry no [n]
    points_covered: int = 0  # analytical questions: expected points the answer covers
    articles_cited: int = 0  # distinct articles the answer's citations come from


@dataclass(frozen=True, slots=True)
class Metric:
    value: float | None  # None when the denominator is 0
    n: int  # the denominator: how many questions/answers/citations/sentences it is over
    count: float | None = None  # the numerator, for rates; None for latencies


@dataclass(frozen=True, slots=True)
class Summary:
    n_questions: int
    n_answerable: int
    n_unanswerable: int
    n_failed: int
    metrics: dict[str, Metric]  # keys and order as in METRICS
    run: dict[str, Any] = field(default_factory=dict)  # models, k, date: filled in by the caller
    # check name -> {"answerable": n, "unanswerable": n, "alone": n}: answers each check rejected
    # ("alone": the only check that failed), so a check that fires on one question shows
    rejections: dict[str, dict[str, int]] = field(default_factory=dict)
    # (threshold, coverage, accuracy of the answered) as the confidence threshold varies
    risk_coverage: tuple[tuple[float, float, float | None], ...] = ()


# key -> (label, what it is over). The order is the order of every table.
METRICS: dict[str, tuple[str, str]] = {
    "hit_at_1": ("retrieval hit@1", "answerable questions with evidence (retrieval-only search)"),
    "hit_at_3": ("retrieval hit@3", "answerable questions with evidence (retrieval-only search)"),
    "hit_at_5": ("retrieval hit@5", "answerable questions with evidence (retrieval-only search)"),
    "mrr": ("retrieval MRR@10", "answerable questions with evidence (retrieval-only search)"),
    "hit_at_k": ("hit in the passages given to the model", "answerable questions with evidence"),
    "accuracy": ("answer accuracy", "answerable questions"),
    "accuracy_all": ("accuracy incl. correct refusals", "all questions"),
    "citation_hit_rate": ("citation hit rate", "answered answerable questions with evidence"),
    "citation_precision": ("citation precision", "citations in answers to answerable questions"),
    "uncited_sentence_share": ("sentences without a citation", "sentences of non-refused answers"),
    "invalid_citations_per_answer": ("invalid citation numbers per answer", "answers"),
    "repaired_share": ("answers with citations attached afterwards", "non-refused answers"),
    "second_pass_share": ("answers from a second pass (model asked again)", "answers"),
    "quoted_share": ("answers quoting a passage sentence (the model's words not backed)", "answers"),
    "refusal_recall": ("refusal recall", "unanswerable questions"),
    "false_refusal_rate": ("false-refusal rate", "answerable questions"),
    "retrieve_median_s": ("retrieval, median (s)", "answers"),
    "ttft_median_s": ("time to first token, median (s)", "answers"),
    "ttft_p90_s": ("time to first token, p90 (s)", "answers"),
    "total_median_s": ("total latency, median (s)", "answers"),
    "total_p90_s": ("total latency, p90 (s)", "answers"),
    "tokens_per_s_median": ("generation tokens/s, median", "answers with generated tokens"),
    "point_coverage": ("analytical: point coverage (mean share)", "analytical questions"),
    "multi_article_share": ("analytical: answers citing >= 2 articles", "analytical questions"),
    "analytical_refused": ("analytical: refused", "analytical questions"),
    "analytical_dropped_share": ("analytical: model sentences dropped as unsupported", "sentences the model wrote"),
    "analytical_ttft_median_s": ("analytical: time to first token, median (s)", "analytical questions"),
    "analytical_total_median_s": ("analytical: total latency, median (s)", "analytical questions"),
}
LATENCY = frozenset(k for k in METRICS if k.endswith("_s") or k.startswith("tokens_per_s"))

_MARKER = re.compile(r"\[\d+\]")


def is_relevant(passage_text: str, evidence: Sequence[str]) -> bool:
    text = canonical(passage_text)
    return any(canonical(quote) in text for quote in evidence)


def first_relevant_rank(passages: Sequence[Passage], evidence: Sequence[str]) -> int | None:
    """1-based position of the first relevant passage, in the order given; None if none is."""
    for position, passage in enumerate(passages, start=1):
        if is_relevant(passage.chunk.text, evidence):
            return position
    return None


def _matchable(text: str) -> str:
    # "Erdoğan’s" and "erdogan's" compare equal; "[2]" must not satisfy the answer key "2".
    return fold(canonical(_MARKER.sub(" ", text)))


def missing_key_groups(answer_text: str, answer_keys: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    text = _matchable(answer_text)
    return tuple(tuple(group) for group in answer_keys if not any(_matchable(alt) in text for alt in group))


def judge(question: Question, answer: Answer, search: Sequence[Passage] = ()) -> Judgment:
    missing = missing_key_groups(answer.text, question.answer_keys)
    # Unanswerable: correct when refused. Answerable: answered, with every key group.
    correct = (not answer.refused and not missing) if question.answerable else answer.refused
    sentences = [] if answer.refused else split_sentences(answer.text)
    evidence = question.evidence
    return Judgment(
        search_rank=first_relevant_rank(search, evidence) if evidence else None,
        given_rank=first_relevant_rank(answer.passages, evidence) if evidence else None,
        correct=correct,
        missing_keys=missing,
        relevant_citations=tuple(c.n for c in answer.citations if evidence and is_relevant(c.text, evidence)),
        sentences=len(sentences),
        uncited_sentences=sum(1 for s in sentences if not cited_numbers(s)),
        points_covered=0
        if answer.refused
        else len(question.points) - len(missing_key_groups(answer.text, question.points)),
        articles_cited=len({c.source for c in answer.citations}),
    )


def _rate(count: float, n: int) -> Metric:
    return Metric(count / n if n else None, n, count)


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default): p90 of 1..10 is 9.1."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _latency(values: Sequence[float], q: float) -> Metric:
    return Metric(_quantile(values, q), len(values))


def summarize(results: Sequence[Result], questions: Sequence[Question]) -> Summary:
    """The summary over `results` (failed ones are counted in n_failed and left out of the rest)."""
    by_id = {q.id: q for q in questions}
    unknown = [r.id for r in results if r.id not in by_id]
    if unknown:
        raise ValueError(f"results for unknown question ids: {unknown[:5]}")
    done = [(by_id[r.id], r.answer, judge(by_id[r.id], r.answer, r.search)) for r in results if r.answer]
    answerable = [(q, a, j) for q, a, j in done if q.answerable]
    unanswerable = [(q, a, j) for q, a, j in done if not q.answerable]
    with_evidence = [(q, a, j) for q, a, j in answerable if q.evidence]
    answered = [(q, a, j) for q, a, j in with_evidence if not a.refused]
    not_refused = [(q, a, j) for q, a, j in done if not a.refused]

    def hit(rank: int | None, at: int) -> bool:
        return rank is not None and rank <= at

    search_ranks = [j.search_rank for _, _, j in with_evidence]
    answers = [a for _, a, _ in done]
    tokens_per_s = [
        a.tokens.completion / (a.timings.total_s - a.timings.ttft_s)
        for a in answers
        if a.tokens.completion > 0 and a.timings.total_s > a.timings.ttft_s
    ]
    metrics = {
        "hit_at_1": _rate(sum(hit(r, 1) for r in search_ranks), len(search_ranks)),
        "hit_at_3": _rate(sum(hit(r, 3) for r in search_ranks), len(search_ranks)),
        "hit_at_5": _rate(sum(hit(r, 5) for r in search_ranks), len(search_ranks)),
        "mrr": _rate(sum(1 / r for r in search_ranks if r is not None and r <= SEARCH_K), len(search_ranks)),
        "hit_at_k": _rate(sum(j.given_rank is not None for _, _, j in with_evidence), len(with_evidence)),
        "accuracy": _rate(sum(j.correct for _, _, j in answerable), len(answerable)),
        "accuracy_all": _rate(sum(j.correct for _, _, j in done), len(done)),
        "citation_hit_rate": _rate(sum(bool(j.relevant_citations) for _, _, j in answered), len(answered)),
        "citation_precision": _rate(
            sum(len(j.relevant_citations) for _, _, j in answered),
            sum(len(a.citations) for _, a, _ in answered),
        ),
        "uncited_sentence_share": _rate(
            sum(j.uncited_sentences for _, _, j in not_refused), sum(j.sentences for _, _, j in not_refused)
        ),
        "invalid_citations_per_answer": _rate(sum(len(a.invalid_citations) for a in answers), len(answers)),
        "repaired_share": _rate(sum(a.repaired for _, a, _ in not_refused), len(not_refused)),
        "second_pass_share": _rate(sum(a.second_pass for a in answers), len(answers)),
        "quoted_share": _rate(sum(a.quoted for a in answers), len(answers)),
        "refusal_recall": _rate(sum(a.refused for _, a, _ in unanswerable), len(unanswerable)),
        "false_refusal_rate": _rate(sum(a.refused for _, a, _ in answerable), len(answerable)),
        "retrieve_median_s": _latency([a.timings.retrieve_s for a in answers], 0.5),
        "ttft_median_s": _latency([a.timings.ttft_s for a in answers], 0.5),
        "ttft_p90_s": _latency([a.timings.ttft_s for a in answers], 0.9),
        "total_median_s": _latency([a.timings.total_s for a in answers], 0.5),
        "total_p90_s": _latency([a.timings.total_s for a in answers], 0.9),
        "tokens_per_s_median": _latency(tokens_per_s, 0.5),
    }
    metrics.update(_analytical_metrics(done))
    assert list(metrics) == list(METRICS)
    asked = [by_id[r.id] for r in results]
    return Summary(
        n_questions=len(results),
        n_answerable=sum(q.answerable for q in asked),
        n_unanswerable=sum(not q.answerable for q in asked),
        n_failed=sum(r.failed for r in results),
        metrics=metrics,
        rejections=rejections([(q, a) for q, a, _ in done]),
        risk_coverage=risk_coverage([(q, a) for q, a, _ in done]),
    )


def _analytical_metrics(done: Sequence[tuple[Question, Answer, Judgment]]) -> dict[str, Metric]:
    """Point coverage, articles cited, refusals, dropped sentences and latency of analytical questions."""
    rows = [(q, a, j) for q, a, j in done if q.analytical]
    written = [s for _, a, _ in rows for s in a.sentences]
    return {
        "point_coverage": _rate(sum(j.points_covered / len(q.points) for q, _, j in rows), len(rows)),
        "multi_article_share": _rate(sum(j.articles_cited >= 2 for _, _, j in rows), len(rows)),
        "analytical_refused": _rate(sum(a.refused for _, a, _ in rows), len(rows)),
        "analytical_dropped_share": _rate(sum(not s.supported for s in written), len(written)),
        "analytical_ttft_median_s": _latency([a.timings.ttft_s for _, a, _ in rows], 0.5),
        "analytical_total_median_s": _latency([a.timings.total_s for _, a, _ in rows], 0.5),
    }


def rejections(done: Sequence[tuple[Question, Answer]]) -> dict[str, dict[str, int]]:
    """Per answer check, how many answers it rejected (or, for a signal, flagged), on answerable
    and unanswerable questions."""
    counts: dict[str, dict[str, int]] = {}
    for question, answer in done:
        failing = [v.check for v in answer.verdicts if not v.ok and v.binding]
        for v in answer.verdicts:
            row = counts.setdefault(v.check, {"answerable": 0, "unanswerable": 0, "alone": 0})
            if not v.ok:
                row["answerable" if question.answerable else "unanswerable"] += 1
                row["alone"] += failing == [v.check] or (not v.binding and not failing)
    return counts


CONFIDENCE_CHECK = "confident"  # chat/checks/confidence.py: the check the curve varies


def draft_text(answer: Answer) -> str:
    """The answer the checks judged (its supported sentences), even when a check refused it."""
    return " ".join(s.text for s in answer.sentences if s.supported)


def risk_coverage(done: Sequence[tuple[Question, Answer]]) -> tuple[tuple[float, float, float | None], ...]:
    """Accuracy of the answered questions against the share answered, as the confidence threshold
    varies: (threshold, coverage, accuracy) from the strictest to answering all that the other
    checks let through. Refusals by the model or by another check are never answered."""
    if not done:
        return ()
    candidates = []
    for question, answer in done:
        others_ok = all(v.ok for v in answer.verdicts if v.check != CONFIDENCE_CHECK and v.binding)
        if answer.confidence is None or not answer.verdicts or not others_ok:
            continue
        right = question.answerable and not missing_key_groups(draft_text(answer), question.answer_keys)
        candidates.append((answer.confidence, right))
    candidates.sort(key=lambda c: -c[0])
    points = []
    right_so_far = 0
    for i, (threshold, right) in enumerate(candidates, start=1):
        right_so_far += right
        if i < len(candidates) and candidates[i][0] == threshold:
            continue  # ties: one point per distinct threshold
        points.append((round(threshold, 4), round(i / len(done), 4), round(right_so_far / i, 4)))
    return tuple(points)


def summary_to_dict(summary: Summary) -> dict[str, Any]:
    """The stable JSON form of a summary (summary.json); values rounded to 4 decimals."""

    def rounded(x: float | None) -> float | None:
        return None if x is None else round(x, 4)

    return {
        "n_questions": summary.n_questions,
        "n_answerable": summary.n_answerable,
        "n_unanswerable": summary.n_unanswerable,
        "n_failed": summary.n_failed,
        "metrics": {
            key: {"value": rounded(m.value), "count": rounded(m.count), "n": m.n} for key, m in summary.metrics.items()
        },
        "rejections": summary.rejections,
        "risk_coverage": [list(point) for point in summary.risk_coverage],
        "run": summary.run,
    }


def check_thresholds(summary: dict[str, Any], thresholds: dict[str, Any]) -> list[str]:
    """One line per threshold the summary misses; [] when all are met.

    `thresholds` is {"min": {name: bound}, "max": {name: bound}}; a name is a metric key or a
    top-level count of the summary (n_questions, n_failed). Unknown names fail, so a typo in
    the thresholds file cannot silently disable a check.
    """
    failures: list[str] = []
    unknown_sections = set(thresholds) - {"min", "max", "comment"}
    if unknown_sections:
        failures.append(f"thresholds: unknown sections {sorted(unknown_sections)} (use 'min' and 'max')")
    for direction in ("min", "max"):
        for name, bound in thresholds.get(direction, {}).items():
            if name in summary.get("metrics", {}):
                metric = summary["metrics"][name]
                value, detail = metric["value"], _detail(metric)
            elif isinstance(summary.get(name), int):
                value, detail = summary[name], ""
            else:
                failures.append(f"{name}: not in the summary (unknown metric in the thresholds file?)")
                continue
            if value is None:
                failures.append(f"{name}: no value (nothing to measure it over){detail}")
            elif direction == "min" and value < bound:
                failures.append(f"{name} = {value:.4g}{detail} is below the minimum {bound}")
            elif direction == "max" and value > bound:
                failures.append(f"{name} = {value:.4g}{detail} is above the maximum {bound}")
    return failures


def _detail(metric: dict[str, Any]) -> str:
    if metric.get("count") is None:
        return f" (n = {metric['n']})"
    return f" ({metric['count']:g}/{metric['n']})"
