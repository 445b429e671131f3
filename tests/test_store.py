"""Index on disk: round trip, staleness, incremental re-embedding, atomic builds, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunk import ChunkingParams
from index.errors import CorpusError, IndexCorruptError, IndexMissingError, IndexStaleError
from index.search import HybridSearcher, RetrievalParams
from index.store import IndexSpec, build_index, ensure_index, load_index, read_manifest, stale_reasons
from models.fakes import HashingEmbedder

PARAMS = ChunkingParams(max_tokens=64)


def test_round_trip(corpus, tmp_path):
    embedder = HashingEmbedder()
    report = build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS))
    store = load_index(tmp_path / "ix")
    assert report.n_documents == 2 and report.n_chunks == len(store.chunks) > 2
    manifest = read_manifest(tmp_path / "ix")
    assert manifest["embedder"] == {"id": embedder.model_id, "dim": embedder.dim}
    assert manifest["chunking"] == {"max_tokens": 64, "overlap_sentences": 1}
    assert set(manifest["files"]) == {"harbor.txt", "museum.md"}
    assert "numpy" in manifest["versions"]
    passages = HybridSearcher(store, embedder).search("Who pays for the bridge construction?", RetrievalParams(k=2))
    assert "40 million euros" in passages[0].chunk.text
    assert [p.rank for p in passages] == [1, 2]


def test_the_text_the_cleaner_left_out_is_what_no_chunk_covers(corpus, tmp_path):
    build_index(IndexSpec(corpus, tmp_path / "ix", HashingEmbedder(), PARAMS))
    store = load_index(tmp_path / "ix")
    left_out = store.left_out_text()
    assert "Harbor News" in left_out and "Subscribe to our newsletter" in left_out  # harbor.txt's furniture
    assert "40 million euros" not in left_out and "glass wing" not in left_out  # indexed text is not repeated
    (corpus / "harbor.txt").write_text("Harbor News, edited since.", encoding="utf-8")
    assert "Harbor News" not in load_index(tmp_path / "ix").left_out_text()  # a changed file's offsets are not used


def test_missing_index(tmp_path):
    with pytest.raises(IndexMissingError, match="seedqa index"):
        load_index(tmp_path / "nothing")


def test_staleness_names_what_changed(corpus, tmp_path):
    embedder = HashingEmbedder()
    build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS))
    assert stale_reasons(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS)) == []
    (corpus / "museum.md").write_text("# Museum\n\nThe museum closed again on Monday.\n", encoding="utf-8")
    (corpus / "new.txt").write_text("A new article about ferries.\n", encoding="utf-8")
    (corpus / "harbor.txt").unlink()
    reasons = stale_reasons(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS))
    assert reasons == ["harbor.txt was removed", "museum.md changed", "new.txt is new"]
    assert stale_reasons(IndexSpec(corpus, tmp_path / "ix", embedder, ChunkingParams(max_tokens=32)))[0].startswith(
        "chunking changed"
    )
    assert stale_reasons(IndexSpec(corpus, tmp_path / "ix", HashingEmbedder(dim=64), PARAMS))[0].startswith(
        "embedder changed"
    )
    with pytest.raises(IndexStaleError, match="seedqa index"):
        ensure_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS), rebuild=False)


def test_rebuild_embeds_only_changed_chunks(corpus, tmp_path):
    embedder = HashingEmbedder()
    first = build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS))
    assert first.n_embedded == first.n_chunks
    (corpus / "museum.md").write_text("# Museum\n\nThe museum closed again on Monday.\n", encoding="utf-8")
    messages: list[str] = []
    store = ensure_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS), notify=messages.append)
    assert any("museum.md changed" in m for m in messages)
    assert embedder.calls[-1] == 1  # only the one new chunk of museum.md
    assert any("closed again" in c.text for c in store.chunks)
    # Reused vectors equal freshly computed ones.
    fresh = HashingEmbedder().embed_documents([c.text for c in store.chunks])
    np.testing.assert_allclose(np.load(store.folder / "vectors.npy"), fresh, atol=1e-6)


def test_interrupted_build_keeps_previous_index(corpus, tmp_path, monkeypatch):
    embedder = HashingEmbedder()
    build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS))
    before = load_index(tmp_path / "ix").chunks
    (corpus / "museum.md").write_text("# Museum\n\nChanged text here.\n", encoding="utf-8")

    import index.keyword

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(index.keyword.KeywordIndex, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        build_index(IndexSpec(corpus, tmp_path / "ix", embedder, PARAMS))
    assert load_index(tmp_path / "ix").chunks == before
    assert [p.name for p in (tmp_path / "ix" / "builds").iterdir() if p.name.startswith(".")] == []


def test_corrupt_index_is_reported(corpus, tmp_path):
    build_index(IndexSpec(corpus, tmp_path / "ix", HashingEmbedder(), PARAMS))
    store = load_index(tmp_path / "ix")
    (store.folder / "chunks.jsonl").write_text("{not json\n")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_index(tmp_path / "ix")


def test_unreadable_files_are_skipped(corpus, tmp_path):
    (corpus / "latin1.txt").write_bytes("Caf\xe9 au lait.".encode("latin-1"))
    (corpus / "empty.txt").write_text("")
    (corpus / "page.pdf").write_bytes(b"%PDF-1.4")
    (corpus / "slides.pptx").write_bytes(b"PK")
    report = build_index(IndexSpec(corpus, tmp_path / "ix", HashingEmbedder(), PARAMS))
    reasons = {s.source: s.reason for s in report.skipped}
    assert "UTF-8" in reasons["latin1.txt"]
    assert "no article text" in reasons["empty.txt"]
    assert reasons["page.pdf"] == "a damaged PDF (Stream has ended unexpectedly)"
    assert reasons["slides.pptx"].startswith("not an article file (.txt/.md/.markdown/.html/.htm/.pdf)")
    assert report.n_documents == 2
    # Skipped files do not make the index look stale.
    assert stale_reasons(IndexSpec(corpus, tmp_path / "ix", HashingEmbedder(), PARAMS)) == []


@pytest.mark.parametrize("setup", ["missing", "empty", "file"])
def test_bad_corpus_folder(tmp_path, setup):
    target = tmp_path / "c"
    if setup == "empty":
        target.mkdir()
    elif setup == "file":
        target.write_text("x")
    with pytest.raises(CorpusError, match="--corpus|add some"):
        build_index(IndexSpec(target, tmp_path / "ix", HashingEmbedder(), PARAMS))


@pytest.mark.parametrize("setup", ["missing", "file"])
def test_bad_corpus_folder_fails_before_any_indexing_notice(tmp_path, setup):
    target = tmp_path / "c"
    if setup == "file":
        target.write_text("x")
    notices: list[str] = []
    with pytest.raises(CorpusError, match="--corpus"):
        ensure_index(IndexSpec(target, tmp_path / "ix", HashingEmbedder(), PARAMS), notify=notices.append)
    assert notices == []


def test_chunk_size_over_the_embedder_limit_is_refused(corpus, tmp_path):
    with pytest.raises(CorpusError, match="exceed"):
        build_index(IndexSpec(corpus, tmp_path / "ix", HashingEmbedder(max_tokens=32), PARAMS))
