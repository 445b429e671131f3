"""Every benchmark entry point runs on fakes, as its command line starts it (tiny sizes).

tests/test_benchmarks.py calls the benchmarks' `run` functions; these go through the commands:
`python -m benchmarks.run` for each benchmark name (scale with the LLM answer in its query
process), `python -m benchmarks.cold stages | llm-memory`, `benchmarks.soak_builds` and
`benchmarks.lookup`. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from benchmarks import cold, lookup, soak_builds
from benchmarks.common import Report, python_child
from benchmarks.run import main as run_main

DATA = Path(__file__).resolve().parent / "data"


def _run(tmp_path: Path, *args: str) -> dict[str, Report]:
    """`python -m benchmarks.run ARGS --fake` in `tmp_path`; the reports by name."""
    out = Path(tempfile.mkdtemp(prefix="results-", dir=tmp_path))  # one folder per run
    reports = run_main([*args, "--fake", "--workdir", str(tmp_path / "work"), "--out", str(out)])
    for report in reports:  # each saved as JSON, with the machine beside the rows
        saved = json.loads(next(out.glob(f"{report.name}-*.json")).read_text(encoding="utf-8"))
        assert saved["rows"] == report.rows and saved["machine"]["nproc"] >= 1
    return {report.name: report for report in reports}


def test_scale_answers_with_the_llm_in_its_query_process(tmp_path: Path) -> None:
    reports = _run(tmp_path, "scale", "--with-llm", "--chunks", "150", "--queries", "8")
    report = reports["scale-150"]
    llm = report.data["query"]["llm"]
    assert llm["prime"] == "fake" and llm["prompt_tokens"] > 0 and llm["completion_tokens"] > 0
    assert report.value("query process peak RSS (with LLM answer)") > 0
    again = _run(tmp_path, "scale", "--chunks", "150", "--queries", "8", "--no-llm", "--reuse-index")
    assert "llm" not in again["scale-150"].data["query"]


def test_latency_and_build_through_the_command(tmp_path: Path) -> None:
    reports = _run(tmp_path, "latency", "build", "--reps", "2", "--build-chunks", "60", "--threads", "1",
                   "--k-values", "2")  # fmt: skip
    assert set(reports) == {"latency", "build"}
    assert reports["latency"].value("showcase TTFT with k=2 passages") >= 0
    assert reports["build"].value("build / embed ratio") > 0


def test_cold_stages_and_llm_memory_in_fresh_processes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "corpus", corpus)
    env = {**os.environ, "SEEDQA_DATA_DIR": str(tmp_path / "data"), "SEEDQA_CORPUS": str(corpus)}
    staged = python_child(["-m", "benchmarks.cold", "stages", "--fake"], env=env, timeout=120)
    assert staged["check + load index"] > 0 and staged["second search"] >= 0
    # Uses the index the stages built; two answers of the scripted generator.
    used = python_child(["-m", "benchmarks.cold", "llm-memory", "2048", "512", "2", "--fake"], env=env, timeout=120)
    assert used["prime"] == "fake" and used["n_ctx"] == 2048 and used["prompt_tokens"] > 0
    assert used["peak_rss_mb"] > 0
    with pytest.raises(SystemExit, match="usage"):
        cold.main(["nonsense"])


def test_soak_builds_command_reports_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert soak_builds.main(["--rounds", "1", "--seconds", "60", "--workdir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "rounds              1 of 1" in printed and printed.rstrip().endswith("ok")


def test_lookup_parses_its_options_without_loading_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    # Two real Llama instances are its whole point: by hand only (`python -m benchmarks.lookup`).
    with pytest.raises(SystemExit) as exit_info:
        lookup.main(["--help"])
    assert exit_info.value.code == 0 and "--draft" in capsys.readouterr().out
