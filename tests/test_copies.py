"""Syndicated copies: found at index time, shown once in the passages, named as "also in"."""

from __future__ import annotations

from pathlib import Path

from chat.cli import format_sources
from chat.web import checked_sources, source_card
from index.chunk import ChunkingParams
from index.copies import COPY_CONTAINMENT, containment, find_copies, shingles
from index.corpus import read_corpus
from index.search import HybridSearcher, RetrievalParams
from index.store import IndexSpec, build_index, load_index
from models.fakes import HashingEmbedder
from tests.conftest import passage_number
from tests.fixtures_formats import news_page, seed_article

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
WIRE = """Bridge vote in harbor city (Wire)

HARBOR CITY, May 4 (Wire) - {body}

Reporting by A. Reporter; editing by B. Editor. Our standards: the Trust Principles.
"""


def _wire_copy(corpus: Path) -> None:
    """harbor.txt's story as a wire service sends it: another headline, dateline and credit line."""
    documents, _ = read_corpus(corpus)
    harbor = next(d for d in documents if d.source == "harbor.txt")
    body = "\n\n".join(harbor.text[s:e] for s, e in harbor.paragraphs)
    (corpus / "wire-copy.txt").write_text(WIRE.format(body=body), encoding="utf-8")


def test_different_articles_are_not_copies_and_a_saved_page_of_one_is(tmp_path):
    documents, _ = read_corpus(SEEDS)
    assert find_copies(documents) == {}
    folder = tmp_path / "c"
    folder.mkdir()
    for seed in sorted(SEEDS.glob("*.txt")):
        (folder / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    first = sorted(SEEDS.glob("*.txt"))[0]
    (folder / "zz-saved.html").write_text(news_page(seed_article(first).text), encoding="utf-8")
    documents, _ = read_corpus(folder)
    assert find_copies(documents) == {"zz-saved.html": first.name}


def test_containment_tolerates_a_trimmed_copy_but_not_another_story():
    story = " ".join(f"word{i} carries meaning{i % 7}" for i in range(200))
    trimmed = " ".join(story.split()[: len(story.split()) // 3])
    assert containment(shingles(story), shingles(trimmed)) == 1.0
    other = " ".join(f"other{i} carries meaning{i % 7}" for i in range(200))
    assert containment(shingles(story), shingles(other)) < COPY_CONTAINMENT


def test_one_copy_stands_for_all_in_the_passages(corpus, tmp_path):
    _wire_copy(corpus)
    build_index(IndexSpec(corpus, tmp_path / "ix", HashingEmbedder(), ChunkingParams(max_tokens=64)))
    store = load_index(tmp_path / "ix")
    assert store.copies == {"wire-copy.txt": "harbor.txt"}
    passages = HybridSearcher(store, HashingEmbedder()).search("How much does the bridge cost?", RetrievalParams(k=4))
    costs = [p for p in passages if "40 million euros" in p.chunk.text]
    assert len(costs) == 1  # the wire copy's identical passage does not take a second slot
    other = ({"harbor.txt", "wire-copy.txt"} - {costs[0].chunk.source}).pop()
    assert costs[0].also_in == (other,)
    assert len(passages) == 4  # the freed slot went to the next passage


def test_the_sources_name_the_copies(corpus, make_pipeline):
    _wire_copy(corpus)
    pipeline, generator = make_pipeline(corpus)
    n = passage_number(pipeline, "How much does the bridge cost?", "40 million euros")
    generator.replies = [f"It costs 40 million euros [{n}]."]
    answer = pipeline.ask("How much does the bridge cost?")
    assert answer.citations[0].also_in
    lines = format_sources(answer).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"[{n}] "))
    assert lines[at + 1].startswith("    also in: ") and lines[at + 2].lstrip().startswith("chars ")
    card = source_card(next(s for s in checked_sources(answer) if s.n == n), turn=1)
    assert "also in: " in card
