"""Timing one prompt through `ask()` or straight through llama-cpp-python, token by token.

`first_token` stops after the first piece (the user's wait); `full_answer` and `direct_answer`
time every piece so decode speed (pieces after the first / their span) compares the product's
streaming path with `Llama.create_chat_completion` on the identical messages. llama.cpp's own
counters (`llama_perf_context`) say how many prompt tokens were really evaluated, i.e. how much
of the prompt the KV cache reused. `to_prefix` puts the context back to exactly the product's
primed prompt prefix (system + few-shot), so a "warm" measurement evaluates the whole
per-question part; `without_prefix` switches the product's automatic prefix restore off for
an arm; `timed_prime` times `LlamaGenerator.prime()` computing or loading that prefix.

Only the generator's public surface is used (`llama`, `state_dir`, `prefix_tokens`,
`to_prefix`, `restore_prefix`); for fakes, which have none of it, each helper is a no-op.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from chat.app import prime_prefix
from chat.ask import AnswerStream, Pipeline
from chat.prompt import build_messages, format_passages
from models.generator import Message, chat_messages


def llama_of(generator: Any) -> Any:
    """The llama_cpp.Llama under a LlamaGenerator (or a preloading wrapper), else None."""
    return getattr(generator_of(generator), "llama", None)


def _perf_reset(llm: Any) -> None:
    if llm is not None:
        import llama_cpp

        llama_cpp.llama_perf_context_reset(llm.ctx)


def _perf(llm: Any) -> dict[str, float]:
    if llm is None:
        return {}
    import llama_cpp

    data = llama_cpp.llama_perf_context(llm.ctx)
    return {
        "n_prompt_eval": int(data.n_p_eval),
        "prompt_eval_s": data.t_p_eval_ms / 1000,
        "n_decode": int(data.n_eval),
        "decode_s": data.t_eval_ms / 1000,
    }


def stop(stream: AnswerStream) -> None:
    """Stop a stream and the model's generation under it, so the model is free at once.

    `AnswerStream.close` closes the generation it is relaying (chat/ask.py, `_relay`), which
    releases the model's lock.
    """
    stream.close()


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
        "second_pass": stream.second_pass,
        "retrieve_s": retrieve_s,
        "prompt_tokens": generation.prompt_tokens if generation is not None else 0,
        **_perf(llm),
    }
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
    return {"question": question, "text": answer.raw_text, "second_pass": answer.second_pass,
            **_rates(began, stamps), **_perf(llm)}  # fmt: skip


def direct_answer(pipeline: Pipeline, question: str) -> dict[str, Any]:
    """The same messages and sampling as `ask()`, straight through llama-cpp-python.

    Without a Llama (fakes), the generator's own `stream` stands in for the direct path.
    """
    question = pipeline.check_question(question)
    messages = build_messages(question, pipeline.retrieve(question))
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
            messages=chat_messages(messages),
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


def generator_of(generator: Any) -> Any:
    """The LlamaGenerator under a preloading wrapper (or the generator itself)."""
    return generator.get() if hasattr(generator, "get") else generator


def prefix_tokens(generator: Any) -> int | None:
    """Tokens of the fixed prompt prefix the product primed (None for fakes, or not primed)."""
    return getattr(generator_of(generator), "prefix_tokens", None)


def to_prefix(generator: Any) -> None:
    """Put the context back to exactly the fixed prompt prefix, as the product primed it.

    llama-cpp-python reuses the longest common token prefix with the previous prompt: a
    showcase prompt right after another question that retrieved the same first passage
    evaluates only what follows that passage (k=4 "in 0.29 s"). From exactly the prefix,
    the whole per-question part is evaluated, as for a question with new passages.
    No-op for fakes.
    """
    restore: Callable[[], None] | None = getattr(generator_of(generator), "to_prefix", None)
    if restore is not None:
        restore()


@contextlib.contextmanager
def without_prefix(generator: Any) -> Iterator[None]:
    """Switch off the product's automatic prefix restore for a while (`restore_prefix = False`).

    For arms that must show what happens without it: a prompt evaluated from token 0 after
    `Llama.reset()`, or an answer prompt right after an unrelated one. No-op for fakes.
    """
    inner = generator_of(generator)
    saved = getattr(inner, "restore_prefix", None)
    if saved is not None:
        inner.restore_prefix = False
    try:
        yield
    finally:
        if saved is not None:
            inner.restore_prefix = saved


def timed_prime(generator: Any, *, keep_file: bool) -> dict[str, Any]:
    """The product's `prime()` (chat/app.py `prime_prefix`) into an emptied context, as a new
    process does it.

    With the saved state file (`keep_file`) the prefix is loaded; without it (the file is
    deleted first, a first-ever run) it is computed and saved again.
    """
    inner = generator_of(generator)
    llm = inner.llama
    folder = inner.state_dir
    assert folder is not None, "timed_prime needs a generator with a state dir"
    if not keep_file:
        for path in folder.glob("prefix-*.kv"):
            path.unlink()
    import llama_cpp

    llm.reset()
    llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(llm.ctx), True)  # the KV cache too
    began = time.perf_counter()
    how = prime_prefix(inner)
    seconds = time.perf_counter() - began
    files = sorted(folder.glob("prefix-*.kv"))
    return {"how": how, "prime_s": seconds, "prefix_tokens": inner.prefix_tokens,
            "state_bytes": files[0].stat().st_size if files else 0}  # fmt: skip


def user_message_tokens(pipeline: Pipeline, question: str, count: Callable[[str], int]) -> dict[str, int]:
    """Where the per-question tokens go: passage texts as shown (focused), the titles that are
    shown (one line per article), the question, the rest; and, for comparison, the
    passages' whole chunk texts (what focusing saved)."""
    question = pipeline.check_question(question)
    passages = pipeline.retrieve(question)
    messages: list[Message] = build_messages(question, passages)
    texts = sum(count(p.shown_text.replace("\n", " ")) for p in passages)
    titles = sum(count(line) for line in format_passages(passages).split("\n") if line.startswith("Article: "))
    total = count(messages[-1].content)
    asked = count(question)
    whole = sum(count(p.chunk.text.replace("\n", " ")) for p in passages)
    return {"user_message": total, "passage_texts": texts, "passage_titles": titles, "question": asked,
            "labels_and_reminder": total - texts - titles - asked,
            "whole chunk texts (before focusing)": whole}  # fmt: skip
