"""The `seedqa` command through click's runner: output format, --json, one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import chat.app
from chat.cli import main
from tests.conftest import passage_number


@pytest.fixture
def fake_app(corpus, make_pipeline, monkeypatch):
    """Make the CLI build a pipeline on fakes instead of the real models."""
    pipeline, generator = make_pipeline(corpus)
    n = passage_number(pipeline, "How much does the bridge cost?", "40 million euros")
    generator.replies = [f"It costs 40 million euros [{n}]."]
    generator.cost_n = n
    monkeypatch.setattr(chat.app, "build_pipeline", lambda settings, **kw: pipeline)
    return generator


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_help_and_version():
    result = run("--help")
    assert result.exit_code == 0 and "seedqa ask" in result.output
    assert run("ask", "--help").output.count("Example") == 1
    assert run("--version").output.startswith("seedqa, version ")


def test_ask_streams_answer_then_sources(fake_app, corpus):
    n = fake_app.cost_n
    result = run("ask", "How much does the bridge cost?")
    assert result.exit_code == 0, result.output
    answer, sources = result.stdout.split("\nSources:\n")
    assert answer.strip() == f"It costs 40 million euros [{n}]."
    assert sources.startswith(f"[{n}] City approves new harbor bridge (harbor.txt)\n    chars ")
    start, end = (int(x) for x in sources.split("chars ")[1].split(":")[0].split("-"))
    original = (corpus / "harbor.txt").read_text(encoding="utf-8")
    assert (
        original[start:end]
        == "Construction is expected to cost 40 million euros, paid mostly by the regional government."
    )
    assert f'"{original[start:end]}"' in sources


def test_ask_json_follows_the_schema(fake_app):
    n = fake_app.cost_n
    result = run("ask", "--json", "How much does the bridge cost?")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {
        "question", "answer", "refused", "repaired", "citations", "invalid_citations", "sentences", "raw_answer", "second_pass",
        "quoted", "passes", "refusal_logprob", "verdicts", "confidence", "verified", "kind", "retrieved", "timings", "tokens",
        "generator",
    }  # fmt: skip
    assert data["generator"] == "scripted"  # the backend and model that answered
    assert [v["check"] for v in data["verdicts"]] == ["supported", "grounded", "answers_the_form", "confident"]
    assert all(set(v) == {"check", "ok", "binding", "reason"} and v["ok"] for v in data["verdicts"])
    assert data["answer"] == f"It costs 40 million euros [{n}]." and data["refused"] is False
    assert set(data["citations"][0]) == {"n", "source", "title", "chunk_id", "start", "end", "text", "also_in"}
    assert set(data["retrieved"][0]) >= {"rank", "source", "chunk_id", "score", "text"}
    assert set(data["timings"]) == {"retrieve_s", "ttft_s", "total_s"}
    assert set(data["tokens"]) == {"prompt", "completion"}


def test_ask_verbose_says_why_an_answer_was_refused(fake_app):
    fake_app.replies = [f"Ironworks charges 40 million euros [{fake_app.cost_n}]."]
    result = run("ask", "-v", "How much does Ironworks charge for the bridge?")
    assert result.exit_code == 0, result.output
    assert "The articles do not say." in result.stdout
    checks = result.stdout.split("\nChecks:\n")[1]
    assert "FAIL  grounded: the question names Ironworks; no article does" in checks
    assert checks.count("pass  ") == 3  # the other three checks, each with its reason


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_empty_question(fake_app):
    assert "empty" in one_line_error(run("ask", "  "))


def test_huge_question(fake_app):
    assert "characters long" in one_line_error(run("ask", "why " * 1000))


def test_missing_corpus_folder(tmp_path):
    message = one_line_error(run("index", "--corpus", str(tmp_path / "nope"), "--data-dir", str(tmp_path)))
    assert "no corpus folder" in message and "--corpus" in message


def test_empty_corpus_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no readable" in one_line_error(
        run("index", "--corpus", str(tmp_path / "empty"), "--data-dir", str(tmp_path))
    )


def test_missing_model_file(tmp_path):
    message = one_line_error(run("ask", "why?", "--gguf", str(tmp_path / "missing.gguf"), "--data-dir", str(tmp_path)))
    assert "no model file" in message


def test_model_file_that_is_not_gguf(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    assert "not a GGUF file" in one_line_error(run("ask", "why?", "--gguf", str(bad)))


def test_bad_environment_value(monkeypatch):
    monkeypatch.setenv("SEEDQA_K", "many")
    assert "SEEDQA_K" in one_line_error(run("ask", "why?"))
