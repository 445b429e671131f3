"""Present an evaluation: the terminal table, summary.json, report.md and the chart it embeds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chat.eval.metrics import LATENCY, METRICS, Metric, Question, Result, Summary, judge, summary_to_dict

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
CHART_FILE = "chart.png"
CURVE_FILE = "risk_coverage.png"
MAX_LISTED = 25  # wrong answers listed in report.md; the rest are counted
PHASES = (("retrieval", "#4c72b0"), ("prompt", "#dd8452"), ("generation", "#55a868"))


def bounds(thresholds: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """{metric: ("min" | "max", bound)} from a thresholds file's "min" and "max" sections."""
    return {name: (d, bound) for d in ("min", "max") for name, bound in thresholds.get(d, {}).items()}


def meets(value: float | None, bound: tuple[str, float]) -> bool:
    direction, limit = bound
    return value is not None and (value >= limit if direction == "min" else value <= limit)


def _value(key: str, metric: Metric) -> str:
    if metric.value is None:
        return "-"
    return f"{metric.value:.2f}" if key in LATENCY else f"{metric.value:.3f}"


def _over(metric: Metric) -> str:
    if metric.count is None:
        return str(metric.n)
    count = f"{metric.count:g}" if float(metric.count).is_integer() else f"{metric.count:.2f}"  # MRR
    return f"{count}/{metric.n}"


def _threshold(metric: Metric, bound: tuple[str, float] | None, *, ascii_only: bool) -> str:
    if bound is None:
        return ""
    sign = {"min": ">=", "max": "<="}[bound[0]] if ascii_only else {"min": "≥", "max": "≤"}[bound[0]]
    verdict = "ok" if meets(metric.value, bound) else "FAIL"
    return f"{sign} {bound[1]:g} {verdict}"


def _headline(summary: Summary) -> str:
    return (
        f"{summary.n_questions} questions ({summary.n_answerable} answerable, "
        f"{summary.n_unanswerable} unanswerable), {summary.n_failed} failed"
    )


def format_table(summary: Summary, thresholds: dict[str, Any] | None = None) -> str:
    """The summary as an aligned plain-text table (stdout of `seedqa eval`)."""
    limits = bounds(thresholds or {})
    rows = [("metric", "value", "over", "threshold")]
    for key, metric in summary.metrics.items():
        rows.append(
            (
                METRICS[key][0],
                _value(key, metric),
                _over(metric),
                _threshold(metric, limits.get(key), ascii_only=True),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{_headline(summary)}; k = {summary.run.get('k', '?')}"]
    for row in rows:
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip())
    return "\n".join(lines)


def write_report(
    folder: Path,
    summary: Summary,
    results: Sequence[Result],
    questions: Sequence[Question],
    thresholds: dict[str, Any] | None = None,
) -> list[Path]:
    """Write summary.json, chart.png and report.md (which embeds the chart) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    summary_path = folder / SUMMARY_FILE
    summary_path.write_text(json.dumps(summary_to_dict(summary), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    chart_path = folder / CHART_FILE
    draw_chart(chart_path, summary, results, questions, thresholds or {})
    curve_path = folder / CURVE_FILE
    draw_risk_coverage(curve_path, summary)
    report_path = folder / REPORT_FILE
    # A question with a lone surrogate (not UTF-8) is shown escaped instead of failing the report.
    report_path.write_text(
        format_markdown(summary, results, questions, thresholds or {}), encoding="utf-8", errors="backslashreplace"
    )
    return [summary_path, report_path, chart_path, curve_path]


def operating_point(summary: Summary) -> tuple[float, float, float | None] | None:
    """The risk-coverage point of the installed confidence threshold (the lowest point above it)."""
    threshold = summary.run.get("confidence_threshold")
    if threshold is None or not summary.risk_coverage:
        return None
    above = [p for p in summary.risk_coverage if p[0] >= threshold]
    return above[-1] if above else (threshold, 0.0, None)


def format_checks(summary: Summary) -> list[str]:
    """The rejections per answer check, and the risk-coverage curve in a few rows."""
    lines = [
        "## Answer checks",
        "",
        "Answers each check rejected (chat/checks); 'alone' counts those no other check rejected.",
        "",
        "| check | on answerable questions | on unanswerable questions | alone |",
        "|---|---:|---:|---:|",
    ]
    for name, row in summary.rejections.items():
        lines.append(f"| {name} | {row['answerable']} | {row['unanswerable']} | {row['alone']} |")
    if not summary.rejections:
        lines.append("| (no answer reached the checks) | | | |")
    lines += ["", "## Risk and coverage", ""]
    if not summary.risk_coverage:
        return [*lines, "No confidence estimates (no calibration installed, or no answers).", ""]
    point = operating_point(summary)
    lines += [
        "Accuracy of the answered questions against the share of all questions answered, as the",
        "confidence threshold varies (answers the model or another check refused are never answered).",
        "",
        f"![Risk-coverage curve]({CURVE_FILE})",
        "",
        "| threshold | answered (share of all) | accuracy of the answered |",
        "|---:|---:|---:|",
    ]
    curve = summary.risk_coverage
    step = max(1, len(curve) // 8)
    shown = list(dict.fromkeys([*curve[::step], curve[-1], *([point] if point else [])]))
    for p in sorted(shown, key=lambda p: -p[0]):
        mark = " (operating point)" if p == point else ""
        accuracy = "-" if p[2] is None else f"{p[2]:.3f}"
        lines.append(f"| {p[0]:.3f}{mark} | {p[1]:.3f} | {accuracy} |")
    return [*lines, ""]


def draw_risk_coverage(path: Path, summary: Summary) -> None:
    """Accuracy of the answered against coverage, with the operating point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
    curve = [p for p in summary.risk_coverage if p[2] is not None]
    if curve:
        ax.plot([p[1] for p in curve], [p[2] or 0.0 for p in curve], marker=".", color="#4c72b0")
    point = operating_point(summary)
    if point is not None and point[2] is not None:
        ax.plot([point[1]], [point[2]], marker="o", markersize=10, color="#c44e52", linestyle="none",
                label=f"operating point (threshold {summary.run.get('confidence_threshold')})")  # fmt: skip
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xlabel("share of questions answered (coverage)")
    ax.set_ylabel("accuracy of the answered")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(_headline(summary), fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def format_markdown(
    summary: Summary, results: Sequence[Result], questions: Sequence[Question], thresholds: dict[str, Any]
) -> str:
    run = summary.run
    limits = bounds(thresholds)
    lines = [
        "# Evaluation report",
        "",
        f"{_headline(summary)}, from `{run.get('questions_file', '?')}`"
        + (f" (first {run['limit']} only)" if run.get("limit") else "")
        + ".",
        f"Embedder `{run.get('embedder', '?')}`, generator `{run.get('generator', '?')}`; "
        f"{run.get('k', '?')} passages given to the model; retrieval hit@1/3/5 and MRR from a separate "
        f"search {run.get('search_k', '?')} deep. Started {run.get('started', '?')}, "
        f"{run.get('wall_s', '?')} s in all, seedqa {run.get('seedqa_version', '?')}.",
        "Definitions and denominators: docs/EVALUATION.md.",
        "",
    ]
    lines += ["## Quality", "", "| metric | value | over | threshold |", "|---|---:|---:|---|"]
    for key in [k for k in summary.metrics if k not in LATENCY]:
        metric = summary.metrics[key]
        threshold = _threshold(metric, limits.get(key), ascii_only=False)
        lines.append(f"| {METRICS[key][0]} | {_value(key, metric)} | {_over(metric)} | {threshold} |")
    lines += ["", "## Latency", "", "| metric | value | answers |", "|---|---:|---:|"]
    for key in [k for k in summary.metrics if k in LATENCY]:
        metric = summary.metrics[key]
        lines.append(f"| {METRICS[key][0]} | {_value(key, metric)} | {metric.n} |")
    lines.append("")
    lines += [
        f"![Time per question (retrieval, prompt, generation) and quality against thresholds]({CHART_FILE})",
        "",
    ]
    lines += format_checks(summary)
    lines += _problem_lists(results, questions)
    return "\n".join(lines).rstrip() + "\n"


def _problem_lists(results: Sequence[Result], questions: Sequence[Question]) -> list[str]:
    by_id = {q.id: q for q in questions}
    wrong: list[str] = []
    misses: list[str] = []
    failed: list[str] = []
    for result in results:
        question = by_id[result.id]
        if result.answer is None:
            failed.append(f"- `{result.id}` {question.question} — {_excerpt(result.error or '')}")
            continue
        judgment = judge(question, result.answer, result.search)
        if question.evidence and (judgment.search_rank is None or judgment.search_rank > 5):
            found = "not in the top 10" if judgment.search_rank is None else f"first at rank {judgment.search_rank}"
            misses.append(f"- `{result.id}` {question.question} — evidence {found}")
        if judgment.correct:
            continue
        if not question.answerable:
            why = "answered an unanswerable question"
        elif result.answer.refused:
            why = (
                f"refused although passage [{judgment.given_rank}] was relevant"
                if judgment.given_rank
                else "refused; no relevant passage was given"
            )
        else:
            why = "missing " + "; ".join(" / ".join(group) for group in judgment.missing_keys)
        wrong.append(f"- `{result.id}` {question.question} — {why}. Answer: “{_excerpt(result.answer.text)}”")
    lines: list[str] = []
    for title, items in (
        ("Wrong answers", wrong),
        ("Retrieval misses: evidence not in the top 5", misses),
        ("Failed questions", failed),
    ):
        lines += [f"## {title} ({len(items)})", ""]
        lines += items[:MAX_LISTED] or ["None."]
        if len(items) > MAX_LISTED:
            lines.append(f"- … and {len(items) - MAX_LISTED} more (see the results JSONL)")
        lines.append("")
    return lines


def _phases(result: Result) -> tuple[float, float, float]:
    """(retrieval, prompt, generation) seconds: prompt ~ ttft - retrieval, generation = total - ttft."""
    if result.answer is None:
        return (0.0, 0.0, 0.0)
    t = result.answer.timings
    return (t.retrieve_s, max(0.0, t.ttft_s - t.retrieve_s), max(0.0, t.total_s - t.ttft_s))


def draw_chart(
    path: Path,
    summary: Summary,
    results: Sequence[Result],
    questions: Sequence[Question],
    thresholds: dict[str, Any],
) -> None:
    """Left: stacked time per question (wrong ones in red). Right: quality bars against thresholds."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed (CI, servers)
    import matplotlib.pyplot as plt

    n = max(1, len(results))
    height = max(8.5, 0.2 * n + 1.5)  # ~0.2 in per question keeps 80 ids readable
    fig = plt.figure(figsize=(13, height), layout="constrained")
    # Right column: quality bars in the top 6 in, the latency numbers as text below.
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 2], height_ratios=[6.0, height - 6.0])
    timing = fig.add_subplot(grid[:, 0])
    quality = fig.add_subplot(grid[0, 1])

    ids = [r.id for r in results]
    ys = list(range(len(results)))
    left = [0.0] * len(results)
    for index, (phase, color) in enumerate(PHASES):
        widths = [_phases(r)[index] for r in results]
        timing.barh(ys, widths, left=left, color=color, label=phase, height=0.75)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    by_id = {q.id: q for q in questions}
    for y, result in zip(ys, results, strict=True):
        if result.failed:
            timing.text(0, y, " failed", va="center", color="#c44e52", fontsize=7)
    timing.set_yticks(ys, ids, fontsize=7)
    for tick, result in zip(timing.get_yticklabels(), results, strict=True):
        if result.answer is None or not judge(by_id[result.id], result.answer, result.search).correct:
            tick.set_color("#c44e52")
    # First question on top, as in the questions file; room for 12 keeps a short run's bars thin.
    timing.set_ylim(max(len(results), 12) - 0.5, -0.5)
    timing.set_xlabel("seconds (question ids in red: wrong answer or failed)")
    timing.set_title("Where the time goes, per question")
    timing.grid(axis="x", alpha=0.3)

    limits = bounds(thresholds)
    keys = [k for k in summary.metrics if k not in LATENCY]
    values = [summary.metrics[k].value or 0.0 for k in keys]
    colors = [
        "#999999" if k not in limits else ("#55a868" if meets(summary.metrics[k].value, limits[k]) else "#c44e52")
        for k in keys
    ]
    qy = list(range(len(keys)))
    quality.barh(qy, values, color=colors, height=0.7)
    for y, key, value in zip(qy, keys, values, strict=True):
        metric = summary.metrics[key]
        quality.text(value + 0.01, y, "-" if metric.value is None else f"{value:.2f}", va="center", fontsize=7)
        if key in limits:
            quality.plot([limits[key][1]] * 2, [y - 0.45, y + 0.45], color="black", linewidth=2)
    quality.set_yticks(qy, [METRICS[k][0] for k in keys], fontsize=7)
    quality.invert_yaxis()
    quality.set_xlim(0, max([1.0, *values]) * 1.12)
    quality.set_title("Quality (black tick: threshold; green met, red missed)", fontsize=9)
    quality.grid(axis="x", alpha=0.3)

    note = fig.add_subplot(grid[1, 1])
    note.axis("off")
    latency = [f"{METRICS[k][0]}: {_value(k, summary.metrics[k])}" for k in summary.metrics if k in LATENCY]
    note.text(0, 1, "\n".join([_headline(summary), "", *latency]), va="top", fontsize=8, family="monospace")
    handles, labels = timing.get_legend_handles_labels()
    note.legend(handles, labels, title="time per question", loc="lower left", fontsize=8)

    fig.savefig(path, dpi=100)
    plt.close(fig)
