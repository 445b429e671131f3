"""The reference questions (evals/questions.jsonl) and the held-out ones (evals/holdout.jsonl)
are well-formed and their evidence is real."""

from __future__ import annotations

import json

import pytest

from chat.eval.run import load_questions
from index.text import canonical
from tests.conftest import ROOT, SEEDS

QUESTIONS_FILE = ROOT / "evals" / "questions.jsonl"
HOLDOUT_FILE = ROOT / "evals" / "holdout.jsonl"
FILES = (QUESTIONS_FILE, HOLDOUT_FILE)
RECORDS = [json.loads(line) for f in FILES for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
REFERENCE = load_questions(QUESTIONS_FILE)  # also checks every field's type, and unique ids
QUESTIONS = REFERENCE + load_questions(HOLDOUT_FILE)
SOURCES = {p.name: canonical(p.read_text(encoding="utf-8")) for p in SEEDS.iterdir() if p.is_file()}
ANSWERABLE = [q for q in QUESTIONS if q.answerable]


def test_enough_questions_of_both_kinds():
    assert len(REFERENCE) >= 45
    assert sum(not q.answerable for q in REFERENCE) >= 8


def test_ids_are_unique_across_both_files():
    ids = [record["id"] for record in RECORDS]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]


@pytest.mark.parametrize("record", RECORDS, ids=[r.get("id", "?") for r in RECORDS])
def test_fields_are_present_and_typed(record):
    assert isinstance(record["id"], str) and record["id"]
    assert isinstance(record["question"], str) and record["question"].strip()
    assert isinstance(record["answerable"], bool)
    assert all(isinstance(q, str) and q.strip() for q in record["evidence"])
    assert all(isinstance(g, list) and g and all(isinstance(a, str) for a in g) for g in record["answer_keys"])
    assert all(isinstance(s, str) for s in record.get("gold_sources", []))
    if record["answerable"]:
        assert record["evidence"] and record["answer_keys"], "an answerable question needs evidence and keys"
    else:
        assert not record["evidence"] and not record["answer_keys"], "an unanswerable question has no evidence"


@pytest.mark.parametrize("question", ANSWERABLE, ids=[q.id for q in ANSWERABLE])
def test_every_evidence_quote_occurs_in_the_corpus(question):
    corpus = " ".join(SOURCES.values())
    missing = [quote for quote in question.evidence if canonical(quote) not in corpus]
    assert not missing


@pytest.mark.parametrize("question", ANSWERABLE, ids=[q.id for q in ANSWERABLE])
def test_every_gold_source_holds_a_quote(question):
    for source in question.gold_sources:
        assert source in SOURCES, f"no {source} in seeds/"
        assert any(canonical(quote) in SOURCES[source] for quote in question.evidence), source


@pytest.mark.real
def test_every_quote_fits_in_one_chunk_of_the_real_index(real_searcher):
    """A quote split across two chunks could never make a passage relevant: retrieval would always miss."""
    chunks = [canonical(chunk.text) for chunk in real_searcher.store.chunks]
    split = [
        (q.id, quote) for q in ANSWERABLE for quote in q.evidence if not any(canonical(quote) in c for c in chunks)
    ]
    assert not split
