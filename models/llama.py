"""The in-process backend: a GGUF chat model run by llama-cpp-python, with its prompt-prefix state.

One llama.cpp context answers one prompt at a time (a lock), deterministically (temperature 0,
top_k 1, the constructor's seed). The KV state of the fixed prompt prefix is computed once
and kept in memory and on disk (`prime`; the file format is models/llama_state.py).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from models.errors import ContextTooSmallError, ModelLoadError
from models.generator import Backend, Generation, Message, Request, chat_messages, option_forms
from models.llama_state import PrefixState, read_state, write_state


def default_threads() -> int:
    """All cores. Measured on 2 cores, quiet: prompt processing 118 tok/s with 2 threads
    against 61 with 1 (showcase TTFT 5.5 s vs 11.5 s). When another program keeps a core
    busy, 2 threads are ~2x slower than 1: set SEEDQA_THREADS=1 on a busy machine."""
    return max(1, os.cpu_count() or 1)


class LlamaGenerator(Backend):
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
        state_dir: Path | None = None,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelLoadError("llama-cpp-python is not installed; run `pip install llama-cpp-python`") from exc
        threads = n_threads or default_threads()
        try:
            with _output_left_alone():
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
        self._path = path
        self._seed = seed
        self.n_ctx = n_ctx  # the context window in tokens, as the model was loaded
        self._threads = threads
        self._state_dir = state_dir
        self._prefix: PrefixState | None = None
        # False: a prompt after an unrelated one is not given the primed prefix back (benchmarks
        # switch it off to measure what the restore saves; the product never does).
        self.restore_prefix = True
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The backend and the model file: "llama.cpp:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"."""
        return f"llama.cpp:{self._path.name}"

    @property
    def llama(self) -> Any:
        """The `llama_cpp.Llama` underneath, for measurements of llama.cpp itself (benchmarks/llm.py)."""
        return self._llm

    @property
    def state_dir(self) -> Path | None:
        """Where `prime` saves the prefix state (None: kept in memory only)."""
        return self._state_dir

    @property
    def prefix_tokens(self) -> int | None:
        """Tokens of the primed prompt prefix (None before `prime`)."""
        return len(self._prefix.tokens) if self._prefix is not None else None

    def to_prefix(self) -> None:
        """Put the context back to exactly the primed prefix (no-op before `prime`), so that the next
        prompt evaluates everything after it; benchmarks measure a question's whole own part so."""
        with self._lock:
            if self._prefix is not None:
                self._restore(self._prefix)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> tuple[float, ...]:
        """The model's probability of replying with each option, read from its first token.

        One forward pass over the prompt, no sampling: each option's share of the probability
        mass of the options' first tokens (with and without a leading space, any case), so
        ("yes", "no") gives P(yes | yes or no). The options should start with different tokens.
        """
        import numpy as np
        from llama_cpp import LogitsProcessorList

        variants = []
        for option in options:
            ids = set()
            for form in option_forms(option):
                tokens = self._llm.tokenize(form.encode("utf-8"), add_bos=False, special=False)
                if tokens:
                    ids.add(tokens[0])
            variants.append(sorted(ids))
        masses: list[float] = []

        def process(input_ids: Any, scores: Any) -> Any:
            if not masses:
                logits = np.asarray(scores, dtype=np.float64)
                p = np.exp(logits - logits.max())
                masses.extend(float(p[ids].sum()) for ids in variants)
            return scores

        with self._lock:
            self._restore_prefix_if_lost(messages)
            list(
                self._llm.create_chat_completion(
                    messages=cast(Any, chat_messages(messages)),
                    max_tokens=1,
                    temperature=0.0,
                    top_k=1,
                    seed=self._seed,
                    stream=True,
                    logits_processor=LogitsProcessorList([process]),
                )
            )
        total = sum(masses) or 1.0
        return tuple(m / total for m in masses)

    def _tracker(self, track: str, generation: Generation) -> Callable[[Any, Any], Any]:
        """A logits processor that adds up log P(`track`'s next token) while the output follows it."""
        import numpy as np

        tokens = self._llm.tokenize(track.encode("utf-8"), add_bos=False, special=False)
        state = {"step": 0, "following": True}
        generation.track_logprob = 0.0

        def process(input_ids: Any, scores: Any) -> Any:
            step = state["step"]
            if state["following"] and step < len(tokens):
                logits = np.asarray(scores, dtype=np.float64)
                top = float(logits.max())
                log_total = top + float(np.log(np.exp(logits - top).sum()))
                generation.track_logprob = (generation.track_logprob or 0.0) + float(logits[tokens[step]]) - log_total
                # Greedy decoding (temperature 0, top_k 1) takes the most likely token.
                state["following"] = int(logits.argmax()) == tokens[step]
                state["step"] = step + 1
            return scores

        return process

    def _run(self, request: Request, generation: Generation) -> Iterator[str]:
        # llama.cpp is not thread-safe: one generation at a time per model.
        with self._lock:
            self._restore_prefix_if_lost(request.messages)
            processors = None
            if request.track:
                from llama_cpp import LogitsProcessorList

                processors = LogitsProcessorList([self._tracker(request.track, generation)])
            chunks = self._llm.create_chat_completion(
                messages=cast(Any, chat_messages(request.messages)),
                max_tokens=request.max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.0,
                seed=self._seed,
                stop=list(request.stop) or None,
                stream=True,
                logits_processor=processors,
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

    # The fixed prompt prefix (system text and few-shot examples, ~400 tokens) costs seconds to
    # process and is the same for every question. Its KV state is kept (12 MB): in memory, to
    # restore it after an unrelated prompt, and on disk, so that a new process skips it too.
    # Measured: computing it 7.3 s, loading it 16 ms (benchmarks/latency.py, 1 thread).

    def prime(self, messages: Sequence[Message], openings: tuple[str, str]) -> str:
        """Make the KV state of the prompt prefix that `messages` share with any question ready.

        `openings` are two different user messages that may follow `messages`: the tokens
        the two prompts share (the messages, then the start of the last one) are the prefix.

        Loaded from `state_dir` when an earlier process saved it for this model and settings,
        else computed and saved there. Returns "loaded" or "computed".
        """
        with self._lock:
            self._check_room(messages)
            key = self._prefix_key(messages, openings)
            path = self._state_dir / f"prefix-{key[:16]}.kv" if self._state_dir else None
            state = read_state(path, key) if path is not None else None
            if state is not None:
                try:
                    self._restore(state)
                    self._prefix = replace(state, messages=tuple(messages))
                    return "loaded"
                except ModelLoadError:  # a file llama.cpp does not accept: compute it again
                    self._llm.reset()
            state = self._compute_prefix(messages, openings, key)
            if path is not None:
                write_state(path, state)
            self._prefix = replace(state, messages=tuple(messages))
            self._restore(self._prefix)
            return "computed"

    def _check_room(self, messages: Sequence[Message]) -> None:
        """A context too small for the fixed prefix plus a question's passages and answer
        fails here, with the size to set, instead of as llama.cpp's ValueError mid-answer."""
        prefix = sum(self.count_tokens(m.content) + 4 for m in messages)  # ~4 template tokens each
        minimum = prefix + ROOM_FOR_QUESTION
        if self.n_ctx < minimum:
            raise ContextTooSmallError(
                f"a context of {self.n_ctx} tokens cannot hold the fixed prompt ({prefix} tokens) plus a "
                f"question, its passages and the answer; set SEEDQA_N_CTX to at least {minimum} (default 4096)"
            )

    def _prefix_key(self, messages: Sequence[Message], openings: tuple[str, str]) -> str:
        import hashlib
        import json

        import llama_cpp

        stat = self._path.stat()
        identity = {
            "model": [self._path.name, stat.st_size, stat.st_mtime_ns],
            "llama_cpp": llama_cpp.__version__,
            "n_ctx": self.n_ctx,
            "threads": self._threads,  # thread count can change float rounding
            "messages": [[m.role, m.content] for m in messages],
            "openings": list(openings),
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def _compute_prefix(self, messages: Sequence[Message], openings: tuple[str, str], key: str) -> PrefixState:
        """Run the chat template twice with different last messages; keep what they share."""
        import llama_cpp

        llm = self._llm
        prompts = []
        for opening in openings:
            chat = [*messages, Message("user", opening)]
            list(self._complete(chat))
            prompts.append(llm.input_ids[: llm.n_tokens].tolist())
        shared = 0
        for a, b in zip(*prompts, strict=False):
            if a != b:
                break
            shared += 1
        # Drop what follows the shared prefix, then snapshot the context.
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), -1, shared, -1)
        llm.n_tokens = shared
        size = llama_cpp.llama_state_get_size(llm.ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(llm.ctx, buffer, size)
        return PrefixState(key, tuple(prompts[0][:shared]), bytes(buffer)[:written])

    def _complete(self, messages: Sequence[Message]) -> Iterator[dict[str, Any]]:
        return cast(
            Iterator[dict[str, Any]],
            self._llm.create_chat_completion(
                messages=cast(Any, chat_messages(messages)),
                max_tokens=1,
                temperature=0.0,
                top_k=1,
                stream=True,
            ),
        )

    def _restore(self, state: PrefixState) -> None:
        import llama_cpp

        llm = self._llm
        data = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
        if llama_cpp.llama_state_set_data(llm.ctx, data, len(state.data)) != len(state.data):
            raise ModelLoadError("could not restore the saved prompt state")
        n = len(state.tokens)
        llm.input_ids[:n] = state.tokens
        llm.n_tokens = n  # llama-cpp-python now reuses these n tokens as a cached prefix

    def _restore_prefix_if_lost(self, messages: Sequence[Message]) -> None:
        """After an unrelated prompt (e.g. a follow-up rewrite), bring the prefix back (~16 ms)."""
        state = self._prefix
        if not self.restore_prefix or state is None or tuple(messages[: len(state.messages)]) != state.messages:
            return
        n = len(state.tokens)
        if self._llm.n_tokens >= n and tuple(self._llm.input_ids[:n].tolist()) == state.tokens:
            return
        self._restore(state)


# Tokens a question needs beside the fixed prefix: up to 6 passages of at most 128 tokens
# (an analytical question), the question, and an answer of up to 320 tokens (chat/ask.py).
ROOM_FOR_QUESTION = 1280


_QUIET_LOG: Any = None
_PATCH_LOCK = threading.Lock()


@contextmanager
def _output_left_alone() -> Iterator[None]:
    """Load a model without llama-cpp-python's `suppress_stdout_stderr`.

    With verbose=False it points file descriptors 1 and 2 and sys.stdout/sys.stderr at
    /dev/null while the model loads: process-wide, so while the model loads in a background
    thread (PreloadingGenerator) whatever the main thread prints (an index notice, an error)
    vanishes. Instead llama.cpp's log goes to a callback that drops it; failures still
    arrive as exceptions.
    """
    global _QUIET_LOG
    import llama_cpp
    import llama_cpp._internals as internals
    import llama_cpp.llama as llama_module

    class _Leave:
        def __init__(self, disable: bool = True) -> None:
            pass

        def __enter__(self) -> _Leave:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    with _PATCH_LOCK:
        if _QUIET_LOG is None:
            _QUIET_LOG = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
            llama_cpp.llama_log_set(_QUIET_LOG, ctypes.c_void_p(0))
        saved = llama_module.suppress_stdout_stderr, internals.suppress_stdout_stderr
        llama_module.suppress_stdout_stderr = internals.suppress_stdout_stderr = _Leave  # type: ignore[misc,assignment]
        try:
            yield
        finally:
            llama_module.suppress_stdout_stderr, internals.suppress_stdout_stderr = saved  # type: ignore[misc]
