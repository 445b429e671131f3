"""Chunks: sentence-aware, under the token limit, overlapping by one sentence, traceable."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.chunk import ChunkingParams, chunk_document, sentence_spans
from index.corpus import read_document
from index.text import normalize_lines
from models.fakes import HashingEmbedder
from tests.conftest import SEEDS


def seed_documents():
    return [read_document(p, p.name) for p in sorted(SEEDS.glob("*.txt"))]


@pytest.fixture(scope="module")
def tokenizer_count():
    """The real embedder's tokenizer (tokenizers only; no torch): what the model will read."""
    from models.embedder import SentenceTransformerEmbedder, default_embedder_path

    return SentenceTransformerEmbedder(default_embedder_path()).count_tokens


def test_offsets_give_the_words_back(tokenizer_count):
    for document in seed_documents():
        original = Path(SEEDS / document.source).read_text(encoding="utf-8")
        chunks = chunk_document(document, ChunkingParams(), tokenizer_count)
        assert chunks
        for chunk in chunks:
            assert normalize_lines(original[chunk.start : chunk.end]) == chunk.text
            assert chunk.id == f"{document.source}:{chunk.start}-{chunk.end}"


@pytest.mark.parametrize("max_tokens", [48, 128, 200])
def test_chunks_fit_the_embedder(tokenizer_count, max_tokens):
    for document in seed_documents():
        for chunk in chunk_document(document, ChunkingParams(max_tokens=max_tokens), tokenizer_count):
            assert tokenizer_count(chunk.text) <= max_tokens


def test_consecutive_chunks_share_one_sentence(tokenizer_count):
    document = seed_documents()[0]
    chunks = chunk_document(document, ChunkingParams(), tokenizer_count)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end  # overlap
        shared = document.text[b.start : a.end]
        assert len(sentence_spans(document.text, b.start, a.end)) == 1, shared


def test_chunks_cover_every_paragraph():
    for document in seed_documents():
        chunks = chunk_document(document, ChunkingParams(), HashingEmbedder().count_tokens)
        for start, end in document.paragraphs:
            assert any(c.start <= start and end <= c.end for c in chunks) or any(start <= c.start < end for c in chunks)


def test_sentence_splitter_respects_abbreviations():
    text = 'In this Tuesday, Oct. 2, 2012 file photo, smoke rises. The U.S. presence grew. Dr. Berg agreed. "Is it?" he asked. Yes.'
    sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert sentences == [
        "In this Tuesday, Oct. 2, 2012 file photo, smoke rises.",
        "The U.S. presence grew.",
        "Dr. Berg agreed.",
        '"Is it?" he asked.',
        "Yes.",
    ]


def test_overlong_sentence_is_split_to_fit():
    words = " ".join(f"word{i}," for i in range(300)) + " end."
    from index.types import Document

    document = Document("long.txt", words, "x", "t", None, None, ((0, len(words)),), (False,))
    count = HashingEmbedder().count_tokens
    chunks = chunk_document(document, ChunkingParams(max_tokens=50), count)
    assert len(chunks) > 5
    assert all(count(c.text) <= 50 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(words)
