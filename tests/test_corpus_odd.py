"""Odd corpora (issue 19): an over-long word, symbolic links, control characters in names, huge files."""

from __future__ import annotations

import base64
import os
import random
from pathlib import Path

import pytest

import index.corpus
from index.chunk import ChunkingParams, chunk_document
from index.corpus import corpus_files, read_corpus
from index.errors import CorpusError
from index.store import IndexSpec, build_index, stale_reasons
from index.text import normalize_lines, printable
from index.types import Chunk, Document
from models.fakes import HashingEmbedder

ARTICLE = (
    "City approves new harbor bridge\n\n"
    "The city council approved the new harbor bridge on Monday after a two-year debate.\n\n"
    "Construction is expected to cost 40 million euros, paid mostly by the regional government.\n"
)
# 1 MB of base64 (it has "+" and "/", so a word-piece tokenizer reads ~590,000 tokens from it).
BLOB = base64.b64encode(random.Random(0).randbytes(750_000)).decode()


def _document(text: str) -> Document:
    paragraphs: list[tuple[int, int]] = []
    start = 0
    for part in text.split("\n"):
        if part.strip():
            paragraphs.append((start, start + len(part)))
        start += len(part) + 1
    return Document("odd.txt", text, "x", "t", None, None, tuple(paragraphs), (False,) * len(paragraphs))


class _RecordingCounter:
    """The fake tokenizer count, remembering the longest text it was asked to read."""

    def __init__(self) -> None:
        self.longest = 0

    def __call__(self, text: str) -> int:
        self.longest = max(self.longest, len(text))
        return HashingEmbedder().count_tokens(text)


def _assert_traceable(document: Document, chunks: list[Chunk]) -> None:
    for chunk in chunks:
        assert chunk.text == normalize_lines(document.text[chunk.start : chunk.end])
        assert chunk.id == f"{document.source}:{chunk.start}-{chunk.end}"


# --- 1. An over-long "word" ---------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [48, 128])
def test_a_megabyte_word_inside_a_sentence_is_left_out(max_tokens):
    text = f"Officials said the plan was ready. The attachment {BLOB} was sent on Monday. Nobody replied."
    document = _document(text)
    count = _RecordingCounter()
    chunks = chunk_document(document, ChunkingParams(max_tokens=max_tokens), count)
    blob_start = text.index(BLOB)
    blob_end = blob_start + len(BLOB)
    assert all(count(c.text) <= max_tokens for c in chunks)
    assert all(len(c.text) < 2_000 for c in chunks)
    assert not any(c.start < blob_end and c.end > blob_start for c in chunks)  # no chunk spans it
    before = [c for c in chunks if "The attachment" in c.text]
    after = [c for c in chunks if "was sent on Monday." in c.text]
    assert before and after and not set(map(id, before)) & set(map(id, after))
    assert "Nobody replied." in after[-1].text
    _assert_traceable(document, chunks)
    # Speed: the tokenizer is never handed the blob (it takes ~1.7 s per MB).
    assert count.longest < 10_000


def test_a_blob_on_its_own_line_separates_the_paragraphs_around_it():
    text = f"First paragraph ends here.\n{BLOB}\nSecond paragraph starts here."
    document = _document(text)
    count = _RecordingCounter()
    chunks = chunk_document(document, ChunkingParams(max_tokens=128), count)
    assert [c.text for c in chunks] == ["First paragraph ends here.", "Second paragraph starts here."]
    assert count.longest < 10_000


def test_a_short_word_with_too_many_tokens_is_left_out():
    word = "+".join(["ab"] * 40)  # 119 characters, 79 tokens for the fake counter
    text = f"Before the word {word} after the word."
    document = _document(text)
    count = HashingEmbedder().count_tokens
    chunks = chunk_document(document, ChunkingParams(max_tokens=50), count)
    assert [c.text for c in chunks] == ["Before the word", "after the word."]
    _assert_traceable(document, chunks)


# --- 2. Symbolic links --------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A corpus folder with one good article, and a folder outside it with a secret."""
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "bridge.txt").write_text(ARTICLE, encoding="utf-8")
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text(
        "Passwords\n\nThe vault password is swordfish-4471 and nobody else knows it.\n", encoding="utf-8"
    )
    return corpus, outside


def _reasons(corpus: Path) -> dict[str, str]:
    _, skipped = read_corpus(corpus)
    return {s.source: s.reason for s in skipped}


def test_looping_and_broken_links_are_skipped_with_a_reason(folders):
    corpus, _ = folders
    (corpus / "a.txt").symlink_to("b.txt")
    (corpus / "b.txt").symlink_to("a.txt")
    (corpus / "gone.txt").symlink_to("nowhere.txt")
    assert _reasons(corpus) == {
        "a.txt": "a broken or looping link",
        "b.txt": "a broken or looping link",
        "gone.txt": "a broken or looping link",
    }


def test_a_link_to_a_file_outside_is_not_followed(folders):
    corpus, outside = folders
    (corpus / "leak.txt").symlink_to(outside / "secret.txt")
    documents, skipped = read_corpus(corpus)
    assert [d.source for d in documents] == ["sub/bridge.txt"]
    assert skipped == [
        index.corpus.Skipped("leak.txt", "a link to a file outside the corpus folder; copy the file in instead")
    ]
    assert not any("swordfish" in d.text for d in documents)


def test_a_link_out_and_back_in_is_followed(folders):
    corpus, outside = folders
    (outside / "back.txt").symlink_to(corpus / "sub" / "bridge.txt")
    (corpus / "alias.txt").symlink_to(outside / "back.txt")
    (corpus / "near.txt").symlink_to("sub/bridge.txt")
    documents, skipped = read_corpus(corpus)
    assert [d.source for d in documents] == ["alias.txt", "near.txt", "sub/bridge.txt"]
    assert skipped == []


def test_a_link_to_a_folder_outside_is_not_walked(folders):
    corpus, outside = folders
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    (corpus / "again").symlink_to(corpus / "sub", target_is_directory=True)  # inside: read where it is
    documents, skipped = read_corpus(corpus)
    assert [d.source for d in documents] == ["sub/bridge.txt"]
    assert skipped == [
        index.corpus.Skipped("linked", "a link to a folder outside the corpus folder; copy the folder in instead")
    ]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_link_to_a_device_is_never_read(folders):
    corpus, _ = folders
    (corpus / "zero.txt").symlink_to("/dev/zero")
    assert [p.name for p in corpus_files(corpus)] == ["bridge.txt"]


def test_skipped_links_keep_the_index_fresh(folders, tmp_path):
    corpus, outside = folders
    (corpus / "a.txt").symlink_to("b.txt")
    (corpus / "b.txt").symlink_to("a.txt")
    (corpus / "leak.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    embedder, params = HashingEmbedder(), ChunkingParams(max_tokens=64)
    report = build_index(IndexSpec(corpus, tmp_path / "index", embedder, params))
    assert {s.source for s in report.skipped} == {"a.txt", "b.txt", "leak.txt", "linked"}
    assert stale_reasons(IndexSpec(corpus, tmp_path / "index", embedder, params)) == []


# --- 3. Control characters in file names --------------------------------------------------


def test_printable_escapes_control_characters():
    assert printable("evil\nwarning: all articles deleted.pdf") == "evil\\nwarning: all articles deleted.pdf"
    assert printable("a\rb\tc\x1b[31m\x7f\x85") == "a\\rb\\tc\\x1b[31m\\x7f\\x85"
    assert printable("name\udcff.txt") == "name\\udcff.txt"  # an undecodable byte of a file name
    assert printable("line\u2028break \u202etxt.exe") == "line\\u2028break \\u202etxt.exe"
    assert printable("back\\slash") == "back\\\\slash"


def test_printable_leaves_letters_alone():
    for name in ("Yılmaz_Erdoğan_çğüşö.txt", "İstanbul.md", "cafe\u0301 crème.txt", "日本語.txt", "a b.txt"):
        assert printable(name) == name


def test_a_skipped_name_cannot_forge_a_line(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil\nwarning: all articles deleted.pdf").write_text("x", encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        read_corpus(corpus)
    assert "\n" not in str(caught.value)
    assert "evil\\nwarning: all articles deleted.pdf" in str(caught.value)


# --- 4. Very large files ------------------------------------------------------------------


def test_a_very_large_file_gets_a_warning_first(tmp_path, monkeypatch):
    monkeypatch.setattr(index.corpus, "LARGE_FILE_BYTES", 1_000_000)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(ARTICLE, encoding="utf-8")
    # 2.1 MB, cheap to clean: blank lines after one article.
    (corpus / "big\tfile.txt").write_text(ARTICLE + "\n" * 2_100_000, encoding="utf-8")
    messages: list[str] = []
    documents, _ = read_corpus(corpus, notify=messages.append)
    assert messages == ["warning: big\\tfile.txt is 2 MB; indexing it may take a long time"]
    assert len(documents) == 2


def test_a_file_under_the_limit_gets_no_warning(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(ARTICLE, encoding="utf-8")
    messages: list[str] = []
    read_corpus(corpus, notify=messages.append)
    assert messages == []
    assert os.path.getsize(corpus / "small.txt") < index.corpus.LARGE_FILE_BYTES
