"""Replay the answer checks on a recorded evaluation run, with other settings, offline.

The model's raw output is recorded per question (`raw_answer`), so the post-generation
steps (citation repair, support check, refusal) can be re-run with different parameters
without generating again: same generations, different checking, comparable numbers.

    .venv/bin/python evals/replay.py RESULTS.jsonl[.gz] [--min-support 0.4 ...] [--corpus seeds]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.ask import check_answer  # noqa: E402
from chat.eval_metrics import Result, summarize, summary_to_dict  # noqa: E402
from chat.evaluate import load_questions  # noqa: E402
from chat.support import SupportParams  # noqa: E402
from chat.types import Answer, Timings, Tokens  # noqa: E402
from index.text import normalize_lines  # noqa: E402
from index.types import Chunk, Passage  # noqa: E402


def _passage(record: dict, corpus: Path, texts: dict[str, str]) -> Passage:
    source = record["source"]
    if source not in texts:
        texts[source] = (corpus / source).read_text(encoding="utf-8")
    start, end = (int(x) for x in record["chunk_id"].rsplit(":", 1)[1].split("-"))
    text = record.get("text") or normalize_lines(texts[source][start:end])
    chunk = Chunk(record["chunk_id"], source, record.get("title", ""), None, start, end, text)
    return Passage(chunk, record["rank"], record["score"], record.get("dense_score"), record.get("keyword_score"))


def replay(results_path: Path, questions_path: Path, corpus: Path, support: SupportParams) -> dict:
    questions = load_questions(questions_path)
    texts: dict[str, str] = {}
    results = []
    opener = gzip.open if results_path.suffix == ".gz" else open
    with opener(results_path, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for line in lines:
        record = json.loads(line)
        if record.get("status") != "ok":
            results.append(Result(record["id"], None, error=record.get("error")))
            continue
        passages = tuple(_passage(p, corpus, texts) for p in record["retrieved"])
        search = tuple(_passage(p, corpus, texts) for p in record["search"])
        checked = check_answer(record["raw_answer"], passages, texts.get, support, question=record["question"])
        t = record["timings"]
        answer = Answer(
            question=record["question"],
            text=checked.text,
            citations=checked.citations,
            refused=checked.refused,
            passages=passages,
            timings=Timings(t["retrieve_s"], t["ttft_s"], t["total_s"]),
            tokens=Tokens(record["tokens"]["prompt"], record["tokens"]["completion"]),
            repaired=checked.repaired,
            invalid_citations=checked.invalid,
            sentences=checked.sentences,
            raw_text=record["raw_answer"],
            second_pass=bool(record.get("second_pass")),  # as recorded: replay cannot ask again
        )
        results.append(Result(record["id"], answer, search))
    return summary_to_dict(summarize(results, questions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--questions", type=Path, default=Path("evals/questions.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("seeds"))
    parser.add_argument("--min-support", type=float, nargs="+", default=[SupportParams().min_support])
    args = parser.parse_args()
    keys = ("accuracy", "citation_hit_rate", "citation_precision", "uncited_sentence_share",
            "refusal_recall", "false_refusal_rate")  # fmt: skip
    print("min_support  " + "  ".join(f"{k:>22}" for k in keys))
    for value in args.min_support:
        summary = replay(args.results, args.questions, args.corpus, replace(SupportParams(), min_support=value))
        row = [summary["metrics"][k]["value"] for k in keys]
        print(f"{value:11.2f}  " + "  ".join(f"{'-' if v is None else round(v, 3):>22}" for v in row))


if __name__ == "__main__":
    main()
