"""Timing one prompt through `ask()` or straight through llama-cpp-python, token by token.

`first_token` stops after the first piece (the user's wait); `full_answer` and `direct_answer`
time every piece so decode speed (pieces after the first / their span) compares the product's
streaming path with `Llama.create_chat_completion` on the identical messages. llama.cpp's own
counters (`llama_perf_context`) say how many prompt tokens were really evaluated, i.e. how much
of the prompt the KV cache reused. `save_prefix` / `restore_prefix` time keeping the fixed
prefix's KV state in a file, the lever for a cold process.
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chat.ask import AnswerStream, Pipeline
from chat.prompt import build_messages
from models.generator import Message


def llama_of(generator: Any) -> Any:
    """The llama_cpp.Llama under a LlamaGenerator (or a preloading wrapper), else None."""
    if hasattr(generator, "get"):
        generator = generator.get()
    return getattr(generator, "_llm", None)


def _perf_reset(llm: Any) -> None:
    if llm is not None:
        import llama_cpp

        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)


def _perf(llm: Any) -> dict[str, float]:
    if llm is None:
        return {}
    import llama_cpp

    data = llama_cpp.llama_perf_context(llm._ctx.ctx)
    return {
        "n_prompt_eval": int(data.n_p_eval),
        "prompt_eval_s": data.t_p_eval_ms / 1000,
        "n_decode": int(data.n_eval),
        "decode_s": data.t_eval_ms / 1000,
    }


def stop(stream: AnswerStream) -> None:
    """Stop a stream and the model's generation under it, so the model is free at once."""
    stream.close()
    generation = stream._generation
    if generation is not None:
        close = getattr(generation, "close", None)  # Generation.close(), else its iterator's
        if close is None and isinstance(iter(generation), PyGenerator):
            close = iter(generation).close
        if close is not None:
            close()


def first_token(pipeline: Pipeline, question: str, *, k: int | None = None) -> dict[str, Any]:
    """Seconds from asking to the first piece of the answer, then stop generating."""
    llm = llama_of(pipeline.generator)
    _perf_reset(llm)
    began = time.perf_counter()
    stream = pipeline.stream(question, k=k)
    retrieve_s = time.perf_counter() - began
    ttft_s = float("nan")
    for _ in stream:
        ttft_s = time.perf_counter() - began
        break
    stop(stream)
    generation = stream._generation
    out: dict[str, Any] = {
        "question": question,
        "k": len(stream.passages),
        "ttft_s": ttft_s,
        "second_pass": bool(getattr(stream, "second_pass", False)),
        "retrieve_s": retrieve_s,
        "prompt_tokens": generation.prompt_tokens if generation is not None else 0,
        **_perf(llm),
    }
    if llm is not None:
        out["prompt_ids"] = [int(t) for t in llm._input_ids[: out["prompt_tokens"]]]
    return out


def _rates(began: float, stamps: list[float]) -> dict[str, float]:
    """Decode speed from piece timestamps, counting only pieces that arrived one by one.

    `ask()` holds back the first pieces while they may still spell the refusal sentence and
    then releases them in one burst (llama-cpp-python does the same near a stop string). The
    burst's pieces were decoded before its timestamp, so they are not counted: the rate is
    the pieces after the first burst over the time since it.
    """
    burst = 0
    while burst + 1 < len(stamps) and stamps[burst + 1] - stamps[burst] < 0.002:
        burst += 1
    after = len(stamps) - 1 - burst
    span = stamps[-1] - stamps[burst] if stamps else 0.0
    return {
        "pieces": len(stamps),
        "first_burst": burst + 1 if stamps else 0,
        "ttft_s": stamps[0] - began if stamps else float("nan"),
        "total_s": (stamps[-1] if stamps else time.perf_counter()) - began,
        "decode_pieces_per_s": after / span if after > 0 and span > 0 else 0.0,
    }


def full_answer(pipeline: Pipeline, question: str) -> dict[str, Any]:
    """A whole answer through `ask()` (Pipeline.stream + answer), every piece timed."""
    llm = llama_of(pipeline.generator)
    _perf_reset(llm)
    began = time.perf_counter()
    stream = pipeline.stream(question)
    stamps = []
    for _ in stream:
        stamps.append(time.perf_counter())
    answer = stream.answer()
    return {"question": question, "text": answer.raw_text, "second_pass": bool(getattr(answer, "second_pass", False)),
            **_rates(began, stamps), **_perf(llm)}  # fmt: skip


def direct_answer(pipeline: Pipeline, question: str) -> dict[str, Any]:
    """The same messages and sampling as `ask()`, straight through llama-cpp-python.

    Without a Llama (fakes), the generator's own `stream` stands in for the direct path.
    """
    passages = pipeline.searcher.search(pipeline.check_question(question), pipeline.retrieval)
    messages = build_messages(pipeline.check_question(question), passages)
    llm = llama_of(pipeline.generator)
    _perf_reset(llm)
    began = time.perf_counter()
    stamps = []
    pieces: list[str] = []
    if llm is None:
        for piece in pipeline.generator.stream(messages, max_tokens=pipeline.answering.max_tokens):
            stamps.append(time.perf_counter())
            pieces.append(piece)
    else:
        chunks = llm.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            max_tokens=pipeline.answering.max_tokens,
            temperature=0.0,
            top_k=1,
            repeat_penalty=1.0,
            seed=0,
            stream=True,
        )
        for chunk in chunks:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                stamps.append(time.perf_counter())
                pieces.append(piece)
    return {"question": question, "text": "".join(pieces), **_rates(began, stamps), **_perf(llm)}


@contextlib.contextmanager
def without_ram_cache(llm: Any) -> Iterator[None]:
    """Switch off llama-cpp-python's prompt-state cache (LlamaGenerator sets one) for a while.

    States it saved from earlier full answers would otherwise turn a measurement of prompt
    processing into a state restore.
    """
    saved = getattr(llm, "cache", None) if llm is not None else None
    if llm is not None:
        llm.set_cache(None)
    try:
        yield
    finally:
        if llm is not None:
            llm.set_cache(saved)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def save_prefix(llm: Any, tokens: list[int], path: Path) -> dict[str, float]:
    """Evaluate only the fixed prefix from an empty cache, then write its KV state to `path`."""
    import llama_cpp

    llm.reset()
    llm._ctx.kv_cache_clear()
    began = time.perf_counter()
    llm.eval(tokens)
    compute_s = time.perf_counter() - began
    array = (llama_cpp.llama_token * len(tokens))(*tokens)
    began = time.perf_counter()
    if not llama_cpp.llama_state_save_file(llm._ctx.ctx, str(path).encode(), array, len(tokens)):
        raise RuntimeError(f"llama_state_save_file failed for {path}")
    return {"prefix_tokens": len(tokens), "compute_s": compute_s, "save_s": time.perf_counter() - began,
            "bytes": path.stat().st_size}  # fmt: skip


def restore_prefix(llm: Any, path: Path) -> dict[str, float]:
    """Load a saved prefix state into an emptied context, so the next prompt reuses it."""
    import llama_cpp

    llm.reset()
    llm._ctx.kv_cache_clear()
    capacity = llm.n_ctx()
    tokens = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    began = time.perf_counter()
    if not llama_cpp.llama_state_load_file(llm._ctx.ctx, str(path).encode(), tokens, capacity, ctypes.byref(count)):
        raise RuntimeError(f"llama_state_load_file failed for {path}")
    load_s = time.perf_counter() - began
    n = int(count.value)
    llm.input_ids[:n] = tokens[:n]
    llm.n_tokens = n  # llama-cpp-python now sees these n tokens as cached and matches the prefix
    return {"load_s": load_s, "tokens": n}


def user_message_tokens(pipeline: Pipeline, question: str, count) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Where the per-question tokens go: passage texts, their titles, the question, the rest."""
    question = pipeline.check_question(question)
    passages = pipeline.searcher.search(question, pipeline.retrieval)
    messages: list[Message] = build_messages(question, passages)
    texts = sum(count(p.chunk.text.replace("\n", " ")) for p in passages)
    titles = sum(count(f" ({p.chunk.title})") for p in passages)
    total = count(messages[-1].content)
    asked = count(question)
    return {"user_message": total, "passage_texts": texts, "passage_titles": titles, "question": asked,
            "labels_and_reminder": total - texts - titles - asked}  # fmt: skip
