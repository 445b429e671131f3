"""The calibrated abstention: features of a draft, the logistic estimate, the verdict and its reason."""

from __future__ import annotations

import json

from chat.checks import Draft
from chat.checks.confidence import FEATURES, Calibration, calibration, estimate, features, verdict
from chat.types import SentenceSupport
from index.types import Chunk, Passage

TEXT = "The council approved the new harbor bridge on 3 May 2018 after a two-year debate."


def draft(question: str = "When did the council approve the harbor bridge?", *, verified: float | None = 0.9) -> Draft:
    chunk = Chunk(f"a.txt:0-{len(TEXT)}", "a.txt", "Harbor News", None, 0, len(TEXT), TEXT)
    passage = Passage(chunk, 1, 0.03, 0.7, 4.0)
    sentence = SentenceSupport("It was approved on 3 May 2018 [1].", (1,), 1, 1.0, "a.txt", 0, len(TEXT), TEXT, True)
    return Draft(question, sentence.text, (sentence,), (passage,), refusal_logprob=-4.0, verified=verified)


def model(threshold: float, bias: float = 0.0, **weights: float) -> Calibration:
    names = tuple(FEATURES)
    return Calibration(
        names, tuple(0.5 for _ in names), tuple(1.0 for _ in names),
        tuple(weights.get(n, 0.0) for n in names), bias, threshold, "test",
    )  # fmt: skip


def test_features_of_a_well_grounded_draft():
    values = features(draft())
    assert set(values) == set(FEATURES)
    assert values["refusal_logprob"] == -4.0 and values["verified"] == 0.9 and values["pins_found"] == 1.0
    assert values["coverage"] == 1.0 and values["dense_max"] == 0.7 and values["agree"] == 1.0


def test_an_unverified_draft_gets_the_uninformative_value():
    assert features(draft(verified=None))["verified"] == 0.5


def test_the_verdict_names_the_signal_that_pulled_the_estimate_down():
    weak = model(0.6, verified=4.0, coverage=1.0)  # P = 0.29 at verified 0.05, 0.93 at 0.95
    v = verdict(draft(verified=0.05), weak)
    assert not v.ok and "below 0.60" in v.reason and "supporting words state the answer" in v.reason
    assert verdict(draft(verified=0.95), weak).ok


def test_calibration_round_trips_through_its_file(tmp_path):
    path = tmp_path / "confidence.json"
    fitted = model(0.4, verified=2.0)
    path.write_text(json.dumps(fitted.to_dict()))
    assert calibration(path) == fitted
    assert calibration(tmp_path / "missing.json") is None
    assert estimate(draft(), fitted) == fitted.probability(features(draft()))


def test_a_damaged_calibration_file_says_what_to_do(tmp_path):
    import pytest

    from chat.errors import CalibrationError

    path = tmp_path / "confidence.json"
    path.write_text('{"names": ["verified"]')
    with pytest.raises(CalibrationError, match="fit it again with evals/fit_confidence.py"):
        calibration(path)
