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
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.ask import Checked, check_answer  # noqa: E402
from chat.checks import CHECKS, Check, Sources, confidence  # noqa: E402
from chat.checks.confidence import Calibration  # noqa: E402
from chat.checks.support import SupportParams  # noqa: E402
from chat.checks.words import CorpusWords, Vocabulary  # noqa: E402
from chat.eval.metrics import Result, summarize, summary_to_dict  # noqa: E402
from chat.eval.run import load_questions  # noqa: E402
from chat.types import Timings, Tokens  # noqa: E402
from index.corpus import read_corpus  # noqa: E402
from index.keyword import KeywordIndex  # noqa: E402
from index.store import outside  # noqa: E402
from index.text import normalize_lines  # noqa: E402
from index.types import Chunk, Passage  # noqa: E402


def _passage(record: dict, corpus: Path, texts: dict[str, str]) -> Passage:
    source = record["source"]
    if source not in texts:
        texts[source] = (corpus / source).read_text(encoding="utf-8")
    start, end = (int(x) for x in record["chunk_id"].rsplit(":", 1)[1].split("-"))
    text = record.get("text") or normalize_lines(texts[source][start:end])
    chunk = Chunk(record["chunk_id"], source, record.get("title", ""), None, start, end, text)
    return Passage(
        chunk,
        record["rank"],
        record["score"],
        record.get("dense_score"),
        record.get("keyword_score"),
        sparse_score=record.get("sparse_score"),
    )


DEFAULT_SUPPORT = SupportParams()


def load_records(results_path: Path) -> list[dict]:
    opener = gzip.open if results_path.suffix == ".gz" else open
    with opener(results_path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle.read().splitlines() if line.strip()]


def replay_records(
    records: list[dict],
    corpus: Path,
    support: SupportParams = DEFAULT_SUPPORT,
    checks: tuple[Check, ...] = CHECKS,
) -> list[tuple[dict, Result, Checked | None]]:
    """Each recorded question with its answer checked again by `checks` (same generations)."""
    texts: dict[str, str] = {}
    out: list[tuple[dict, Result, Checked | None]] = []
    words = corpus_words(corpus)
    for record in records:
        if record.get("status") != "ok":
            out.append((record, Result(record["id"], None, error=record.get("error")), None))
            continue
        passages = tuple(_passage(p, corpus, texts) for p in record["retrieved"])
        search = tuple(_passage(p, corpus, texts) for p in record["search"])
        checked = check_answer(
            record["raw_answer"],
            Sources(passages, texts.get, record["question"]),
            support,
            refusal_logprob=record.get("refusal_logprob"),
            # A recorded quote (AnswerParams.quote_fallback) is checked again as the answer it is,
            # weighed as a second answer, as when it was made; replay chooses no new quotes.
            second_pass=bool(record.get("second_pass") or record.get("quoted")),
            checks=checks,
            verify=_recorded_verification(record),
            corpus=words,
        )
        t = record["timings"]
        answer = checked.answer(
            question=record["question"],
            passages=passages,
            timings=Timings(t["retrieve_s"], t["ttft_s"], t["total_s"]),
            tokens=Tokens(record["tokens"]["prompt"], record["tokens"]["completion"]),
            raw_text=record["raw_answer"],
            second_pass=bool(record.get("second_pass")),  # as recorded: replay cannot ask again
            quoted=bool(record.get("quoted")),
        )
        out.append((record, Result(record["id"], answer, search), checked))
    return out


_CORPUS_WORDS: dict[Path, CorpusWords] = {}


def corpus_words(corpus: Path) -> CorpusWords:
    """The corpus's terms as the keyword index holds them (what `Pipeline.corpus_words` gives):
    the articles' kept paragraphs, and, for a name none of them has, what the cleaner left out of
    the files (the seeds' appeal lines name "KJ Report", which no indexed text does)."""
    if corpus not in _CORPUS_WORDS:
        documents, _ = read_corpus(corpus)
        texts = ["\n".join([d.title, *(d.text[a:b] for a, b in d.paragraphs)]) for d in documents]
        left_out = "\n".join(piece for d in documents for piece in outside(d.text, list(d.paragraphs)))
        indexed = Vocabulary.of_corpus(KeywordIndex.build(texts).terms, texts)
        _CORPUS_WORDS[corpus] = CorpusWords(indexed, lambda: left_out)
    return _CORPUS_WORDS[corpus]


def _recorded_verification(record: dict):  # type: ignore[no-untyped-def]
    """The verification recorded with the run (or added by evals/verify_recorded.py), if any."""
    value = record.get("verified")
    return None if value is None else (lambda text, question, answer: value)


def replay(
    results_path: Path,
    questions_path: Path,
    corpus: Path,
    support: SupportParams = DEFAULT_SUPPORT,
    checks: tuple[Check, ...] = CHECKS,
    decisions: Path | None = None,
) -> dict:
    questions = load_questions(questions_path)
    replayed = replay_records(load_records(results_path), corpus, support, checks)
    if decisions is not None:
        with decisions.open("w", encoding="utf-8") as handle:
            for record, result, _ in replayed:
                answer = result.answer
                failing = [] if answer is None else [v.check for v in answer.verdicts if not v.ok and v.binding]
                line = {"id": record["id"], "refused": None if answer is None else answer.refused, "failing": failing}
                handle.write(json.dumps(line) + "\n")
    return summary_to_dict(summarize([result for _, result, _ in replayed], questions))


def without(names: set[str], model: Calibration | None = None) -> tuple[Check, ...]:
    """CHECKS minus the named ones; with `model`, the confidence check uses that calibration."""
    chosen = []
    for check in CHECKS:
        if check.name in names:
            continue
        if check.name == confidence.NAME and model is not None:
            check = Check(confidence.NAME, partial(confidence.verdict, model=model))
        chosen.append(check)
    return tuple(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--questions", type=Path, default=Path("evals/questions.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("seeds"))
    parser.add_argument("--min-support", type=float, nargs="+", default=[SupportParams().min_support])
    parser.add_argument("--skip", nargs="*", default=[], help="names of checks to leave out")
    parser.add_argument("--calibration", type=Path, help="a confidence.json to use instead of the installed one")
    parser.add_argument(
        "--decisions",
        type=Path,
        help="write each question's refusal and failing checks here (JSONL; for the first --min-support)",
    )
    args = parser.parse_args()
    model = Calibration.from_dict(json.loads(args.calibration.read_text())) if args.calibration else None
    checks = without(set(args.skip), model)
    keys = ("accuracy", "citation_hit_rate", "citation_precision", "uncited_sentence_share",
            "refusal_recall", "false_refusal_rate")  # fmt: skip
    print("min_support  " + "  ".join(f"{k:>22}" for k in keys))
    for value in args.min_support:
        summary = replay(
            args.results,
            args.questions,
            args.corpus,
            replace(SupportParams(), min_support=value),
            checks,
            args.decisions if value == args.min_support[0] else None,  # one file: the first value's
        )
        row = [summary["metrics"][k]["value"] for k in keys]
        print(f"{value:11.2f}  " + "  ".join(f"{'-' if v is None else round(v, 3):>22}" for v in row))


if __name__ == "__main__":
    main()
