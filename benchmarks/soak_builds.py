"""`soak_builds`: two builds of one index at a time, round after round, while a reader loads it.

Issue 19: two `seedqa index` runs at once could delete the live index (each removed the other's
new build), a reader could lose its build mid-read, and killed builds left `.partial` folders.
Each round changes one of ten generated articles; two fresh processes, released together by a
barrier, run `build_index` on the same index folder; a third process calls `load_index` in a loop
for the whole run. After each round CURRENT must name a build that exists and the live build must
be the only thing left in builds/ (no `.partial` folder, no old build, no `CURRENT.*.tmp`).
Fakes only (models/fakes.py), local files only, bounded by rounds and seconds. Exit status 1 when
an index was lost, a build or a load failed, or anything was left behind.

    .venv/bin/python -m benchmarks.soak_builds [--rounds 200] [--seconds 900] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue  # queue.Empty: what a multiprocessing queue's get raises on timeout
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

from index.chunk import ChunkingParams
from index.store import IndexSpec, build_index, load_index
from models.embedder import Embedder
from models.fakes import HashingEmbedder, HashingSparseEncoder
from models.splade import SparseEncoder

ARTICLES = 10
BUILDERS = 2
PARAMS = ChunkingParams(max_tokens=64)
# A build of ten articles takes a fraction of a second and a spawned process starts in about
# one; a process still running after this long is hung (a lock that is never released).
WAIT_SECONDS = 120.0
KEPT_ERRORS = 5  # error messages kept for the report; all are counted


@dataclass(frozen=True, slots=True)
class SoakResult:
    rounds: int
    builds: int  # build_index calls that returned
    build_errors: int  # build_index calls that raised, hung or died
    waits: int  # builds that waited for the other one's lock
    lost: int  # rounds after which CURRENT named a build that does not exist
    loads: int  # load_index calls of the reader that returned
    load_errors: int  # load_index calls that raised anything
    partials_left: int  # ".partial" folders and "CURRENT.*.tmp" files after a round, summed over rounds
    builds_left: int  # builds other than the live one after a round, summed over rounds
    seconds: float
    errors: tuple[str, ...]  # the first few messages of the failures

    @property
    def ok(self) -> bool:
        return not (self.lost or self.build_errors or self.load_errors or self.partials_left or self.builds_left)


def write_article(corpus: Path, number: int, edition: int) -> None:
    """Article `number` as of round `edition`: the same report each time, with a new last line."""
    text = (
        f"# Harbor report {number}\n\n"
        f"The harbor authority of district {number} met on Monday to discuss the ferry terminal. "
        f"Officials said construction would cost {number + 3} million euros over four years.\n\n"
        "Residents asked about noise and traffic near the pier. The council promised a study of both.\n\n"
        f"In edition {edition}, the vote on the terminal was moved to week {edition % 52 + 1}.\n"
    )
    (corpus / f"article-{number:02d}.md").write_text(text, encoding="utf-8")


def _builder(
    corpus: Path, index_dir: Path, embedder: Embedder, sparse: SparseEncoder, barrier: Barrier, results: Queue
) -> None:
    waited: list[str] = []
    try:
        barrier.wait(WAIT_SECONDS)  # both builders start together, after their imports
        build_index(IndexSpec(corpus, index_dir, embedder, PARAMS, sparse), notify=waited.append)
    except Exception as exc:  # counted, not raised: the soak reports every failure
        results.put(("error", f"build: {type(exc).__name__}: {exc}"))
    else:
        results.put(("ok", bool(waited)))


def _reader(index_dir: Path, reading: Event, stop: Event, results: Queue) -> None:
    loads = errors = 0
    messages: list[str] = []
    while not stop.is_set():
        try:
            load_index(index_dir)
            loads += 1
        except Exception as exc:  # any exception is a reader error
            errors += 1
            if len(messages) < KEPT_ERRORS:
                messages.append(f"load: {type(exc).__name__}: {exc}")
        reading.set()
    results.put((loads, errors, messages))


def _leftovers(index_dir: Path) -> tuple[bool, int, int]:
    """(lost, partials, old builds) of an index folder that no build is writing."""
    name = (index_dir / "CURRENT").read_text().strip()
    entries = [entry.name for entry in (index_dir / "builds").iterdir()]
    partials = sum(e.startswith(".") for e in entries) + len(list(index_dir.glob("CURRENT.*.tmp")))
    old = sum(not e.startswith(".") and e != name for e in entries)
    return name not in entries, partials, old


def soak(
    work: Path, embedder: Embedder, sparse: SparseEncoder, *, rounds: int = 200, seconds: float = 900.0
) -> SoakResult:
    """Run up to `rounds` rounds of concurrent builds in `work`, stopping once `seconds` have passed."""
    began = time.monotonic()
    # Fresh interpreters, as two `seedqa index` commands are; fork would also copy this
    # process's threads (faiss's OpenMP pool) into children that may hang on them.
    ctx = multiprocessing.get_context("spawn")
    corpus, index_dir = work / "corpus", work / "index"
    corpus.mkdir(parents=True, exist_ok=True)
    for number in range(ARTICLES):
        write_article(corpus, number, 0)
    build_index(IndexSpec(corpus, index_dir, embedder, PARAMS, sparse))  # the reader starts on a live index

    built: Queue = ctx.Queue()
    read: Queue = ctx.Queue()
    reading, stop = ctx.Event(), ctx.Event()
    reader = ctx.Process(target=_reader, args=(index_dir, reading, stop, read), daemon=True)
    reader.start()
    reading.wait(WAIT_SECONDS)
    done = builds = build_errors = waits = lost = partials_left = builds_left = 0
    errors: list[str] = []
    try:
        while done < rounds and time.monotonic() - began < seconds:
            done += 1
            write_article(corpus, done % ARTICLES, done)
            barrier = ctx.Barrier(BUILDERS)
            builders = [
                ctx.Process(target=_builder, args=(corpus, index_dir, embedder, sparse, barrier, built))
                for _ in range(BUILDERS)
            ]
            for process in builders:
                process.start()
            deadline = time.monotonic() + WAIT_SECONDS
            for process in builders:
                process.join(max(0.0, deadline - time.monotonic()))
            for process in builders:
                if process.is_alive():
                    process.kill()  # hung: its result is missing below, so it counts as an error
                    process.join()
            for _ in builders:
                try:
                    status, detail = built.get(timeout=5)
                except queue.Empty:
                    status, detail = "error", "build: the process ended without a result (hung or killed)"
                if status == "ok":
                    builds += 1
                    waits += bool(detail)
                else:
                    build_errors += 1
                    if len(errors) < KEPT_ERRORS:
                        errors.append(f"round {done}: {detail}")
            was_lost, partials, old = _leftovers(index_dir)
            lost += was_lost
            partials_left += partials
            builds_left += old
    finally:
        stop.set()
        try:
            loads, load_errors, messages = read.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            loads, load_errors, messages = 0, 1, ["load: the reader process ended without a result"]
        reader.join(WAIT_SECONDS)
        if reader.is_alive():
            reader.kill()
    return SoakResult(
        rounds=done, builds=builds, build_errors=build_errors, waits=waits, lost=lost, loads=loads,
        load_errors=load_errors, partials_left=partials_left, builds_left=builds_left,
        seconds=time.monotonic() - began, errors=tuple(errors + messages[: KEPT_ERRORS]),
    )  # fmt: skip


def report(result: SoakResult, rounds: int) -> str:
    lines = [
        f"rounds              {result.rounds} of {rounds} in {result.seconds:.1f} s",
        f"builds completed    {result.builds} ({result.build_errors} failed; {result.waits} waited for the other)",
        f"lost indexes        {result.lost}",
        f"reader loads        {result.loads}",
        f"reader errors       {result.load_errors}",
        f"leftover partials   {result.partials_left}",
        f"leftover builds     {result.builds_left}",
    ]
    lines += [f"  {message}" for message in result.errors]
    lines.append("ok" if result.ok else "FAILED")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak_builds", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="rounds of two concurrent builds (default 200)")
    parser.add_argument("--seconds", type=float, default=900.0, help="start no round after this long (default 900)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the corpus and index here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-builds-") as tmp:
        work = args.workdir or Path(tmp)
        result = soak(work, HashingEmbedder(), HashingSparseEncoder(), rounds=args.rounds, seconds=args.seconds)
    print(report(result, args.rounds))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
