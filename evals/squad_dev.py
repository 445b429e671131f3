"""Development splits of SQuAD 2.0 questions over the external corpus, for fitting, never for reporting.

The curated external set (`../shared/external/squad2/questions.jsonl`, 109 questions) is the
test: no weight or threshold is fitted on it. This script draws fresh questions from the same
source file (`dev-v2.0.json`, 6,078 questions over the same 16 articles), filtered the way the
curated set was (docs there, "How the files and questions were chosen", step 2), minus the
curated ones, and draws by a seeded shuffle two disjoint halves, `fit` and `check`, each with
as many answerable as unanswerable questions:

    .venv/bin/python evals/squad_dev.py OUT_DIR [--n 240] [--seed 7]

writes OUT_DIR/fit.jsonl and OUT_DIR/check.jsonl in the format of evals/questions.jsonl. The data
is CC BY-SA 4.0: the files are written outside the repository (var/ is ignored by git) and read
from ../shared each time. Unlike the curated set, unanswerable questions were not checked
against the whole corpus by hand, so a few "unanswerable" ones are answered elsewhere in the
article: the labels are noisy, which is acceptable for fitting and is why nothing is reported on
these splits.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

SQUAD = Path(__file__).resolve().parent.parent.parent / "shared" / "external" / "squad2"
PRONOUNS = frozenset("it its they their he his she her this these them him those".split())
_WORD = re.compile(r"[\w'-]+")


def _keep(question: str) -> bool:
    """Step 2 of the curated set's filter: long enough, names something, stands alone."""
    tokens = _WORD.findall(question)
    if len(tokens) < 6:
        return False
    if not any(t[0].isupper() or t[0].isdigit() for t in tokens[1:]):
        return False
    return not any(t.lower() in PRONOUNS for t in tokens)


def _sentence_at(context: str, start: int) -> str:
    """The sentence of `context` that holds the character at `start` (a plain splitter)."""
    left = max(context.rfind(". ", 0, start), context.rfind("\n", 0, start))
    right = context.find(". ", start)
    return context[left + 2 if left >= 0 else 0 : right + 1 if right >= 0 else len(context)].strip()


def candidates(squad: Path = SQUAD) -> list[dict]:
    data = json.loads((squad / "dev-v2.0.json").read_text(encoding="utf-8"))["data"]
    curated = {json.loads(line)["cs224n_squad_id"] for line in (squad / "provenance.jsonl").read_text().splitlines()}
    rows = []
    for article in data:
        source = article["title"].lower() + ".txt"
        if not (squad / "corpus" / source).exists():
            continue
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                question = qa["question"].strip()
                if qa["id"] in curated or not _keep(question):
                    continue
                if qa["is_impossible"]:
                    rows.append(_row(qa["id"], question, False, [], [], []))
                    continue
                answers = [a["text"].strip() for a in qa["answers"] if a["text"].strip()]
                shortest = min(answers, key=len)
                if len(shortest.split()) > 4 or not all(shortest.lower() in a.lower() for a in answers):
                    continue
                first = qa["answers"][0]
                evidence = _sentence_at(context, first["answer_start"])
                if shortest.lower() not in evidence.lower():
                    evidence = first["text"]
                rows.append(_row(qa["id"], question, True, [evidence], [[shortest]], [source]))
    return rows


def _row(qid: str, question: str, answerable: bool, evidence, keys, sources) -> dict:  # type: ignore[no-untyped-def]
    return {
        "id": f"d{qid[:10]}",
        "question": question,
        "answerable": answerable,
        "evidence": evidence,
        "answer_keys": keys,
        "gold_sources": sources,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=240, help="questions in both splits together")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # As many answerable as unanswerable questions, so that both error rates are measured.
    pools = [[r for r in candidates() if r["answerable"] is answerable] for answerable in (True, False)]
    for pool in pools:
        rng.shuffle(pool)
    quarter = args.n // 4
    halves: tuple[list[dict], list[dict]] = ([], [])
    for pool in pools:
        halves[0].extend(pool[:quarter])
        halves[1].extend(pool[quarter : 2 * quarter])
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (("fit", halves[0]), ("check", halves[1])):
        rng.shuffle(part)
        path = args.out / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
        unanswerable = sum(not r["answerable"] for r in part)
        print(f"{path}: {len(part)} questions, {unanswerable} unanswerable")


if __name__ == "__main__":
    main()
