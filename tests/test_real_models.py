"""Behaviour only the real models show: the right passage is retrieved, cited, or refused.

Loads all-MiniLM-L6-v2 and the Qwen2.5-Coder-1.5B GGUF once per session (marker `real`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from index.search import RetrievalParams
from index.text import canonical
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.real

RETRIEVAL = [json.loads(line) for line in (DATA / "retrieval_questions.jsonl").read_text().splitlines()]
SHOWCASE = "why did Erdogan pivot after 2016?"
# The passages that say the West failed to back Erdogan after the coup attempt.
WEST_FAILED = [
    "did not receive the backing from the west",
    "western leaders did not provide ankara the support it needed",
    "erdogan was disappointed in the west",
]


def contains_any(text: str, quotes: list[str]) -> bool:
    return any(canonical(q) in canonical(text) for q in quotes)


@pytest.mark.parametrize("case", RETRIEVAL, ids=[c["question"][:40] for c in RETRIEVAL])
def test_answering_passage_is_in_the_top_3(real_searcher, case):
    passages = real_searcher.search(case["question"], RetrievalParams(k=3))
    assert any(contains_any(p.chunk.text, case["evidence"]) for p in passages), [p.chunk.text[:80] for p in passages]


def test_reference_set_hit_rate_at_3(real_searcher):
    """Over every answerable reference question, the answering passage is in the top 3 for >= 85%."""
    questions = [json.loads(line) for line in (ROOT / "evals" / "questions.jsonl").read_text().splitlines()]
    answerable = [q for q in questions if q["answerable"]]
    hits = sum(
        any(
            contains_any(p.chunk.text, q["evidence"]) for p in real_searcher.search(q["question"], RetrievalParams(k=3))
        )
        for q in answerable
    )
    assert hits / len(answerable) >= 0.85, f"{hits}/{len(answerable)}"


def test_showcase_answer_cites_the_west_failing_erdogan(real_pipeline):
    answer = real_pipeline.ask(SHOWCASE)
    assert not answer.refused, answer.text
    assert answer.citations, answer.text
    assert any(contains_any(c.text, WEST_FAILED) for c in answer.citations), answer
    for citation in answer.citations:
        original = (ROOT / "seeds" / citation.source).read_text(encoding="utf-8")
        assert canonical(original[citation.start : citation.end]) == canonical(citation.text)


def test_unanswerable_question_is_refused(real_pipeline):
    answer = real_pipeline.ask("What did Erdogan say about Brexit?")
    assert answer.refused, answer.text
    assert answer.citations == ()


def test_streaming_yields_tokens_in_order(real_pipeline):
    stream = real_pipeline.stream("How many Turkish soldiers died in February and March?")
    pieces = list(stream)
    answer = stream.answer()
    assert len(pieces) > 3
    # Each streamed piece is one token; a second pass adds the tokens of the refusal it replaced.
    assert answer.tokens.completion >= len(pieces)
    if not answer.second_pass:
        assert answer.tokens.completion == len(pieces)
    assert "59" in answer.text, answer.text


def test_cli_json_end_to_end(real_settings, tmp_path):
    """`seedqa ask --json` in a new process, building its own index on first use."""
    settings, _ = real_settings
    env = dict(os.environ, SEEDQA_DATA_DIR=str(tmp_path))
    from models.gguf import resolve_gguf

    env["SEEDQA_GGUF"] = str(resolve_gguf(settings.generator.gguf, settings.data_dir))
    result = subprocess.run(
        [sys.executable, "-m", "chat.cli", "ask", "--json", "--corpus", str(ROOT / "seeds"), SHOWCASE],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == SHOWCASE and not data["refused"]
    assert data["citations"] and all(c["chunk_id"].startswith(c["source"]) for c in data["citations"])
    assert "indexing" in result.stderr  # it built the index it did not have
