"""Retrieval quality without the LLM: ranks of the evidence, and what passage focusing keeps.

Runs in seconds, so retrieval levers (tokenization, fusion, focusing) can be compared before
a full `seedqa eval`. Prints hit@1/3/5 and MRR@10 of the first passage holding an evidence
quote (the same judgment as the harness), then, for several focus margins (index/focus.py),
for how many questions the evidence is still in the sentences the model is shown and how
many passage tokens per question that costs.

    .venv/bin/python evals/retrieval_check.py [--corpus seeds] [--margins none 0.1 0.2 0.1/0.15]

A margin "0.1/0.15" is the per-passage margin 0.1 with the global margin 0.15 (index/focus.py).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.app import build_embedder, build_sparse, index_dir  # noqa: E402
from chat.eval.metrics import first_relevant_rank  # noqa: E402
from chat.eval.run import load_questions  # noqa: E402
from chat.settings import Settings  # noqa: E402
from index.focus import FocusParams  # noqa: E402
from index.search import HybridSearcher  # noqa: E402
from index.store import IndexSpec, ensure_index  # noqa: E402
from index.text import canonical  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=Path("evals/questions.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("seeds"))
    parser.add_argument("--margins", nargs="+", default=["none", "0.1", "0.2", "0.1/0.1", "0.1/0.15", "0.1/0.2"])
    args = parser.parse_args(argv)
    settings = Settings.load(corpus=args.corpus)
    embedder = build_embedder(settings)
    sparse = build_sparse(settings)  # the lists the product searches (SEEDQA_SPARSE=off: without SPLADE)
    store = ensure_index(IndexSpec(settings.corpus, index_dir(settings), embedder, settings.chunking, sparse))
    searcher = HybridSearcher(store, embedder, sparse)
    questions = [q for q in load_questions(args.questions) if q.answerable and q.evidence]
    ranks_only = replace(settings.retrieval, k=10, focus=FocusParams(margin=None))
    ranks = [first_relevant_rank(searcher.search(q.question, ranks_only), q.evidence) for q in questions]
    for k in (1, 3, 5):
        hits = sum(r is not None and r <= k for r in ranks)
        print(f"hit@{k}: {hits / len(ranks):.3f} ({hits}/{len(ranks)})")
    print(f"MRR@10: {sum(1 / r for r in ranks if r) / len(ranks):.3f}")
    print("missed in the top 10:", ", ".join(q.id for q, r in zip(questions, ranks, strict=True) if r is None))
    print(f"{'margin':>8} {'evidence kept':>14} {'passage tokens/q':>17}")
    for margin in args.margins:
        local, _, wide = margin.partition("/")  # "0.1/0.25": margin 0.1, global margin 0.25
        focus = FocusParams(None if local == "none" else float(local), global_margin=float(wide) if wide else None)
        params = replace(settings.retrieval, focus=focus)
        found = kept = tokens = 0
        for question in questions:
            passages = searcher.search(question.question, params)
            full = canonical(" ".join(p.chunk.text for p in passages))
            shown = canonical(" ".join(p.shown_text for p in passages))
            tokens += sum(embedder.count_tokens(p.shown_text) - 2 for p in passages)
            if any(canonical(e) in full for e in question.evidence):
                found += 1
                kept += any(canonical(e) in shown for e in question.evidence)
        print(f"{margin:>8} {kept:>6}/{found:<7} {tokens / len(questions):>17.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
