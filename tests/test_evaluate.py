"""The evaluation harness on fakes: metrics on hand-made results, files written, thresholds, errors."""

from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner

import chat.app
from chat.citations import resolve
from chat.cli import main
from chat.eval.metrics import (
    METRICS,
    Question,
    Result,
    check_thresholds,
    is_relevant,
    judge,
    summarize,
    summary_to_dict,
)
from chat.eval.report import format_table, write_report
from chat.eval.run import QuestionsFileError, evaluate, load_questions, result_to_dict, run_cli
from chat.prompt import REFUSAL
from chat.settings import Settings
from chat.types import Answer, Timings, Tokens
from index.types import Chunk, Passage
from tests.conftest import ROOT

EVIDENCE = "the bridge will cost 40 million euros"
RELEVANT = "Officials said on Monday that the bridge will cost 40 million euros in all."


def passage(rank: int, text: str = "") -> Passage:
    text = text or f"Unrelated filler text number {rank} about ferries."
    start = rank * 1000
    chunk = Chunk(f"a.txt:{start}-{start + len(text)}", "a.txt", "Title", None, start, start + len(text), text)
    return Passage(chunk, rank, 1 / (60 + rank), None, None)


def ranking(relevant_at: int | None, depth: int = 10) -> tuple[Passage, ...]:
    return tuple(passage(r, RELEVANT if r == relevant_at else "") for r in range(1, depth + 1))


def make_answer(
    text: str,
    passages: tuple[Passage, ...] = (),
    *,
    refused: bool = False,
    invalid: tuple[int, ...] = (),
    timings: tuple[float, float, float] = (0.1, 1.0, 2.0),
    tokens: tuple[int, int] = (500, 10),
) -> Answer:
    passages = passages or ranking(1, depth=4)
    return Answer(
        question="q",
        text=REFUSAL if refused else text,
        citations=() if refused else resolve(text, passages),
        refused=refused,
        passages=passages,
        timings=Timings(*timings),
        tokens=Tokens(*tokens),
        invalid_citations=invalid,
    )


def question(qid: str, *, answerable: bool = True, keys: tuple[tuple[str, ...], ...] = (("40 million",),)) -> Question:
    if not answerable:
        return Question(qid, f"question {qid}?", False, (), ())
    return Question(qid, f"question {qid}?", True, (EVIDENCE,), keys)


def test_relevance_ignores_quotes_case_and_whitespace():
    assert is_relevant("He said\n\u201cwe  will\u00a0WIN\u201d today.", ['said "we will win"'])
    assert not is_relevant("He said we might win.", ['said "we will win"'])


def test_hits_and_mrr_from_known_ranks():
    questions = [question(f"q{i}") for i in range(4)]
    ranks = [1, 3, 7, None]  # MRR@10 = (1 + 1/3 + 1/7 + 0) / 4
    results = [
        Result(q.id, make_answer("It costs 40 million euros [1]."), ranking(r))
        for q, r in zip(questions, ranks, strict=True)
    ]
    metrics = summarize(results, questions).metrics
    assert metrics["hit_at_1"].value == pytest.approx(1 / 4)
    assert metrics["hit_at_3"].value == pytest.approx(2 / 4)
    assert metrics["hit_at_5"].value == pytest.approx(2 / 4)
    assert metrics["mrr"].value == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)
    assert metrics["mrr"].n == 4


def test_accuracy_matches_every_key_group_case_and_accent_insensitively():
    keys = (("Erdogan",), ("coup", "putsch"))
    q = question("a", keys=keys)
    assert judge(q, make_answer("ERDOĞAN’s reaction to the failed Putsch [1].")).correct
    missing = judge(q, make_answer("Erdogan was upset [1]."))
    assert not missing.correct and missing.missing_keys == (("coup", "putsch"),)
    # A citation marker is not an answer: "[2]" does not satisfy the key "2".
    assert not judge(question("b", keys=(("2",),)), make_answer("Two of them [2].")).correct
    assert not judge(q, make_answer("", refused=True)).correct


def test_refusals_are_scored_by_kind_of_question():
    questions = [
        question("a1"),
        question("a2"),
        question("u1", answerable=False),
        question("u2", answerable=False),
    ]
    answers = [
        make_answer("It costs 40 million euros [1]."),
        make_answer("", refused=True),  # false refusal
        make_answer("", refused=True),  # correct refusal
        make_answer("It is 3 km long [2]."),  # answered the unanswerable
    ]
    summary = summarize([Result(q.id, a) for q, a in zip(questions, answers, strict=True)], questions)
    m = summary.metrics
    assert (m["refusal_recall"].count, m["refusal_recall"].n) == (1, 2)
    assert (m["false_refusal_rate"].count, m["false_refusal_rate"].n) == (1, 2)
    assert (m["accuracy"].count, m["accuracy"].n) == (1, 2)
    assert (m["accuracy_all"].count, m["accuracy_all"].n) == (2, 4)
    assert (summary.n_answerable, summary.n_unanswerable) == (2, 2)


def test_citation_metrics_and_invalid_numbers():
    given = (passage(1, RELEVANT), passage(2), passage(3), passage(4))
    questions = [question("a"), question("b"), question("c"), question("u", answerable=False)]
    answers = [
        # 2 sentences, both cited; cites the relevant [1] and an irrelevant [2]; the model also cited [7].
        make_answer("It costs 40 million euros [1]. The region pays [2].", given, invalid=(7,)),
        # 2 sentences, the second uncited; cites only an irrelevant passage.
        make_answer("It costs 40 million euros [3]. Nobody objected.", given, invalid=(5, 9)),
        make_answer("", given, refused=True),  # refused: no sentences, left out of citation metrics
        make_answer("Three sentences here [4]. Two. One.", given),  # unanswerable: counts only for sentences
    ]
    m = summarize([Result(q.id, a) for q, a in zip(questions, answers, strict=True)], questions).metrics
    assert (m["citation_hit_rate"].count, m["citation_hit_rate"].n) == (1, 2)
    assert (m["citation_precision"].count, m["citation_precision"].n) == (1, 3)
    assert (m["uncited_sentence_share"].count, m["uncited_sentence_share"].n) == (3, 7)
    assert (m["invalid_citations_per_answer"].count, m["invalid_citations_per_answer"].n) == (3, 4)
    assert (m["hit_at_k"].count, m["hit_at_k"].n) == (3, 3)


def test_second_passes_are_counted_over_all_answers():
    from dataclasses import replace

    questions = [question("a"), question("b"), question("u", answerable=False)]
    answers = [
        replace(make_answer("It costs 40 million euros [1]."), second_pass=True),
        make_answer("It costs 40 million euros [1]."),
        replace(make_answer("", refused=True), second_pass=True),  # asked again, still refused
    ]
    m = summarize([Result(q.id, a) for q, a in zip(questions, answers, strict=True)], questions).metrics
    assert (m["second_pass_share"].count, m["second_pass_share"].n) == (2, 3)


def test_latency_quantiles_and_tokens_per_second():
    questions = [question(f"q{i}") for i in range(1, 11)]
    # ttft 1..10 s; generation always 2 s; 10 tokens -> 5 tokens/s.
    results = [
        Result(q.id, make_answer("40 million [1].", timings=(0.1, float(i), i + 2.0), tokens=(500, 10)))
        for i, q in enumerate(questions, start=1)
    ]
    m = summarize(results, questions).metrics
    assert m["ttft_median_s"].value == pytest.approx(5.5)
    assert m["ttft_p90_s"].value == pytest.approx(9.1)  # linear interpolation, as numpy
    assert m["total_p90_s"].value == pytest.approx(11.1)
    assert m["tokens_per_s_median"].value == pytest.approx(5.0)
    assert m["retrieve_median_s"].value == pytest.approx(0.1) and m["retrieve_median_s"].n == 10


def test_failed_questions_are_counted_and_left_out_of_metrics():
    questions = [question("ok"), question("bad"), question("u", answerable=False)]
    results = [
        Result("ok", make_answer("It costs 40 million euros [1].")),
        Result("bad", None, error="RuntimeError: boom"),
        Result("u", make_answer("", refused=True)),
    ]
    summary = summarize(results, questions)
    assert (summary.n_questions, summary.n_failed) == (3, 1)
    assert (summary.metrics["accuracy"].count, summary.metrics["accuracy"].n) == (1, 1)
    assert summary.metrics["ttft_median_s"].n == 2
    data = summary_to_dict(summary)
    assert list(data["metrics"]) == list(METRICS)
    assert all(set(v) == {"value", "count", "n"} for v in data["metrics"].values())


def test_an_empty_denominator_gives_no_value():
    summary = summarize([Result("u", make_answer("", refused=True))], [question("u", answerable=False)])
    assert summary.metrics["accuracy"].value is None and summary.metrics["accuracy"].n == 0
    assert "-" in format_table(summary)


# evaluate() and the results file, on the fake pipeline.

FAKE_QUESTIONS = [
    Question(
        "cost",
        "How much does the bridge cost?",
        True,
        ("expected to cost 40 million euros",),
        (("40 million",),),
    ),
    Question("long", "x" * 1001, True, ("expected to cost 40 million euros",), (("40",),)),  # too long: fails
    Question("brexit", "What did the mayor say about Brexit?", False, (), ()),
]


def test_evaluate_records_a_failure_and_goes_on(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, ["It costs 40 million euros [1].", "The articles do not say."])
    depths: list[int] = []
    search = pipeline.searcher.search
    pipeline.searcher.search = lambda query, params: depths.append(params.k) or search(query, params)
    seen: list[str] = []
    results = evaluate(pipeline, FAKE_QUESTIONS, on_result=lambda q, r: seen.append(q.id))
    assert seen == ["cost", "long", "brexit"]
    assert [r.failed for r in results] == [False, True, False]
    assert results[1].error.startswith("QuestionError: the question is 1001 characters long")
    # warm-up, then per answered question: ask() at k = 3 and the retrieval-only search 10 deep.
    assert depths == [1, 3, 10, 3, 10]
    assert len(results[0].search) == len(pipeline.searcher.store.chunks)  # the tiny corpus has 3
    assert len(generator.prompts) == 2  # the failed question never reached the model
    assert results[2].answer.refused


def test_results_lines_follow_the_schema(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, ["It costs 40 million euros [1]."])
    results = evaluate(pipeline, FAKE_QUESTIONS)
    ok, failed = (
        json.loads(json.dumps(result_to_dict(q, r))) for q, r in zip(FAKE_QUESTIONS[:2], results[:2], strict=True)
    )
    assert set(ok) == set(failed)
    assert {
        "id",
        "status",
        "error",
        "question",
        "answer",
        "refused",
        "citations",
        "retrieved",
        "timings",
        "tokens",
    } <= set(ok)
    assert (ok["id"], ok["status"], ok["error"]) == ("cost", "ok", None)
    assert set(ok["citations"][0]) >= {"n", "source", "chunk_id", "start", "end", "text"}
    assert sorted(p["rank"] for p in ok["retrieved"]) == [1, 2, 3]  # in the order the model read them
    assert set(ok["retrieved"][0]) >= {"rank", "source", "chunk_id", "score", "text"}
    assert set(ok["timings"]) == {"retrieve_s", "ttft_s", "total_s"} and set(ok["tokens"]) == {
        "prompt",
        "completion",
    }
    assert ok["judgment"]["correct"] is True and [p["rank"] for p in ok["search"]] == [1, 2, 3]
    assert (failed["status"], failed["answer"], failed["judgment"]) == ("failed", None, None)
    assert failed["error"].startswith("QuestionError:")


def test_report_files_are_written(tmp_path):
    questions = [question("a"), question("b"), question("u", answerable=False)]
    results = [
        Result("a", make_answer("It costs 40 million euros [1]."), ranking(2)),
        Result("b", make_answer("It is free [2]."), ranking(None)),
        Result("u", None, error="RuntimeError: boom"),
    ]
    summary = summarize(results, questions)
    paths = write_report(tmp_path / "rep", summary, results, questions, {"min": {"accuracy": 0.9}})
    assert sorted(p.name for p in paths) == ["chart.png", "report.md", "risk_coverage.png", "summary.json"]
    assert (tmp_path / "rep" / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "](chart.png)" in report
    assert "`b` question b? — missing 40 million" in report
    assert "`u` question u? — RuntimeError: boom" in report
    assert "| answer accuracy | 0.500 | 1/2 | ≥ 0.9 FAIL |" in report
    saved = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert saved["metrics"]["accuracy"] == {"value": 0.5, "count": 1, "n": 2} and saved["n_failed"] == 1


def test_run_cli_end_to_end_on_fakes(tmp_path, corpus, make_pipeline, monkeypatch, capsys):
    pipeline, _ = make_pipeline(corpus, ["It costs 40 million euros [1].", "The articles do not say."])
    monkeypatch.setattr(chat.app, "build_pipeline", lambda settings, **kw: pipeline)
    questions_file = tmp_path / "evals" / "questions.jsonl"
    questions_file.parent.mkdir()
    questions_file.write_text("".join(json.dumps(_record(q)) + "\n" for q in FAKE_QUESTIONS))
    (questions_file.parent / "thresholds.json").write_text('{"min": {"hit_at_3": 0.5}}')
    messages: list[str] = []
    out, report = tmp_path / "out" / "results.jsonl", tmp_path / "report"
    run_cli(Settings(corpus=corpus), questions_file, out=out, report=report, limit=None, notify=messages.append)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["status"] for line in lines] == ["ok", "failed", "ok"]
    assert {p.name for p in report.iterdir()} == {"summary.json", "report.md", "chart.png", "risk_coverage.png"}
    table = capsys.readouterr().out
    assert table.startswith("3 questions (2 answerable, 1 unanswerable), 1 failed; k = 3")
    assert "retrieval hit@3" in table and ">= 0.5" in table
    summary = json.loads((report / "summary.json").read_text())
    assert summary["run"]["k"] == 3 and summary["run"]["generator"] == "scripted"
    assert any("1 of 3 questions failed" in m for m in messages)


def _record(q: Question) -> dict:
    return {
        "id": q.id,
        "question": q.question,
        "answerable": q.answerable,
        "evidence": list(q.evidence),
        "answer_keys": [list(g) for g in q.answer_keys],
    }


# The questions file: one-line errors a person can act on.

GOOD = '{"id": "a", "question": "Q?", "answerable": false, "evidence": [], "answer_keys": []}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD + "\n{not json\n", "line 2: not valid JSON"),
        (
            '{"id": "a", "question": "Q?", "answerable": true, "evidence": []}',
            "line 1: missing field 'answer_keys'",
        ),
        (GOOD.replace("false", '"no"'), "line 1: field 'answerable' must be true or false"),
        (GOOD.replace('"answer_keys": []', '"answer_keys": ["59"]'), "line 1: field 'answer_keys' must be"),
        (GOOD + "\n\n" + GOOD, "line 3: duplicate id 'a' (first used on line 1)"),
        ("[1, 2]", "line 1: expected a JSON object, got list"),
        ("\n\n", "no questions in"),
    ],
)
def test_bad_questions_file_gives_a_one_line_error(tmp_path, content, message):
    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(QuestionsFileError) as error:
        load_questions(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_cli_reports_a_missing_questions_file_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: no questions file at {tmp_path / 'nope.jsonl'}; " + (
        "pass a JSONL file with one question per line"
    )


# The CI gate.

SUMMARY = {
    "n_questions": 80,
    "n_failed": 0,
    "metrics": {
        "hit_at_3": {"value": 0.9, "count": 54, "n": 60},
        "false_refusal_rate": {"value": 0.1, "count": 6, "n": 60},
        "accuracy": {"value": None, "count": 0, "n": 0},
    },
}


def test_thresholds_pass_and_fail():
    assert check_thresholds(SUMMARY, {"min": {"hit_at_3": 0.85, "n_questions": 80}, "max": {"n_failed": 0}}) == []
    failures = check_thresholds(
        SUMMARY,
        {"min": {"hit_at_3": 0.95, "accuracy": 0.5, "hit_at_9": 0.1}, "max": {"false_refusal_rate": 0.05}},
    )
    assert failures == [
        "hit_at_3 = 0.9 (54/60) is below the minimum 0.95",
        "accuracy: no value (nothing to measure it over) (0/0)",
        "hit_at_9: not in the summary (unknown metric in the thresholds file?)",
        "false_refusal_rate = 0.1 (6/60) is above the maximum 0.05",
    ]


def _checker():
    spec = importlib.util.spec_from_file_location("check_thresholds", ROOT / "evals" / "check_thresholds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_threshold_script_exit_status(tmp_path, capsys):
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(SUMMARY))
    passing, failing = tmp_path / "pass.json", tmp_path / "fail.json"
    passing.write_text('{"min": {"hit_at_3": 0.85}}')
    failing.write_text('{"min": {"hit_at_3": 0.95}, "max": {"false_refusal_rate": 0.05}}')
    checker = _checker()
    assert checker.main([str(summary), str(passing)]) == 0
    assert checker.main([str(summary), str(failing)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 2
    assert checker.main([str(tmp_path / "missing.json"), str(passing)]) == 2
    assert checker.main([str(summary), str(tmp_path / "missing.json")]) == 2


def test_committed_thresholds_name_real_metrics():
    thresholds = json.loads((ROOT / "evals" / "thresholds.json").read_text())
    names = [name for d in ("min", "max") for name in thresholds[d]]
    assert set(names) <= set(METRICS) | {"n_questions", "n_failed"}
    assert not any(name.endswith("_s") or name.startswith("tokens_per_s") for name in names)  # no latency in CI


def test_baseline_summary_meets_the_thresholds_if_committed():
    baseline = ROOT / "evals" / "baseline" / "summary.json"
    if not baseline.exists():
        pytest.skip("no baseline committed yet (evals/baseline/summary.json)")
    thresholds = json.loads((ROOT / "evals" / "thresholds.json").read_text())
    assert check_thresholds(json.loads(baseline.read_text()), thresholds) == []


def checked_answer(text: str, confidence: float, *verdicts: tuple[str, bool]) -> Answer:
    """An answer as the checks left it: refused when a verdict failed, the draft kept in `sentences`."""
    from dataclasses import replace

    from chat.types import SentenceSupport, Verdict

    refused = not all(ok for _, ok in verdicts)
    answer = make_answer(text, refused=refused)
    sentence = SentenceSupport(text, (1,), 1, 1.0, None, None, None, None, True)
    return replace(
        answer,
        sentences=(sentence,),
        verdicts=tuple(Verdict(name, ok, "why") for name, ok in verdicts),
        confidence=confidence,
    )


def test_rejections_are_counted_per_check_and_the_curve_follows_the_confidence():
    questions = [question("a"), question("b"), question("u", answerable=False), question("v", answerable=False)]
    results = [
        Result("a", checked_answer("It costs 40 million euros [1].", 0.9, ("supported", True), ("confident", True))),
        Result("b", checked_answer("It costs 40 million euros [1].", 0.3, ("supported", True), ("confident", False))),
        Result("u", checked_answer("It is free [1].", 0.6, ("grounded", False), ("confident", True))),
        Result("v", checked_answer("It is free [1].", 0.5, ("grounded", True), ("confident", True))),
    ]
    summary = summarize(results, questions)
    assert summary.rejections["confident"] == {"answerable": 1, "unanswerable": 0, "alone": 1}
    assert summary.rejections["grounded"] == {"answerable": 0, "unanswerable": 1, "alone": 1}
    # u is refused by another check: never answered. a (0.9, right), v (0.5, wrong), b (0.3, right).
    assert summary.risk_coverage == ((0.9, 0.25, 1.0), (0.5, 0.5, 0.5), (0.3, 0.75, 0.6667))
