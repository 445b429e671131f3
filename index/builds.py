"""The build folders of one index: the lock builds take turns on, the switch, the cleanup.

    <index>/CURRENT            name of the live build, replaced atomically (os.replace)
    <index>/.lock              held by the build in progress (fcntl.flock)
    <index>/builds/<id>/       one finished build
    <index>/builds/.<id>.partial/   a build being written

Builds hold the lock; readers take none. A build is written under its `.partial` name, renamed
into place, and only then named in CURRENT; afterwards it removes the builds CURRENT no longer
names, so a reader that loses its build mid-read reads the one CURRENT names now
(index/store.py load_index retries).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from index.errors import IndexWriteError
from index.text import printable

Notify = Callable[[str], None]


def quiet(message: str) -> None:
    pass


def current_name(index_dir: Path) -> str | None:
    """The build that CURRENT names, or None before the first build."""
    try:
        return (index_dir / "CURRENT").read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def live_build(index_dir: Path) -> Path | None:
    name = current_name(index_dir)
    build = index_dir / "builds" / name if name else None
    return build if build is not None and build.is_dir() else None


@contextlib.contextmanager
def writing(index_dir: Path) -> Iterator[None]:
    """Turn a failed write under the index folder into one line that names the folder."""
    try:
        yield
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write the index under {printable(str(index_dir))} ({exc.strerror or exc}); "
            "pass --data-dir DIR with a writable folder"
        ) from exc


@contextlib.contextmanager
def build_lock(index_dir: Path, notify: Notify = quiet) -> Iterator[None]:
    """Hold the lock that builds of one index folder take turns on (POSIX flock on <index>/.lock).

    The kernel drops the lock when its holder exits, kill -9 included, so a dead build never
    blocks the next one. The lock file stays: removing it would let two builds lock two files.
    """
    import fcntl

    with writing(index_dir):
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = (index_dir / ".lock").open("a")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notify("waiting for another build of this index to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


@contextlib.contextmanager
def staging(index_dir: Path) -> Iterator[tuple[str, Path]]:
    """A new build's id and the `.partial` folder to write it in; removed if the build fails.

    Made first, before the articles are read: a read-only folder fails at once, not after
    minutes of embedding. The caller holds the build lock and ends with `publish`.
    """
    build_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.perf_counter_ns() % 10**6:06d}"
    folder = index_dir / "builds" / f".{build_id}.partial"
    with writing(index_dir):
        folder.mkdir(parents=True)
    try:
        yield build_id, folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def publish(index_dir: Path, folder: Path, build_id: str) -> None:
    """Make the written build the live one, then remove what it replaced (under the build lock)."""
    with writing(index_dir):
        os.replace(folder, index_dir / "builds" / build_id)
        pointer = index_dir / f"CURRENT.{os.getpid()}.tmp"
        pointer.write_text(build_id + "\n")
        os.replace(pointer, index_dir / "CURRENT")  # the atomic switch to the new build
    remove_old_builds(index_dir, keep=build_id)


def remove_old_builds(index_dir: Path, keep: str) -> None:
    """Remove every build but the live one, and whatever killed builds left behind.

    Called under the build lock, so no other build is being written: a ".<id>.partial" folder
    or a "CURRENT.<pid>.tmp" file is a leftover of a build that died (kill -9, power loss).
    The build CURRENT names is kept even if it is not `keep`.
    """
    live = {keep, current_name(index_dir)}
    for entry in (index_dir / "builds").iterdir():
        if entry.name not in live:
            shutil.rmtree(entry, ignore_errors=True)
    for pointer in index_dir.glob("CURRENT.*.tmp"):
        pointer.unlink(missing_ok=True)
