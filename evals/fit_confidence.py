"""Fit the calibrated abstention (chat/checks/confidence.py) on recorded development runs.

    .venv/bin/python evals/fit_confidence.py \
        --set RESULTS.jsonl QUESTIONS.jsonl CORPUS [--set ...] \
        [--max-false-refusals 0.10] [--out chat/checks/confidence.json]

Every recorded answer is checked again (evals/replay.py) by all checks but the confidence
check itself. Each answer that passes them is one example: its features
(`confidence.features`) and whether it is right (answer keys present; any answer to an
unanswerable question is wrong). A logistic regression (L2, Newton's method, standardized
features) is fitted on all examples together. The threshold is the highest one that keeps the
false-refusal rate of the development sets, pooled, at or below the target: the refusals the
other checks and the model already make count against it.

Fit only on development data: the reference set and the SQuAD 2.0 development splits
(evals/squad_dev.py). The curated external set and the held-out questions are for reporting.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import load_records, replay_records, without  # noqa: E402

from chat.checks import confidence  # noqa: E402
from chat.checks.confidence import Calibration, features  # noqa: E402
from chat.eval.metrics import judge  # noqa: E402
from chat.eval.run import load_questions  # noqa: E402


def examples(
    results: Path, questions: Path, corpus: Path, label: str = "correct", skip: frozenset[str] = frozenset()
) -> tuple[list[dict], list[int], list[bool], int, int, int]:
    """Features, labels and answerability of the answers that pass the other checks, and the
    set's counts: answerable, answerable already refused, unanswerable."""
    by_id = {q.id: q for q in load_questions(questions)}
    rows, labels, flags = [], [], []
    answerable = refused_answerable = unanswerable = 0
    checks = without({confidence.NAME} | skip)
    for record, result, checked in replay_records(load_records(results), corpus, checks=checks):
        question = by_id[record["id"]]
        answerable += question.answerable
        unanswerable += not question.answerable
        if result.answer is None or result.answer.refused or checked is None or checked.draft is None:
            refused_answerable += question.answerable
            continue
        rows.append(features(checked.draft))
        right = judge(question, result.answer).correct and question.answerable
        labels.append(int(right if label == "correct" else question.answerable))
        flags.append(question.answerable)
    return rows, labels, flags, answerable, refused_answerable, unanswerable


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularized logistic regression (Newton's method)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.eye(d + 1) * l2
    penalty[d, d] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:d], float(w[d])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs=3, action="append", metavar=("RESULTS", "QUESTIONS", "CORPUS"), required=True)
    parser.add_argument("--max-false-refusals", type=float, default=0.10)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument(
        "--label",
        choices=("correct", "answerable"),
        default="correct",
        help="what the regression predicts: a right answer, or a question the articles answer",
    )
    parser.add_argument("--out", type=Path, default=confidence.MODEL_FILE)
    parser.add_argument("--skip", nargs="*", default=[], help="checks left out (to measure a configuration)")
    parser.add_argument(
        "--features", nargs="*", default=None, help="signals to fit on (default: every one in confidence.FEATURES)"
    )
    args = parser.parse_args()

    rows: list[dict] = []
    labels: list[int] = []
    flags: list[bool] = []
    answerable = refused = unanswerable = 0
    for results, questions, corpus in args.set:
        found, judged, kinds, a, ra, u = examples(
            Path(results), Path(questions), Path(corpus), args.label, frozenset(args.skip)
        )
        flags += kinds
        print(f"{results}: {len(found)} answers judged ({sum(judged)} right); {a} answerable ({ra} refused already), "
              f"{u} not")  # fmt: skip
        rows += found
        labels += judged
        answerable += a
        refused += ra
        unanswerable += u
    names = tuple(args.features or confidence.FEATURES)
    unknown = set(names) - set(confidence.FEATURES)
    if unknown:
        parser.error(f"unknown features: {', '.join(sorted(unknown))} (known: {', '.join(confidence.FEATURES)})")
    x = np.array([[row[n] for n in names] for row in rows], dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0
    weights, bias = fit_logistic((x - means) / scales, y, l2=args.l2)
    model = Calibration(names, tuple(means), tuple(scales), tuple(weights), bias, 0.0, "")
    p = np.array([model.probability(row) for row in rows])

    # The highest threshold whose pooled false-refusal rate stays within the target.
    right = y == 1
    is_answerable = np.array(flags, dtype=bool)
    best = 0.0
    for t in sorted(set(np.round(p, 4))):
        false_refusals = refused + int(((p < t) & is_answerable).sum())
        if false_refusals / max(1, answerable) <= args.max_false_refusals:
            best = max(best, float(t))
    kept = p >= best
    false_refusals = (refused + ((~kept) & is_answerable).sum()) / answerable
    left = f"{int((kept & ~is_answerable).sum())} of {int((~is_answerable).sum())}"
    print(f"threshold {best:.4f}: answers kept {kept.sum()}/{len(p)}, right among kept {y[kept].mean():.3f} "
          f"(before {y.mean():.3f}); false refusals {false_refusals:.3f}; "
          f"answers to unanswerable questions left {left}")  # fmt: skip
    for name, w in zip(names, weights, strict=True):
        print(f"  {name:16s} {w:+.3f}")
    print(f"  {'bias':16s} {bias:+.3f}; positive examples ({args.label}) {int(right.sum())}")
    fitted_on = "; ".join(f"{Path(q).name} ({Path(r).parent.name})" for r, q, _ in args.set)
    final = Calibration(
        names, tuple(float(m) for m in means), tuple(float(s) for s in scales), tuple(float(w) for w in weights),
        bias, round(best, 4), f"{fitted_on}; max false refusals {args.max_false_refusals}",
    )  # fmt: skip
    args.out.write_text(json.dumps(final.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
