"""What every benchmark shares: options, statistics, load and machine facts, the result report.

A `Report` is a list of rows (metric, value, unit, load average when measured, note) plus raw
data; it prints as a table and is saved as JSON under benchmarks/results/<name>-<stamp>.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # not imported at run time: `cold stages` times the first import of models/
    from models.embedder import Embedder

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SEEDS = ROOT / "seeds"
SHOWCASE = "why did Erdogan pivot after 2016?"
# Other answerable reference questions (evals/questions.jsonl), asked between showcase runs so
# that each showcase prompt reuses only the fixed prefix, not the whole previous prompt.
OTHER_QUESTIONS = (
    "How many Turkish soldiers died in the February-March fighting in Idlib?",
    "When did the first cracks in the Erdogan-Putin relationship appear, and over what issue?",
    "Who wrote the Middle East Eye analysis saying Putin and Erdogan hardly talk anymore?",
)


@dataclass(frozen=True, slots=True)
class Options:
    reps: int = 5  # repetitions per A/B arm (medians are reported)
    chunks: int = 100_000  # size of the synthetic corpus for `scale`
    build_chunks: int = 2_000  # size of the synthetic corpus for `build`
    queries: int = 200  # retrieval queries for `scale`
    threads: tuple[int, ...] = (1, 2)  # LLM thread counts compared by `latency`
    k_values: tuple[int, ...] = (2, 3, 4)  # passages per prompt compared by `latency`
    with_llm: bool = True  # `scale`: also answer one question in the query process (full peak RSS)
    embed_threads: int | None = None  # `scale`: torch threads of the build process (None: torch's default)
    fake: bool = False  # hashing embedder and scripted generator: plumbing only, numbers meaningless
    # `scale`: the real SPLADE list with the hashing embedder for the dense one (its numbers
    # then mean nothing), to measure the sparse list at scale without the hour of embedding.
    sparse_only: bool = False
    workdir: Path = ROOT / "benchmarks" / "results" / "work"
    out: Path = RESULTS


def load() -> float:
    """The one-minute load average (on 2 cores, 2.0 means both are busy)."""
    return round(os.getloadavg()[0], 2)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 200 values is the 198th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return float(ordered[rank - 1])


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's own peak resident memory: VmHWM of /proc/PID/status, in MB.

    Not getrusage's ru_maxrss: Linux keeps that across fork and exec, so a child started by
    a big benchmark process reports at least the parent's peak (every LLM-only child once
    showed the same 4,463 MB). VmHWM belongs to the process's own address space, new at exec.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else float("nan")


def folder_size(folder: Path) -> dict[str, int]:
    """Bytes per file under `folder` (relative names), for index size on disk."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    mem_kb = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    for name in ("llama_cpp_python", "faiss-cpu", "torch", "sentence-transformers", "numpy", "scipy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
    }


@dataclass
class Report:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    load_start: float = field(default_factory=load)

    def add(self, metric: str, value: float | int | str, unit: str = "", note: str = "") -> None:
        """One printed figure; the load average is read now, when the figure was just measured."""
        self.rows.append({"metric": metric, "value": value, "unit": unit, "load": load(), "note": note})

    def value(self, metric: str) -> Any:
        for row in self.rows:
            if row["metric"] == metric:
                return row["value"]
        raise KeyError(metric)

    def table(self) -> str:
        lines = [f"== {self.name} ({self.started}, load {self.load_start} at start) =="]
        width = max((len(r["metric"]) for r in self.rows), default=10)
        for r in self.rows:
            value = r["value"]
            shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
            note = f"  ({r['note']})" if r["note"] else ""
            lines.append(f"  {r['metric']:<{width}}  {shown:>12} {r['unit']:<8} load {r['load']:>5}{note}")
        return "\n".join(lines)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
        payload = {
            "name": self.name,
            "started": self.started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "load_start": self.load_start,
            "load_end": load(),
            "machine": machine(),
            "rows": self.rows,
            "data": self.data,
        }
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        return path


def python_child(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 7200) -> dict[str, Any]:
    """Run `python -m ...` from the repo; its last stdout line is JSON, returned as a dict.

    The child's own peak RSS is taken from wait4's rusage, so only that process is counted.
    """
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=None, text=True
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {process.returncode}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    result["wall_s"] = time.perf_counter() - began
    return result


def emit(result: dict[str, Any]) -> None:
    """A worker's answer to `python_child`: one JSON line on stdout, with its peak RSS."""
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["load"] = load()
    print(json.dumps(result, default=str), flush=True)


def make_embedder(fake: bool) -> Embedder:
    """The product's embedder (chat/app.py `build_embedder`), loaded now so that no arm pays
    for the load, or the hashing fake."""
    if fake:
        from models.fakes import HashingEmbedder

        return HashingEmbedder()
    from chat.app import build_embedder
    from chat.settings import Settings
    from models.e5 import E5Embedder
    from models.embedder import SentenceTransformerEmbedder

    embedder = build_embedder(Settings.load())
    if isinstance(embedder, SentenceTransformerEmbedder | E5Embedder):
        embedder.load()
    embedder.embed_documents(["warm up the model"])
    return embedder


def library_threads() -> dict[str, int]:
    """Threads torch and faiss use now (each only if the process has imported it)."""
    out: dict[str, int] = {}
    if "torch" in sys.modules:
        out["torch"] = sys.modules["torch"].get_num_threads()
    if "faiss" in sys.modules:
        out["faiss"] = sys.modules["faiss"].omp_get_max_threads()
    return out


def set_library_threads(threads: int | dict[str, int]) -> None:
    """Set torch's and faiss's thread counts (an int for both, or as `library_threads` gave)."""
    wanted = threads if isinstance(threads, dict) else {"torch": threads, "faiss": threads}
    if "torch" in sys.modules and "torch" in wanted:
        sys.modules["torch"].set_num_threads(wanted["torch"])
    if "faiss" in sys.modules and "faiss" in wanted:
        sys.modules["faiss"].omp_set_num_threads(wanted["faiss"])
