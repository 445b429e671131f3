"""The JSON form of an `Answer` (documented in docs/JSON.md): `seedqa ask --json`, eval results."""

from __future__ import annotations

from typing import Any

from chat.types import Answer


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "repaired": answer.repaired,
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "title": c.title,
                "chunk_id": c.chunk_id,
                "start": c.start,
                "end": c.end,
                "text": c.text,
                "also_in": list(c.also_in),
            }
            for c in answer.citations
        ],
        "invalid_citations": list(answer.invalid_citations),
        "sentences": [
            {
                "text": s.text,
                "cited": list(s.cited),
                "passage": s.passage,
                "score": round(s.score, 4),
                "supported": s.supported,
                "source": s.source,
                "start": s.start,
                "end": s.end,
                "quote": s.quote,
            }
            for s in answer.sentences
        ],
        "raw_answer": answer.raw_text,
        "second_pass": answer.second_pass,
        "quoted": answer.quoted,
        "passes": list(answer.passes),
        "refusal_logprob": None if answer.refusal_logprob is None else round(answer.refusal_logprob, 4),
        "verdicts": [{"check": v.check, "ok": v.ok, "binding": v.binding, "reason": v.reason} for v in answer.verdicts],
        "confidence": None if answer.confidence is None else round(answer.confidence, 4),
        "verified": None if answer.verified is None else round(answer.verified, 4),
        "kind": answer.kind,
        "retrieved": [
            {
                "rank": p.rank,
                "source": p.chunk.source,
                "title": p.chunk.title,
                "chunk_id": p.chunk.id,
                "start": p.chunk.start,
                "end": p.chunk.end,
                "score": round(p.score, 6),
                "dense_score": None if p.dense_score is None else round(p.dense_score, 6),
                "keyword_score": None if p.keyword_score is None else round(p.keyword_score, 6),
                "sparse_score": None if p.sparse_score is None else round(p.sparse_score, 6),
                "text": p.chunk.text,
            }
            for p in answer.passages
        ],
        "timings": {
            "retrieve_s": round(answer.timings.retrieve_s, 4),
            "ttft_s": round(answer.timings.ttft_s, 4),
            "total_s": round(answer.timings.total_s, 4),
        },
        "tokens": {"prompt": answer.tokens.prompt, "completion": answer.tokens.completion},
    }
