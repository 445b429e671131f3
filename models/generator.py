"""The `Generator` interface and the types every backend shares (one file per backend beside it:
models/llama.py in-process, models/openai_server.py an OpenAI-compatible server), plus the
background loader that wraps any of them."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


class Generation:
    """A stream of text pieces; token counts are filled in once the stream is exhausted.

    `track_logprob` is the model's own log-probability that its output starts with the `track`
    text passed to `stream` (None when nothing was tracked, or the backend cannot tell), read
    from the next-token distributions of the same forward passes that produce the output
    (in-process at no extra cost; a model server is asked for them in one short request,
    models/openai_server.py); it is complete once the stream is exhausted. While the output
    follows `track` token by token the probabilities multiply; at the first token where it
    departs, that step's probability of `track`'s token is the last factor. So it is exact
    when the output is `track` and an upper bound otherwise: "The articles do not say."
    tracked, an answer starting "Ukrainian President ..." gives log P("The") at step one, one
    starting "The Ukrainian ..." gives log P("The") + log P(" articles").
    """

    def __init__(self, pieces: Iterator[str]) -> None:
        self._pieces = pieces
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.track_logprob: float | None = None

    @classmethod
    def filled_by(cls, run: Callable[[Generation], Iterator[str]]) -> Generation:
        """A generation whose pieces are `run(generation)`: a backend's stream, which fills in the
        counts (and `track_logprob`) of the generation it is handed as it goes."""
        generation = cls(iter(()))
        generation._pieces = run(generation)
        return generation

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def close(self) -> None:
        """Stop generating now and release the model (e.g. the user pressed stop)."""
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()


def chat_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """The messages as chat-completion APIs take them (OpenAI's, llama.cpp's)."""
    return [{"role": m.role, "content": m.content} for m in messages]


def option_forms(option: str) -> set[str]:
    """The spellings a reply may start with `option` in: "yes" -> {"yes", "Yes", " yes", " Yes"}."""
    return {option, option.lower(), option.capitalize(), " " + option.lower(), " " + option.capitalize()}


@dataclass(frozen=True, slots=True)
class Request:
    """What `stream` was asked for: the prompt, at most `max_tokens`, the stop strings and the text
    whose probability to track (see `Generation`)."""

    messages: Sequence[Message]
    max_tokens: int
    stop: Sequence[str] = ()
    track: str | None = None


class Backend(ABC):
    """A generator backend (models/llama.py, models/openai_server.py): its `stream` hands a fresh
    `Generation` to the backend's `_run`, which yields the pieces and fills in the counts."""

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = (), track: str | None = None
    ) -> Generation:
        request = Request(messages, max_tokens, stop, track)
        return Generation.filled_by(lambda generation: self._run(request, generation))

    @abstractmethod
    def _run(self, request: Request, generation: Generation) -> Iterator[str]:
        """The pieces of the reply to `request`; sets `generation`'s counts (and `track_logprob`)."""


class Generator(Protocol):
    @property
    def model_id(self) -> str: ...

    @property
    def n_ctx(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = (), track: str | None = None
    ) -> Generation: ...

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> tuple[float, ...]: ...


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

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = (), track: str | None = None
    ) -> Generation:
        return self.get().stream(messages, max_tokens=max_tokens, stop=stop, track=track)

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> tuple[float, ...]:
        return self.get().choose(messages, options)
