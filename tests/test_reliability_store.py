"""Index builds and loads under concurrency, kills, damaged files and unwritable folders (issue 19)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import index.store as store
from benchmarks.soak_builds import report, soak
from index import builds
from index.chunk import ChunkingParams
from index.errors import IndexCorruptError, IndexMissingError, IndexWriteError
from index.keyword import KeywordIndex
from index.store import IndexSpec, build_index, ensure_index, index_dir_for, load_index
from models.fakes import HashingEmbedder, HashingSparseEncoder

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ChunkingParams(max_tokens=64)
WAITING = "waiting for another build of this index to finish"
CHANGED = "# Museum\n\nThe museum closed again on Monday.\n"
FILES = (
    "chunks.jsonl", "dense.faiss", "vectors.npy", "keyword.npz", "keyword_vocab.json", "sparse.npz", "sparse.json",
    "manifest.json",
)  # fmt: skip


class StalledEmbedder(HashingEmbedder):
    """Embeds only once `release` is set, so a test can act while this build holds the lock."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.started.set()
        assert self.release.wait(30)
        return super().embed_documents(texts, progress=progress)


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def live_name(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text().strip()


def build_names(index_dir: Path) -> list[str]:
    return sorted(p.name for p in (index_dir / "builds").iterdir())


# 1. Concurrent builds take turns; a waiter does not rebuild what the other one just built.


def race_a_stalled_build(corpus: Path, ix: Path, waiter) -> tuple[object, list[str], HashingEmbedder]:
    """Build once, change an article, then start a rebuild that stalls halfway and run `waiter`
    (build_index or ensure_index) beside it: what the waiter returned, what it said, its embedder."""
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    (corpus / "museum.md").write_text(CHANGED, encoding="utf-8")
    first, second = StalledEmbedder(), HashingEmbedder()
    messages: list[str] = []
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(build_index, IndexSpec(corpus, ix, first, PARAMS))
        assert first.started.wait(30)  # the first build holds the lock, halfway through
        b = pool.submit(waiter, IndexSpec(corpus, ix, second, PARAMS), notify=messages.append)
        wait_for(lambda: bool(messages))
        first.release.set()
        a.result()
        return b.result(), messages, second


def test_second_build_waits_for_the_first_and_says_so(corpus, tmp_path):
    ix = tmp_path / "ix"
    _, messages, second = race_a_stalled_build(corpus, ix, build_index)
    assert messages == [WAITING]
    assert second.calls == []  # it started after the first finished, and reused all its vectors
    assert build_names(ix) == [live_name(ix)]
    assert any("closed again" in c.text for c in load_index(ix).chunks)


def test_waiter_uses_the_index_the_other_process_built(corpus, tmp_path):
    ix = tmp_path / "ix"
    loaded, messages, second = race_a_stalled_build(corpus, ix, ensure_index)
    assert messages == [WAITING]  # no "indexing ..." after the wait: the index was fresh by then
    assert second.calls == []
    assert any("closed again" in c.text for c in loaded.chunks)
    assert len(build_names(ix)) == 1


def test_cleanup_never_removes_the_build_current_names(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    live = live_name(ix)
    (ix / "builds" / "20200101-000000-1-000001").mkdir()  # an old build
    # Issue 19's race: one run cleans up keeping its own build after the other has switched CURRENT.
    builds.remove_old_builds(ix, keep="20990101-000000-2-000002")
    assert build_names(ix) == [live]
    assert load_index(ix).chunks


# 2. A reader whose build is replaced mid-read loads the new one.


@pytest.mark.parametrize("when", ["before reading", "mid-read"])
def test_reader_retries_when_a_rebuild_removes_its_build(corpus, tmp_path, monkeypatch, when):
    ix = tmp_path / "ix"
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    old = live_name(ix)
    (corpus / "museum.md").write_text(CHANGED, encoding="utf-8")
    switched: list[str] = []

    def other_process_rebuilds() -> None:
        if not switched:
            switched.append("yes")
            build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))  # switches CURRENT, removes `old`

    if when == "before reading":
        real_current = builds.current_name

        def current_then_switch(index_dir: Path) -> str | None:
            name = real_current(index_dir)
            other_process_rebuilds()
            return name

        monkeypatch.setattr(builds, "current_name", current_then_switch)
    else:
        real_load = KeywordIndex.load.__func__  # type: ignore[attr-defined]

        def switch_then_load(cls: type[KeywordIndex], folder: Path) -> KeywordIndex:
            other_process_rebuilds()
            return real_load(cls, folder)

        monkeypatch.setattr(KeywordIndex, "load", classmethod(switch_then_load))
    loaded = load_index(ix)
    assert switched and loaded.folder.name != old and not (ix / "builds" / old).exists()
    assert any("closed again" in c.text for c in loaded.chunks)


def test_damaged_live_build_is_reported_without_retrying(corpus, tmp_path, monkeypatch):
    ix = tmp_path / "ix"
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    keyword = ix / "builds" / live_name(ix) / "keyword.npz"
    keyword.write_bytes(keyword.read_bytes()[:100])
    calls: list[Path] = []
    real_load = KeywordIndex.load.__func__  # type: ignore[attr-defined]

    def counted(cls: type[KeywordIndex], folder: Path) -> KeywordIndex:
        calls.append(folder)
        return real_load(cls, folder)

    monkeypatch.setattr(KeywordIndex, "load", classmethod(counted))
    with pytest.raises(IndexCorruptError, match=r"is unreadable \(.*\); rebuild it with `seedqa index --corpus DIR`"):
        load_index(ix)
    assert len(calls) == 1


def test_current_naming_a_missing_build_is_a_missing_index(tmp_path):
    (tmp_path / "ix" / "builds").mkdir(parents=True)
    (tmp_path / "ix" / "CURRENT").write_text("20200101-000000-1-000001\n")
    with pytest.raises(IndexMissingError, match="seedqa index"):
        load_index(tmp_path / "ix")


# 3. Builds killed mid-way leave nothing behind once the next build has run.

KILLED_BUILD = """
import sys, time
from pathlib import Path

import index.keyword
from index.chunk import ChunkingParams
from index.store import IndexSpec, build_index
from models.fakes import HashingEmbedder

corpus, index_dir, marker, phase = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]


def stall():
    marker.touch()
    time.sleep(120)  # until the test kills this process


class StalledEmbedder(HashingEmbedder):
    def embed_documents(self, texts, *, progress=False):
        if phase == "embedding":
            stall()
        return super().embed_documents(texts, progress=progress)


save = index.keyword.KeywordIndex.save


def stalled_save(self, folder):
    save(self, folder)
    stall()


if phase == "writing":
    index.keyword.KeywordIndex.save = stalled_save
build_index(IndexSpec(corpus, index_dir, StalledEmbedder(), ChunkingParams(max_tokens=64)))
"""


@pytest.mark.parametrize("phase", ["embedding", "writing"])
def test_killed_build_keeps_the_old_index_and_the_next_build_removes_its_leftovers(corpus, tmp_path, phase):
    ix = tmp_path / "ix"
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    before = load_index(ix).chunks
    (corpus / "museum.md").write_text(CHANGED, encoding="utf-8")
    marker = tmp_path / "stalled"
    args = [sys.executable, "-c", KILLED_BUILD, str(corpus), str(ix), str(marker), phase]
    process = subprocess.Popen(args, cwd=ROOT)
    try:
        wait_for(lambda: marker.exists() or process.poll() is not None, 60)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert marker.exists(), "the build ended before it reached the point where it is killed"
    partials = [p for p in (ix / "builds").iterdir() if p.name.endswith(".partial")]
    assert len(partials) == 1
    if phase == "writing":
        assert (partials[0] / "keyword.npz").is_file()
    assert load_index(ix).chunks == before

    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))  # the lock died with the killed process
    assert build_names(ix) == [live_name(ix)]
    assert any("closed again" in c.text for c in load_index(ix).chunks)


def test_next_build_removes_partial_folders_and_pointer_files_of_dead_builds(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    partial = ix / "builds" / ".20200101-000000-99999-000001.partial"
    partial.mkdir()
    (partial / "chunks.jsonl").write_text("{}\n")
    (ix / "CURRENT.99999.tmp").write_text("20200101-000000-99999-000001\n")
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    assert build_names(ix) == [live_name(ix)]
    assert list(ix.glob("CURRENT.*.tmp")) == []


# 4. A truncated index file, whichever it is, is a clean IndexCorruptError.


def test_every_index_file_is_covered(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS, HashingSparseEncoder()))
    assert sorted(p.name for p in (ix / "builds" / live_name(ix)).iterdir()) == sorted(FILES)


@pytest.mark.parametrize("cut", ["empty", "half", "last 10 bytes"])
@pytest.mark.parametrize("name", FILES)
def test_truncated_index_file_is_reported_and_rebuilt(corpus, tmp_path, name, cut):
    ix = tmp_path / "ix"
    embedder, encoder = HashingEmbedder(), HashingSparseEncoder()
    build_index(IndexSpec(corpus, ix, embedder, PARAMS, encoder))
    path = ix / "builds" / live_name(ix) / name
    data = path.read_bytes()
    path.write_bytes(data[: {"empty": 0, "half": len(data) // 2, "last 10 bytes": len(data) - 10}[cut]])
    with pytest.raises(IndexCorruptError, match=r"the index at .* is (unreadable|inconsistent).*rebuild it"):
        load_index(ix)
    assert isinstance(store._previous_vectors(ix, embedder), dict)
    assert isinstance(store._previous_sparse(ix, encoder), dict)
    build_index(IndexSpec(corpus, ix, embedder, PARAMS, encoder))  # a rebuild repairs it
    assert load_index(ix).sparse is not None


# 5. An index folder that cannot be written fails at once, in one line, before any embedding.


def test_data_dir_that_is_a_file_fails_before_reading_the_corpus(corpus, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.write_text("not a folder")
    read: list[Path] = []
    monkeypatch.setattr(store, "read_corpus", lambda folder: read.append(folder) or ([], []))
    embedder = HashingEmbedder()
    with pytest.raises(IndexWriteError, match=r"cannot write the index under .*data.*; pass --data-dir DIR") as info:
        build_index(IndexSpec(corpus, index_dir_for(data, corpus), embedder, PARAMS))
    assert "\n" not in str(info.value) and "Not a directory" in str(info.value)
    assert read == [] and embedder.calls == []
    with pytest.raises(IndexWriteError):
        ensure_index(IndexSpec(corpus, index_dir_for(data, corpus), embedder, PARAMS))


def writable(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.mkdir()
    except OSError:
        return False
    probe.rmdir()
    return True


def test_read_only_data_dir_fails_before_reading_the_corpus(corpus, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    try:
        if writable(data):
            pytest.skip("this user writes into a read-only folder (root)")
        embedder = HashingEmbedder()
        with pytest.raises(IndexWriteError, match=r"cannot write the index under .*\(Permission denied\); pass --data"):
            build_index(IndexSpec(corpus, index_dir_for(data, corpus), embedder, PARAMS))
        assert embedder.calls == []
    finally:
        data.chmod(0o700)


def test_fresh_index_in_a_read_only_folder_still_loads(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    folders = [ix, ix / "builds", ix / "builds" / live_name(ix)]
    for folder in folders:
        folder.chmod(0o500)
    try:
        if writable(ix / "builds"):
            pytest.skip("this user writes into a read-only folder (root)")
        assert ensure_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS)).chunks  # fresh: no lock, no write
        with pytest.raises(IndexWriteError, match="cannot write the index under"):
            build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    finally:
        for folder in folders:
            folder.chmod(0o700)


# The soak run of benchmarks/soak_builds.py, short: processes, not threads.


def test_short_soak_of_concurrent_builds_and_a_reader(tmp_path):
    result = soak(tmp_path, HashingEmbedder(), HashingSparseEncoder(), rounds=10, seconds=120)
    assert result.rounds == 10 and result.builds == 20 and result.loads > 0
    assert result.ok, report(result, 10)


# 6. What the manifest records about files it did not index.


def test_a_skipped_file_that_is_fixed_makes_the_index_stale(corpus, tmp_path):
    ix = tmp_path / "ix"
    (corpus / "latin1.txt").write_bytes("Caf\xe9 society returns to the harbor.\n".encode("latin-1"))
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    assert store.stale_reasons(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS)) == []
    (corpus / "latin1.txt").write_text("Café society returns to the harbor.\n", encoding="utf-8")
    assert store.stale_reasons(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS)) == [
        "latin1.txt changed (it was skipped)"
    ]


def test_a_link_out_of_the_corpus_is_never_read_for_staleness(corpus, tmp_path):
    ix = tmp_path / "ix"
    secret = tmp_path / "secret.txt"
    secret.write_text("The password of the server is hunter2.\n", encoding="utf-8")
    (corpus / "secret.txt").symlink_to(secret)
    report = build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    assert [s.source for s in report.skipped] == ["secret.txt"]
    secret.write_text("The password of the server is now hunter3.\n", encoding="utf-8")
    assert store.stale_reasons(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS)) == []
    assert not any("hunter" in c.text for c in load_index(ix).chunks)


def test_a_file_name_that_is_not_utf8_is_indexed_and_loads_back(corpus, tmp_path):
    ix = tmp_path / "ix"
    name = os.fsdecode(b"caf\xe9.txt")  # a Latin-1 name: a lone surrogate in Python
    (corpus / name).write_text("# Cafe\n\nThe cafe by the harbor reopened on Friday.\n", encoding="utf-8")
    build_index(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS))
    loaded = load_index(ix)
    assert name in {c.source for c in loaded.chunks}
    assert loaded.source_text(name) is not None
    assert store.stale_reasons(IndexSpec(corpus, ix, HashingEmbedder(), PARAMS)) == []
