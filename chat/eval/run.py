"""Run reference questions through one pipeline and record each outcome (`seedqa eval`).

`evaluate(pipeline, questions)` asks every question through the same `ask()` the CLI and web
UI use, plus a retrieval-only search `SEARCH_K` deep (cheap: no LLM) so hit@5 and MRR do not
depend on how many passages the model is given. A question that fails is recorded with its
error and the run goes on. `run_cli` is the command: load and check the questions file, build
the models once, evaluate with a progress bar, write results, print the summary, write the report.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from chat import version
from chat.ask import Pipeline
from chat.errors import ChatError
from chat.eval.metrics import SEARCH_K, Question, Result, judge, summarize
from chat.serialize import answer_to_dict
from chat.settings import Settings
from index.focus import FocusParams
from index.text import utf8_json

REQUIRED = ("id", "question", "answerable", "evidence", "answer_keys")


class EvalFileError(ChatError):
    """A questions, thresholds or output file of the evaluation cannot be used."""


class QuestionsFileError(EvalFileError):
    """The reference questions file is missing or has a bad line."""


def load_questions(path: Path) -> list[Question]:
    """Read and check a questions JSONL file (docs/EVALUATION.md); blank lines are skipped."""
    text = _read_text(path, QuestionsFileError, "questions file", "pass a JSONL file with one question per line")
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionsFileError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        question = _parse_question(record, where)
        if question.id in first_line:
            raise QuestionsFileError(
                f"{where}: duplicate id {question.id!r} (first used on line {first_line[question.id]})"
            )
        first_line[question.id] = number
        questions.append(question)
    if not questions:
        raise QuestionsFileError(f"no questions in {path}; write one JSON object per line (docs/EVALUATION.md)")
    return questions


def _parse_question(record: Any, where: str) -> Question:
    if not isinstance(record, dict):
        raise QuestionsFileError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [name for name in REQUIRED if name not in record]
    if missing:
        raise QuestionsFileError(f"{where}: missing field {missing[0]!r} (required: {', '.join(REQUIRED)})")

    def fail(field: str, expected: str) -> QuestionsFileError:
        return QuestionsFileError(f"{where}: field {field!r} must be {expected}, got {record[field]!r:.60}")

    def strings(field: str) -> tuple[str, ...]:
        value = record.get(field, [])
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            raise fail(field, "a list of non-empty strings")
        return tuple(value)

    if not isinstance(record["id"], str) or not record["id"].strip():
        raise fail("id", "a non-empty string")
    if not isinstance(record["question"], str) or not record["question"].strip():
        raise fail("question", "a non-empty string")
    if not isinstance(record["answerable"], bool):
        raise fail("answerable", "true or false")

    def groups(name: str, example: str) -> tuple[tuple[str, ...], ...]:
        value = record.get(name, [])
        if not isinstance(value, list) or not all(
            isinstance(group, list) and group and all(isinstance(s, str) and s.strip() for s in group)
            for group in value
        ):
            raise fail(name, f"a list of groups of alternatives, e.g. {example}")
        return tuple(tuple(group) for group in value)

    keys = groups("answer_keys", '[["59"], ["Idlib", "Syria"]]')
    points = groups("points", '[["s-400", "missile system"], ["idlib"]]')
    if "kind" in record and record["kind"] not in ("fact", "analytical"):
        raise fail("kind", '"fact" or "analytical" (analytical questions list their expected "points")')
    if record.get("kind") == "analytical" and not points:
        raise fail("points", "a non-empty list for an analytical question")
    return Question(
        id=record["id"],
        question=record["question"],
        answerable=record["answerable"],
        evidence=strings("evidence"),
        answer_keys=keys,
        gold_sources=strings("gold_sources") if "gold_sources" in record else (),
        points=points,
    )


def load_thresholds(path: Path) -> dict[str, Any]:
    text = _read_text(path, EvalFileError, "thresholds file", 'write {"min": {...}, "max": {...}}')
    try:
        thresholds = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(thresholds, dict) or not all(isinstance(thresholds.get(d, {}), dict) for d in ("min", "max")):
        raise EvalFileError(f'{path}: expected {{"min": {{metric: bound}}, "max": {{metric: bound}}}}')
    return thresholds


def _read_text(path: Path, error: type[ChatError], what: str, hint: str) -> str:
    if not path.exists():
        raise error(f"no {what} at {path}; {hint}")
    try:
        return path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a {what}") from None
    except UnicodeDecodeError:
        raise error(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}") from None


def evaluate(
    pipeline: Pipeline,
    questions: Sequence[Question],
    *,
    progress: bool = False,
    on_result: Callable[[Question, Result], None] = lambda question, result: None,
) -> list[Result]:
    """Ask every question in order; a question that raises is recorded as failed, not fatal."""
    from tqdm import tqdm

    pipeline.warm_up()  # a model that cannot load fails here, once, instead of per question
    # Ranks only: focusing would embed the sentences of all SEARCH_K passages for nothing.
    deep = replace(pipeline.retrieval, k=max(SEARCH_K, pipeline.retrieval.k), focus=FocusParams(margin=None))
    results: list[Result] = []
    bar = tqdm(questions, desc="questions", unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    for question in bar:
        try:
            answer = pipeline.ask(question.question)
            search = tuple(pipeline.searcher.search(answer.question, deep))
            result = Result(question.id, answer, search)
        except Exception as exc:  # recorded, the run goes on (KeyboardInterrupt still stops it)
            result = Result(question.id, None, error=f"{type(exc).__name__}: {exc}".strip())
        results.append(result)
        on_result(question, result)
        bar.set_postfix(failed=sum(r.failed for r in results), refresh=False)
    return results


def result_to_dict(question: Question, result: Result) -> dict[str, Any]:
    """One line of RESULTS.jsonl: id, status, error, the answer as in docs/JSON.md, search, judgment."""
    head: dict[str, Any] = {
        "id": question.id,
        "status": "failed" if result.failed else "ok",
        "error": result.error,
    }
    if result.answer is None:
        return head | {
            "question": question.question, "answer": None, "refused": None, "repaired": None,
            "citations": [], "invalid_citations": [], "sentences": [], "raw_answer": None, "second_pass": None,
            "quoted": None, "passes": [], "refusal_logprob": None, "verdicts": [], "confidence": None,
            "verified": None, "kind": None,
            "retrieved": [], "timings": None, "tokens": None,
            "search": [], "judgment": None,
        }  # fmt: skip
    judgment = judge(question, result.answer, result.search)
    return (
        head
        | answer_to_dict(result.answer)
        | {
            "search": [
                {"rank": p.rank, "source": p.chunk.source, "chunk_id": p.chunk.id, "score": round(p.score, 6)}
                for p in result.search
            ],
            "judgment": {
                "correct": judgment.correct,
                "search_rank": judgment.search_rank,
                "given_rank": judgment.given_rank,
                "missing_keys": [list(group) for group in judgment.missing_keys],
                "relevant_citations": list(judgment.relevant_citations),
                "sentences": judgment.sentences,
                "uncited_sentences": judgment.uncited_sentences,
            },
        }
    )


def json_line(record: dict[str, Any]) -> str:
    """One JSONL line (index/text.py utf8_json: a lone surrogate in a question is written as a
    JSON escape, so the line is still written and loads back)."""
    return utf8_json(record) + "\n"


def _open_for_writing(path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise EvalFileError(f"cannot write {path}: {exc.strerror}") from None


def _confidence_threshold() -> float | None:
    from chat.checks.confidence import calibration

    model = calibration()
    return None if model is None else model.threshold


def run_cli(
    settings: Settings,
    questions_path: Path,
    *,
    out: Path | None = None,
    report: Path | None = None,
    limit: int | None = None,
    notify: Callable[[str], None] = lambda message: None,
) -> None:
    """`seedqa eval`: every output path is checked before the models load (minutes, not hours)."""
    from chat.app import build_pipeline
    from chat.eval.report import format_table, write_report

    questions = load_questions(questions_path)
    if limit is not None:
        if limit < 1:
            raise ChatError(f"--limit must be at least 1, got {limit}")
        questions = questions[:limit]
    # Thresholds live beside the questions (evals/thresholds.json); shown in the table and chart.
    thresholds_path = questions_path.parent / "thresholds.json"
    thresholds = load_thresholds(thresholds_path) if thresholds_path.exists() else {}
    if report is not None:
        try:
            report.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvalFileError(f"cannot create the report folder {report}: {exc.strerror}") from None
    sink = _open_for_writing(out) if out is not None else None

    def write(question: Question, result: Result) -> None:
        if sink is not None:  # line by line: an interrupted run keeps what it finished
            sink.write(json_line(result_to_dict(question, result)))
            sink.flush()

    started = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        notify(f"evaluating {len(questions)} questions from {questions_path} (k = {settings.retrieval.k})")
        pipeline = build_pipeline(settings, notify=notify, progress=True)
        results = evaluate(pipeline, questions, progress=True, on_result=write)
    finally:
        if sink is not None:
            sink.close()
    summary = replace(
        summarize(results, questions),
        run={
            "questions_file": str(questions_path),
            "limit": limit,
            "corpus": str(settings.corpus),
            "k": pipeline.retrieval.k,
            "search_k": max(SEARCH_K, pipeline.retrieval.k),
            "embedder": pipeline.searcher.embedder.model_id,
            "generator": pipeline.generator.model_id,
            "n_threads": settings.generator.n_threads,
            "seedqa_version": version(),
            "confidence_threshold": _confidence_threshold(),
            "started": started.isoformat(timespec="seconds"),
            "wall_s": round(time.perf_counter() - clock, 1),
        },
    )
    print(format_table(summary, thresholds))
    if out is not None:
        notify(f"results: {out}")
    if report is not None:
        paths = write_report(report, summary, results, questions, thresholds)
        notify(f"report: {', '.join(str(p) for p in paths)}")
    if summary.n_failed:
        notify(
            f"warning: {summary.n_failed} of {summary.n_questions} questions failed; "
            'their results lines have status "failed" and the error'
        )
