"""One calibrated abstention decision: refuse when the passages probably do not answer the question.

The other checks each look at one thing. Near misses that pass all of them still leave traces
in signals seedqa has for free: the model's own probability of starting with the refusal
sentence (read from the forward passes that wrote the answer), how well the best passage
matches the question (dense cosine, keyword coverage), whether the dense and keyword searches
agree on it, how much of the question's names the supporting passage holds, and how well the
answer's sentences are supported, and the model's own reading of the supporting words
(chat/checks/verify.py). `features(draft)` computes them; a logistic regression over
them, fitted by `evals/fit_confidence.py` on development questions (the reference set and the
SQuAD 2.0 development split `fit`, never the curated external set, the held-out questions or
the split `check`), gives P(the passages answer the question). It was fitted to tell
answerable from unanswerable questions rather than right from wrong answers: that fitted on
the same data refused the same near misses on the external set but more answerable questions
elsewhere (evals/history/README.md). Its threshold is the highest one that keeps the pooled
false-refusal rate of the development data at or below 10%. Weights, threshold and their
provenance are in `confidence.json` beside this file.

An `Answer` keeps the estimate (`confidence`) whether or not it passes, so the eval report can
draw the risk-coverage curve (accuracy of the answered questions against the share answered).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from chat.checks import Draft, grounding
from chat.checks.grounding import missing_pins
from chat.checks.words import pins, terms
from chat.errors import CalibrationError
from chat.types import Verdict

NAME = "confident"
MODEL_FILE = Path(__file__).with_name("confidence.json")
LOGPROB_FLOOR = -15.0  # log P below this is "never": clipped, so one odd value cannot dominate

# name -> what it measures (shown in a refusal's reason when it pulls the estimate down most)
FEATURES: dict[str, str] = {
    "refusal_logprob": "the model's own probability of refusing",
    "second_pass": "the answer came from a second pass",
    "dense_max": "how well the best passage matches the question (cosine)",
    "dense_support": "how well the supporting passage matches the question (cosine)",
    "coverage": "the share of the question's words in the supporting passage",
    "pins_found": "the share of the question's names and figures in the supporting passage",
    "support_mean": "how much of each answer sentence its passage holds",
    "kept_share": "the share of the model's sentences that a passage backs",
    "agree": "whether dense and keyword search rank the same passage first",
    "verified": "the model's own reading of whether the supporting words state the answer",
}


def features(draft: Draft) -> dict[str, float]:
    """The signals, each a number; a draft with no supported sentence gets its weakest values."""
    supporting = draft.supporting
    given = draft.passages
    dense = [p.dense_score or 0.0 for p in given]
    keyword = [p.keyword_score or 0.0 for p in given]
    asked = terms(draft.question)
    best_coverage = 0.0
    for n in supporting:
        if asked:
            best_coverage = max(best_coverage, len(asked & terms(given[n - 1].chunk.text)) / len(asked))
    asked_pins = pins(draft.question)
    pins_found = 1.0
    if asked_pins:
        pins_found = 1.0 - len(missing_pins(draft, supporting, topic=None)) / len(asked_pins) if supporting else 0.0
    kept = [s for s in draft.sentences if s.supported]
    logprob = draft.refusal_logprob if draft.refusal_logprob is not None else LOGPROB_FLOOR
    return {
        "refusal_logprob": max(LOGPROB_FLOOR, logprob),
        "second_pass": float(draft.second_pass),
        "dense_max": max(dense, default=0.0),
        "dense_support": max((dense[n - 1] for n in supporting), default=0.0),
        "coverage": best_coverage,
        "pins_found": pins_found,
        "support_mean": sum(s.score for s in kept) / len(kept) if kept else 0.0,
        "kept_share": len(kept) / len(draft.sentences) if draft.sentences else 0.0,
        "agree": float(bool(given) and max(range(len(given)), key=lambda i: dense[i])
                       == max(range(len(given)), key=lambda i: keyword[i])),
        "verified": draft.verified if draft.verified is not None else 0.5,  # not asked: no information
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Calibration:
    """A logistic regression over standardized features, and the decision threshold."""

    names: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str  # provenance, shown by `--json` consumers and the docs

    def contributions(self, values: dict[str, float]) -> dict[str, float]:
        return {
            name: w * (values[name] - m) / s
            for name, m, s, w in zip(self.names, self.means, self.scales, self.weights, strict=True)
        }

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(self.contributions(values).values())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_dict(self) -> dict[str, object]:
        return {
            "names": list(self.names), "means": list(self.means), "scales": list(self.scales),
            "weights": list(self.weights), "bias": self.bias, "threshold": self.threshold,
            "fitted_on": self.fitted_on,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:  # type: ignore[type-arg]
        return cls(
            tuple(data["names"]), tuple(data["means"]), tuple(data["scales"]), tuple(data["weights"]),
            float(data["bias"]), float(data["threshold"]), str(data.get("fitted_on", "")),
        )  # fmt: skip


@cache
def calibration(path: Path = MODEL_FILE) -> Calibration | None:
    """The installed calibration, or None when there is none (then the check always passes)."""
    try:
        return Calibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CalibrationError(
            f"{path} is not a usable calibration ({type(exc).__name__}: {exc}); "
            "fit it again with evals/fit_confidence.py, or delete it to answer without the confidence check"
        ) from None


def estimate(draft: Draft, model: Calibration | None = None) -> float | None:
    """P(the passages answer the question), or None without a calibration or without an answer to judge."""
    model = model or calibration()
    if model is None or not draft.text:
        return None
    return model.probability(features(draft))


def verdict(draft: Draft, model: Calibration | None = None) -> Verdict:
    model = model or calibration()
    if model is None:
        return Verdict(NAME, True, "no calibration installed")
    if not draft.text:
        return Verdict(NAME, True, "no answer to estimate")
    values = features(draft)
    p = model.probability(values)
    if p >= model.threshold:
        return Verdict(
            NAME, True, f"estimated chance the passages answer the question {p:.2f} (threshold {model.threshold:.2f})"
        )
    weighed = {name: c for name, c in model.contributions(values).items() if c != 0.0}
    weakest = min(weighed or {"verified": 0.0}, key=lambda name: weighed.get(name, 0.0))
    reason = (
        f"estimated chance the passages answer the question {p:.2f}, below {model.threshold:.2f}; "
        f"lowest signal: {FEATURES[weakest]} ({values[weakest]:.2f})"
    )
    grounded = grounding.verdict(draft)
    if not grounded.ok:
        reason += f"; {grounded.reason}"
    return Verdict(NAME, False, reason)
