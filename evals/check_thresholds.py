"""CI gate: fail when an evaluation summary misses a quality threshold committed beside it.

    .venv/bin/seedqa eval evals/questions.jsonl --report /tmp/eval
    .venv/bin/python evals/check_thresholds.py /tmp/eval/summary.json [evals/thresholds.json]

Exit status 0 when every threshold is met, 1 with one line per miss on stderr, 2 when a file
cannot be used. Latency is reported but never gated (CI machines vary too much).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chat.errors import ChatError
from chat.eval.metrics import check_thresholds
from chat.eval.run import EvalFileError, load_thresholds

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path, help="summary.json written by `seedqa eval --report DIR`")
    parser.add_argument("thresholds", type=Path, nargs="?", default=HERE / "thresholds.json")
    args = parser.parse_args(argv)
    try:
        thresholds = load_thresholds(args.thresholds)
        try:
            summary = json.loads(args.summary.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise EvalFileError(f"cannot read the summary {args.summary}: {exc}") from None
        if not isinstance(summary, dict) or not isinstance(summary.get("metrics"), dict):
            raise EvalFileError(f"{args.summary} is not a summary.json written by `seedqa eval --report`")
    except ChatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failures = check_thresholds(summary, thresholds)
    for failure in failures:
        print(f"threshold missed: {failure}", file=sys.stderr)
    if failures:
        return 1
    checked = sum(len(thresholds.get(d, {})) for d in ("min", "max"))
    print(f"ok: all {checked} thresholds met ({args.summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
