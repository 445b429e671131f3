"""Which retrieval lists and which embedder find the evidence: hit@k and MRR per set, no LLM.

For each question set (with the corpus it asks about) and each embedder, builds an index with
dense vectors, BM25 and SPLADE weights in a scratch folder, then ranks every answerable question's
passages with each combination of lists (fused by reciprocal rank, index/search.py) and reports
hit@1/3/5 and MRR@10 of the first passage that holds an evidence quote, as the harness judges it.

    .venv/bin/python evals/retrieval_compare.py --work var/ret \\
        --set evals/questions.jsonl seeds --set ../shared/external/squad2/questions.jsonl \\
        ../shared/external/squad2/corpus [--embedders minilm e5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.app import build_embedder, build_sparse  # noqa: E402
from chat.eval.metrics import first_relevant_rank  # noqa: E402
from chat.eval.run import load_questions  # noqa: E402
from chat.settings import Settings  # noqa: E402
from index.focus import FocusParams  # noqa: E402
from index.search import HybridSearcher, RetrievalParams  # noqa: E402
from index.store import IndexSpec, ensure_index, index_dir_for  # noqa: E402

LISTS = {  # name -> (dense, keyword, sparse) weights
    "dense": (1, 0, 0),
    "bm25": (0, 1, 0),
    "splade": (0, 0, 1),
    "dense+bm25": (1, 1, 0),
    "dense+splade": (1, 0, 1),
    "bm25+splade": (0, 1, 1),
    "dense+bm25+splade": (1, 1, 1),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs=2, action="append", metavar=("QUESTIONS", "CORPUS"), required=True)
    parser.add_argument("--work", type=Path, default=Path("var/retrieval-compare"))
    parser.add_argument("--embedders", nargs="+", default=["minilm", "e5"])
    parser.add_argument("--lists", nargs="+", default=list(LISTS))
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    rows = []
    for questions_file, corpus in args.set:
        questions = [q for q in load_questions(Path(questions_file)) if q.answerable and q.evidence]
        for name in args.embedders:
            settings = Settings.load(corpus=corpus, embedder=None if name == "minilm" else name)
            embedder = build_embedder(settings)
            sparse = build_sparse(settings)
            work = args.work / name
            began = time.perf_counter()
            store = ensure_index(
                IndexSpec(Path(corpus), index_dir_for(work, Path(corpus)), embedder, settings.chunking, sparse)
            )
            built = time.perf_counter() - began
            searcher = HybridSearcher(store, embedder, sparse)
            for lists in args.lists:
                # A name from LISTS, or weights written "dense:keyword:sparse", e.g. "1:1:0.5".
                dense, keyword, learned = LISTS.get(lists) or tuple(float(w) for w in lists.split(":"))
                params = replace(RetrievalParams(), k=10, focus=FocusParams(margin=None),
                                 dense_weight=dense, keyword_weight=keyword, sparse_weight=learned)  # fmt: skip
                began = time.perf_counter()
                ranks = [first_relevant_rank(searcher.search(q.question, params), q.evidence) for q in questions]
                per_query = (time.perf_counter() - began) / len(questions)
                row = {"set": Path(questions_file).parent.name + "/" + Path(questions_file).stem, "embedder": name,
                       "lists": lists, "n": len(questions), "chunks": len(store.chunks), "build_s": round(built, 1),
                       "ms_per_query": round(per_query * 1000, 1)}  # fmt: skip
                for k in (1, 3, 5):
                    row[f"hit@{k}"] = round(sum(r is not None and r <= k for r in ranks) / len(ranks), 3)
                row["mrr@10"] = round(sum(1 / r for r in ranks if r) / len(ranks), 3)
                rows.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
