"""The `Generator` interface and its llama-cpp-python adapter (a local GGUF chat model)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from models.errors import ModelLoadError


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


class Generation:
    """A stream of text pieces; token counts are filled in once the stream is exhausted."""

    def __init__(self, pieces: Iterator[str]) -> None:
        self._pieces = pieces
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def close(self) -> None:
        """Stop generating now and release the model (e.g. the user pressed stop)."""
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()


class Generator(Protocol):
    @property
    def model_id(self) -> str: ...

    @property
    def n_ctx(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()) -> Generation: ...


def default_threads() -> int:
    # Measured on a busy 2-core machine: one thread beat two (the other core serves the rest).
    return max(1, (os.cpu_count() or 2) - 1)


class LlamaGenerator:
    """A GGUF chat model run by llama-cpp-python, deterministic (temperature 0, fixed seed).

    llama.cpp keeps the KV cache of the previous prompt and reuses its longest common prefix,
    so a fixed system prompt and few-shot block are processed once, not per question.
    """

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        seed: int = 0,
        cache_mb: int = 256,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelLoadError("llama-cpp-python is not installed; run `pip install llama-cpp-python`") from exc
        threads = n_threads or default_threads()
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=n_batch,
                seed=seed,
                verbose=False,
            )
        except Exception as exc:  # llama.cpp reports failures as ValueError/RuntimeError
            raise ModelLoadError(f"could not load the model {path}: {exc}") from exc
        if cache_mb > 0:
            # KV states of recent prompts, kept in RAM: after a different prompt (a follow-up
            # rewrite) the next answer still finds its fixed prefix computed. Measured: showcase
            # TTFT after an unrelated prompt 18.6 s without, 12.7 s with (2 cores, loaded).
            from llama_cpp import LlamaRAMCache

            self._llm.set_cache(LlamaRAMCache(capacity_bytes=cache_mb << 20))
        self._path = path
        self._n_ctx = n_ctx
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._path.name

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()) -> Generation:
        generation = Generation(iter(()))
        generation._pieces = self._run(messages, max_tokens, stop, generation)
        return generation

    def _run(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        stop: Sequence[str],
        generation: Generation,
    ) -> Iterator[str]:
        # llama.cpp is not thread-safe: one generation at a time per model.
        with self._lock:
            chunks = self._llm.create_chat_completion(
                messages=cast(Any, [{"role": m.role, "content": m.content} for m in messages]),
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.0,
                seed=0,
                stop=list(stop) or None,
                stream=True,
            )
            count = 0
            try:
                for chunk in cast(Iterator[dict[str, Any]], chunks):
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        count += 1
                        yield piece
            finally:
                # A generator closed early (stop button) still releases the lock here.
                generation.completion_tokens = count
                generation.prompt_tokens = max(0, self._llm.n_tokens - count)


class PreloadingGenerator:
    """Loads a generator in a background thread so the load overlaps other start-up work.

    `seedqa ask` embeds and searches the question (~1 s with torch warm) while llama.cpp maps
    the 1.1 GB model; the first call that needs the model waits for the load to finish.
    """

    def __init__(self, factory: Callable[[], Generator]) -> None:
        self._result: Generator | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, args=(factory,), daemon=True)
        self._thread.start()

    def _load(self, factory: Callable[[], Generator]) -> None:
        try:
            self._result = factory()
        except BaseException as exc:  # re-raised in the caller's thread by get()
            self._error = exc

    def get(self) -> Generator:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    @property
    def model_id(self) -> str:
        return self.get().model_id

    @property
    def n_ctx(self) -> int:
        return self.get().n_ctx

    def count_tokens(self, text: str) -> int:
        return self.get().count_tokens(text)

    def stream(self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()) -> Generation:
        return self.get().stream(messages, max_tokens=max_tokens, stop=stop)
