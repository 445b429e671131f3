"""Add the model's verification (chat/checks/verify.py) to a recorded run that lacks it.

    .venv/bin/python evals/verify_recorded.py RESULTS.jsonl QUESTIONS.jsonl CORPUS OUT.jsonl

Each answer is checked again as recorded (evals/replay.py) up to the support check, the
supporting words, question and answer are shown to the real model exactly as `ask()` does,
and its P(yes) is written as the record's `verified`. Runs recorded before verification was
built can then be replayed and used to fit the calibration with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import load_records, replay_records  # noqa: E402

from chat.checks.verify import evidence, verifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    from chat.app import build_generator
    from chat.settings import Settings

    verify = verifier(build_generator(Settings.load()))
    records = load_records(args.results)
    for record in records:
        record.pop("verified", None)
    with args.out.open("w", encoding="utf-8") as sink:
        for record, _, checked in replay_records(records, args.corpus):
            if checked is not None and checked.draft is not None and checked.draft.text:
                texts = {n: p.chunk.text for n, p in enumerate(checked.draft.passages, start=1)}
                found = evidence(checked.draft.sentences, texts)
                record["verified"] = round(verify(found, record["question"], checked.draft.text), 4) if found else None
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
