"""Web pages and PDFs in a corpus folder: indexed as their extracted text, cited by exact words,
converted again only when they change, and skipped in one line when they hold no article."""

from __future__ import annotations

from pathlib import Path

import pytest

import index.formats
from index.chunk import ChunkingParams
from index.store import IndexSpec, build_index, load_index, stale_reasons
from index.text import normalize_lines
from models.fakes import HashingEmbedder
from tests.fixtures_formats import (
    FURNITURE,
    article_pdf,
    damaged_pdf,
    encrypted_pdf,
    news_page,
    scanned_pdf,
    seed_article,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PARAMS = ChunkingParams(max_tokens=64)


@pytest.fixture
def converted(tmp_path: Path) -> Path:
    """The four seeds: two as news-site pages, two as PDFs, plus three PDFs with no article."""
    folder = tmp_path / "converted"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    for n, seed in enumerate(seeds):
        article = seed_article(seed)
        if n % 2 == 0:
            (folder / f"{seed.stem}.html").write_text(news_page(article.text), encoding="utf-8")
        else:
            article_pdf(article.text, folder / f"{seed.stem}.pdf")
    scanned_pdf(folder / "scan.pdf")
    encrypted_pdf(folder / "locked.pdf")
    damaged_pdf(folder / "broken.pdf")
    return folder


def test_pages_and_pdfs_are_indexed_as_their_article_and_bad_ones_skipped(converted, tmp_path):
    report = build_index(IndexSpec(converted, tmp_path / "ix", HashingEmbedder(), PARAMS))
    reasons = {s.source: s.reason for s in report.skipped}
    assert set(reasons) == {"scan.pdf", "locked.pdf", "broken.pdf"}
    assert "no text layer" in reasons["scan.pdf"] and "encrypted" in reasons["locked.pdf"]
    assert reasons["broken.pdf"].startswith("a damaged PDF")
    assert all("\n" not in reason for reason in reasons.values())
    assert report.n_documents == 4
    store = load_index(tmp_path / "ix")
    text = "\n".join(c.text for c in store.chunks).lower()
    assert not [phrase for phrase in FURNITURE if phrase.lower() in text]
    assert "<" not in text and "&amp;" not in text
    for seed in sorted(SEEDS.glob("*.txt")):
        article = seed_article(seed)
        assert any(article.paragraphs[1][:60] in " ".join(c.text.split()) for c in store.chunks), seed.name
        source = next(s for s in store.manifest["files"] if Path(s).stem == seed.stem)
        assert store.manifest["documents"][source]["title"] == article.title


def test_citations_lead_to_the_exact_extracted_words(converted, tmp_path):
    build_index(IndexSpec(converted, tmp_path / "ix", HashingEmbedder(), PARAMS))
    store = load_index(tmp_path / "ix")
    assert set(store.manifest["converted"].values()) == {"html", "pdf"}
    for chunk in store.chunks:
        extracted = store.source_text(chunk.source)
        assert extracted is not None and normalize_lines(extracted[chunk.start : chunk.end]) == chunk.text
    page = next(s for s, kind in store.manifest["converted"].items() if kind == "html")
    (converted / page).write_text(news_page("Another title\n\nAnother paragraph entirely."), encoding="utf-8")
    assert load_index(tmp_path / "ix").source_text(page) is None  # the page changed: no stale offsets


def test_an_unchanged_page_is_not_converted_again_and_a_changed_one_is(converted, tmp_path, monkeypatch):
    build_index(IndexSpec(converted, tmp_path / "ix", HashingEmbedder(), PARAMS))
    calls: list[str] = []
    real = index.formats.extract

    def counting(data: bytes, suffix: str) -> index.formats.Extracted:
        calls.append(suffix)
        return real(data, suffix)

    monkeypatch.setattr(index.formats, "extract", counting)
    (converted / "note.txt").write_text("# Note\n\nA short note about the harbor ferry.\n", encoding="utf-8")
    report = build_index(IndexSpec(converted, tmp_path / "ix", HashingEmbedder(), PARAMS))
    assert sorted(calls) == [".pdf", ".pdf", ".pdf"]  # only the three that were skipped, tried again
    assert report.n_embedded == 1 and report.n_documents == 5
    calls.clear()
    page = next(p for p in sorted(converted.glob("*.html")))
    article = seed_article(SEEDS / f"{page.stem}.txt")
    changed = article.text + "\n\nA correction was added to this article on Friday."
    page.write_text(news_page(changed), encoding="utf-8")
    assert stale_reasons(IndexSpec(converted, tmp_path / "ix", HashingEmbedder(), PARAMS)) == [f"{page.name} changed"]
    build_index(IndexSpec(converted, tmp_path / "ix", HashingEmbedder(), PARAMS))
    assert sorted(calls) == [".html", ".pdf", ".pdf", ".pdf"]
    assert any("correction was added" in c.text for c in load_index(tmp_path / "ix").chunks)
