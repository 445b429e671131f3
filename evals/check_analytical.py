"""Check the analytical reference questions against the seed articles they cite.

    python3 evals/check_analytical.py [evals/analytical.jsonl] [--corpus seeds]

Every line must be a JSON object with exactly the keys id, question, kind ("analytical"),
answerable (true), points, evidence, answer_keys ([]) and gold_sources. The checker verifies:

- ids are unique and there are at least 15 questions;
- each question has 3 to 6 points, each a non-empty list of non-empty strings;
- it names at least 2 distinct gold_sources, all present in the corpus directory;
- every evidence quote is an exact substring (case-sensitive, whitespace collapsed) of one of
  its gold sources;
- every point has at least one alternative found (case-insensitive, whitespace collapsed) in
  the text of at least one gold source.

Standard library only. Exit status 0 when all is well, 1 with one line per problem on stderr,
2 when the question file or corpus directory cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEYS = {"id", "question", "kind", "answerable", "points", "evidence", "answer_keys", "gold_sources"}
MIN_QUESTIONS = 15
MIN_POINTS, MAX_POINTS = 3, 6
MIN_SOURCES = 2


def collapse(text: str) -> str:
    """Join runs of whitespace (including non-breaking spaces) into single spaces."""
    return " ".join(text.split())


def load_corpus(corpus: Path) -> dict[str, str]:
    """Map each article's file name to its whitespace-collapsed text."""
    return {p.name: collapse(p.read_text(encoding="utf-8")) for p in sorted(corpus.glob("*.txt"))}


def is_phrase_list(value: object) -> bool:
    """True for a non-empty list of non-empty strings."""
    return isinstance(value, list) and bool(value) and all(isinstance(s, str) and s.strip() for s in value)


def check_shape(row: dict) -> list[str]:
    """Problems with the keys and fixed values of one question."""
    problems = []
    if set(row) != KEYS:
        missing, extra = sorted(KEYS - set(row)), sorted(set(row) - KEYS)
        problems.append(f"keys must be exactly {sorted(KEYS)} (missing {missing}, unexpected {extra})")
        return problems
    if not isinstance(row["id"], str) or not row["id"]:
        problems.append("id must be a non-empty string")
    if not isinstance(row["question"], str) or not row["question"].strip():
        problems.append("question must be a non-empty string")
    if row["kind"] != "analytical":
        problems.append(f'kind must be "analytical", not {row["kind"]!r}')
    if row["answerable"] is not True:
        problems.append("answerable must be true")
    if row["answer_keys"] != []:
        problems.append("answer_keys must be an empty list")
    if not is_phrase_list(row["evidence"]):
        problems.append("evidence must be a non-empty list of non-empty strings")
    if not is_phrase_list(row["gold_sources"]):
        problems.append("gold_sources must be a non-empty list of file names")
    return problems


def check_points(points: object) -> list[str]:
    """Problems with the shape of the points list."""
    if not isinstance(points, list) or not MIN_POINTS <= len(points) <= MAX_POINTS:
        return [f"points must be a list of {MIN_POINTS} to {MAX_POINTS} points"]
    return [
        f"point {i} must be a non-empty list of non-empty strings, got {p!r}"
        for i, p in enumerate(points, 1)
        if not is_phrase_list(p)
    ]


def check_sources(row: dict, corpus: dict[str, str]) -> list[str]:
    """Problems with gold_sources, evidence quotes and point phrases against the articles."""
    gold = row["gold_sources"]
    problems = [f"gold source {name!r} is not in the corpus" for name in gold if name not in corpus]
    if len(set(gold)) < MIN_SOURCES:
        problems.append(f"needs at least {MIN_SOURCES} distinct gold_sources, has {len(set(gold))}")
    texts = [corpus[name] for name in gold if name in corpus]
    for quote in row["evidence"]:
        if not any(collapse(quote) in text for text in texts):
            problems.append(f"evidence not found verbatim in its gold sources: {quote!r}")
    lowered = [text.lower() for text in texts]
    for i, point in enumerate(row["points"], 1):
        if not any(collapse(alt).lower() in text for alt in point for text in lowered):
            problems.append(f"point {i}: none of {point} occurs in any gold source")
    return problems


def check_row(row: object, corpus: dict[str, str]) -> list[str]:
    """All problems with one parsed line."""
    if not isinstance(row, dict):
        return ["line is not a JSON object"]
    problems = check_shape(row)
    if problems:
        return problems
    problems = check_points(row["points"])
    if problems:
        return problems
    return check_sources(row, corpus)


def check_file(path: Path, corpus: dict[str, str]) -> list[str]:
    """All problems in the question file, each prefixed with its line number and id."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    lines = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
    for n, line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{n}: not valid JSON: {exc}")
            continue
        qid = row.get("id") if isinstance(row, dict) else None
        qid = qid if isinstance(qid, str) else None
        where = f"{path}:{n} ({qid})"
        if qid in seen:
            problems.append(f"{where}: duplicate id, first used on line {seen[qid]}")
        elif qid is not None:
            seen[qid] = n
        problems += [f"{where}: {p}" for p in check_row(row, corpus)]
    if len(lines) < MIN_QUESTIONS:
        problems.append(f"{path}: needs at least {MIN_QUESTIONS} questions, has {len(lines)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="?", default=REPO / "evals" / "analytical.jsonl")
    parser.add_argument(
        "--corpus", type=Path, default=REPO / "seeds", help="directory of article .txt files (default: seeds)"
    )
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: corpus directory {args.corpus} does not exist", file=sys.stderr)
        return 2
    try:
        corpus = load_corpus(args.corpus)
        problems = check_file(args.questions, corpus)
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"error: cannot read {exc.filename if isinstance(exc, OSError) else args.questions}: {exc}", file=sys.stderr
        )
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{args.questions}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
