"""The seeds saved as news-site pages and as PDFs answer the showcase question as the .txt seeds do
(real embedder, SPLADE and LLM; issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat.ask import Pipeline
from index.search import HybridSearcher
from index.store import IndexSpec, build_index, load_index
from tests.fixtures_formats import convert_seeds

SHOWCASE = "why did Erdogan pivot after 2016?"


@pytest.mark.real
@pytest.mark.parametrize("kind", ["html", "pdf"])
def test_showcase_answer_and_cited_words_are_the_same_from_pages_and_pdfs(
    kind, real_pipeline, real_settings, real_embedder, real_sparse, tmp_path
):
    folder = tmp_path / kind
    convert_seeds(folder, kind)
    settings, _ = real_settings
    build_index(IndexSpec(folder, tmp_path / "ix", real_embedder, settings.chunking, real_sparse))
    converted = Pipeline(
        HybridSearcher(load_index(tmp_path / "ix"), real_embedder, real_sparse),
        real_pipeline.generator,
        retrieval=settings.retrieval,
        answering=settings.answering,
    )
    expected, answer = real_pipeline.ask(SHOWCASE), converted.ask(SHOWCASE)
    assert not answer.refused
    assert answer.text == expected.text
    assert [(Path(c.source).stem, c.n) for c in answer.citations] == [
        (Path(c.source).stem, c.n) for c in expected.citations
    ]
    assert {c.source for c in answer.citations} <= {p.name for p in folder.iterdir()}  # the original file's name
    assert [s.quote for s in answer.sentences] == [s.quote for s in expected.sentences]  # the same exact words
