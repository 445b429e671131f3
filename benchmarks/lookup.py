"""Prompt-lookup decoding (llama-cpp-python's `LlamaPromptLookupDecoding`) against plain decoding.

Answers to analytical questions copy much of their passages, so drafting the next tokens from
the prompt could speed decoding. Two `Llama` instances on the same GGUF, same threads, one with
`draft_model=LlamaPromptLookupDecoding(num_pred_tokens=N)` (which makes llama-cpp-python keep
the logits of every position: `logits_all=True`), answer the same analytical prompts (the
product's own messages, `Pipeline.retrieve` + `build_messages(points=True)`) at temperature 0,
alternating which goes first. Prints per question: time to first token, total, completion
tokens, and whether the two texts are identical; then medians and the process's peak RSS.

    .venv/bin/python -m benchmarks.lookup [--questions evals/analytical.jsonl] [--n 6] [--draft 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import peak_rss_mb
from models.generator import chat_messages


def _answer(llm, messages, max_tokens: int) -> dict:  # type: ignore[no-untyped-def]
    llm.reset()
    began = time.perf_counter()
    first = None
    pieces = []
    chat = chat_messages(messages)
    for chunk in llm.create_chat_completion(chat, temperature=0.0, max_tokens=max_tokens, stream=True):
        piece = chunk["choices"][0]["delta"].get("content") or ""
        if piece and first is None:
            first = time.perf_counter() - began
        pieces.append(piece)
    text = "".join(pieces)
    return {"ttft_s": first, "total_s": time.perf_counter() - began, "tokens": len(llm.tokenize(text.encode())),
            "text": text}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=Path("evals/analytical.jsonl"))
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--draft", type=int, default=10, help="tokens drafted from the prompt per step")
    args = parser.parse_args(argv)
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from chat.app import build_pipeline
    from chat.prompt import build_messages
    from chat.settings import Settings
    from models.gguf import resolve_gguf

    settings = Settings.load()
    pipeline = build_pipeline(settings)
    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines()[: args.n]]
    gguf = str(resolve_gguf(settings.generator.gguf, settings.data_dir))
    common: dict[str, Any] = {
        "n_ctx": settings.generator.n_ctx,
        "n_batch": settings.generator.n_batch,
        "verbose": False,
    }
    draft = LlamaPromptLookupDecoding(num_pred_tokens=args.draft)
    arms = {
        "plain": Llama(model_path=gguf, **common),
        "lookup": Llama(model_path=gguf, logits_all=True, draft_model=draft, **common),
    }
    max_tokens = settings.answering.analytical.max_tokens
    rows = []
    for i, question in enumerate(questions):
        kind = pipeline.kind(question)
        messages = build_messages(question, pipeline.retrieve(question, kind=kind), points=True)
        order = list(arms) if i % 2 == 0 else list(arms)[::-1]
        out = {name: _answer(arms[name], messages, max_tokens) for name in order}
        row = {"question": question[:50], "same_text": out["plain"]["text"] == out["lookup"]["text"]}
        for name in arms:
            row.update({f"{name}_{k}": round(v, 2) for k, v in out[name].items() if k != "text" and v is not None})
        rows.append(row)
        print(json.dumps(row), flush=True)
    for name in arms:
        for key in ("ttft_s", "total_s"):
            print(f"{name} {key} median: {statistics.median(r[f'{name}_{key}'] for r in rows):.2f}")
        rates = [r[f"{name}_tokens"] / (r[f"{name}_total_s"] - r[f"{name}_ttft_s"]) for r in rows]
        print(f"{name} decode tokens/s median: {statistics.median(rates):.2f}")
    same = sum(r["same_text"] for r in rows)
    print(f"identical texts: {same}/{len(rows)}; peak RSS {peak_rss_mb():.0f} MB (both models)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
