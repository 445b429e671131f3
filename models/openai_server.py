"""The model-server backend: any server that speaks the OpenAI chat API (vLLM, llama.cpp's
`llama-server`, llama-cpp-python's `llama_cpp.server`, Ollama, LM Studio, a hosted endpoint).

It streams `/v1/chat/completions` with the sampling of the in-process backend: temperature 0,
a fixed seed, and, where the server takes them, `top_k=1` and no repetition penalty (the
llama.cpp servers default to 1.1, vLLM to the model's own, and either changes greedy output).
A server that refuses an optional field (a hosted API refuses `top_k`) is asked again without
it, once; the field is then left out for good.

The model's own probabilities come from the server's `logprobs`:
- `track` (the refusal sentence's probability, a signal of the confidence check) needs them
  only for the first few tokens, while the answer follows the refusal, so the answer streams
  without them and one short request after it (the same prompt, the server's prompt cache
  makes it cheap) reads them for those tokens: llama_cpp.server sorts the whole vocabulary
  (151,936 tokens here) in Python for every token it returns logprobs for.
- `choose` reads the first token's top log-probabilities.
The server names tokens by their text, not their ids: the refusal's next token at a step is
the longest listed token its remaining text starts with. A token outside the top
`TOP_LOGPROBS` counts with the smallest listed probability (an upper bound, clipped by the
confidence check like any low value). A server without logprobs gives `track_logprob` None
and `choose` equal shares; the confidence check then misses both signals (docs/SERVER.md).

Token counts come from the server's usage data (`stream_options.include_usage`); a server
that sends none (llama_cpp.server) gets the pieces counted (one streamed piece is one token on
the servers above) and the prompt estimated. `count_tokens` is an estimate, since tokenizer
endpoints differ (llama_cpp.server's /extras/tokenize waits for the answer being streamed,
llama-server and vLLM have /tokenize, Ollama and hosted APIs none): about 4 characters a token
in English, counted as 3 so that the context check errs toward too many tokens (a prompt it
lets through that is still too long is refused by the server, in one line).

Every request has a timeout for the connection and for each wait for data (the next token).
A server that is down, too slow or answers an error raises a `ModelServerError` with a
one-line message saying what to do; the API key never appears in one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from models.errors import ModelLoadError, ModelServerError, ServerReplyError, ServerTimeoutError, ServerUnreachableError
from models.generator import Backend, Generation, Message, Request, chat_messages, option_forms

TOP_LOGPROBS = 20  # the most the OpenAI API allows
TRACK_STEPS = 24  # at most this many tokens are re-read for `track` (the refusal is 6)
# Fields outside the OpenAI API's core that a server may refuse, by the words its error names.
OPTIONAL = {
    "sampling": ("top_k", "repeat_penalty", "repetition_penalty"),
    "stream_options": ("stream_options", "include_usage"),
    "logprobs": ("logprobs",),
}
SAMPLING = {"top_k": 1, "repeat_penalty": 1.0, "repetition_penalty": 1.0}


def normalize_url(url: str) -> str:
    """The API base URL: "http://127.0.0.1:8080" -> "http://127.0.0.1:8080/v1" (every server
    named above serves the API under /v1); a URL with a path is kept as given."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(url)
    return url if parts.path else url + "/v1"


def estimate_tokens(text: str) -> int:
    """~4 characters a token in English prose; counted as 3, so the estimate errs toward too many."""
    return -(-len(text.encode("utf-8")) // 3)


class OpenAIGenerator(Backend):
    """A model behind an OpenAI-compatible HTTP server; thread-safe (one client, many streams)."""

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        n_ctx: int = 4096,
        seed: int = 0,
        timeout: float = 120.0,
    ) -> None:
        try:
            import httpx
            import openai
        except ImportError as exc:
            raise ModelLoadError(
                "the openai package is not installed; run `pip install openai` or unset SEEDQA_LLM_URL"
            ) from exc
        self.url = normalize_url(url)  # the server's base URL, ending in /v1
        self._model = model
        self._secret = api_key or ""
        self._n_ctx = n_ctx
        self._server_ctx: int | None = None
        self._seed = seed
        self._timeout = timeout
        self._client = openai.OpenAI(
            base_url=self.url,
            api_key=api_key or "none",  # the client insists on one; servers without keys ignore it
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            max_retries=0,  # a server that is down says so at once
        )
        self._lock = threading.Lock()
        self._discovered = False
        self._rejected: set[str] = set()  # OPTIONAL fields this server refused

    def __repr__(self) -> str:
        return f"OpenAIGenerator({self.url!r}, model={self._model!r})"

    @property
    def model(self) -> str:
        """The model name sent with each request: as set, else the one the server lists."""
        self._discover()
        assert self._model is not None
        return self._model

    @property
    def model_id(self) -> str:
        """The backend, the URL and the model: "openai:http://127.0.0.1:8080/v1:qwen2.5-1.5b"."""
        return f"openai:{self.url}:{self.model}"

    @property
    def n_ctx(self) -> int:
        """The server's context size where it says (vLLM's max_model_len), else the setting."""
        self._discover()
        return self._server_ctx or self._n_ctx

    def count_tokens(self, text: str) -> int:
        """An estimate (`estimate_tokens`). The first call asks the server for its models, so a
        warm-up call finds a server that is down before the first question does."""
        self._discover()
        return estimate_tokens(text)

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> tuple[float, ...]:
        """Each option's share of the probability of the options' first tokens (any case, with
        or without a leading space), from the first token's top log-probabilities; equal
        shares when the server gives none."""
        even = tuple(1.0 / len(options) for _ in options) if options else ()
        steps = self._logprobs(messages, max_tokens=1, stop=())
        if not steps:
            return even
        listed = _listed(steps[0])
        masses = []
        for option in options:
            forms = option_forms(option)
            found = [lp for token, lp in listed.items() if token in forms]
            if not found:  # a form of several tokens: its first token is one the form starts with
                found = [lp for t, lp in listed.items() if t.strip() and any(f.startswith(t) for f in forms)]
            masses.append(sum(math.exp(lp) for lp in found))
        total = sum(masses)
        return tuple(m / total for m in masses) if total > 0 else even

    # The requests.

    def _run(self, request: Request, generation: Generation) -> Iterator[str]:
        messages, stop = request.messages, request.stop
        chunks = self._open(self._body(messages, max_tokens=request.max_tokens, stop=stop))
        pieces: list[str] = []
        usage = finish = None
        try:
            for chunk in self._read(chunks):
                usage = getattr(chunk, "usage", None) or usage
                for choice in chunk.choices[:1]:
                    finish = choice.finish_reason or finish
                    piece = choice.delta.content if choice.delta is not None else None
                    if piece:
                        pieces.append(piece)
                        yield piece
            if finish is None:  # the stream ended without saying why: cut off, not finished
                raise ServerUnreachableError(self._cut_off())
        finally:
            # A generator closed early (stop button) closes the response: the server stops too.
            chunks.close()
            generation.completion_tokens = usage.completion_tokens if usage is not None else len(pieces)
            generation.prompt_tokens = (
                usage.prompt_tokens if usage is not None else sum(self.count_tokens(m.content) + 4 for m in messages)
            )
        if request.track:
            generation.track_logprob = self._track(messages, stop, request.track, pieces)

    def _track(
        self, messages: Sequence[Message], stop: Sequence[str], track: str, pieces: Sequence[str]
    ) -> float | None:
        """log P(the output starts with `track`), as models/generator.py `Generation` defines it."""
        text, steps = "", len(pieces) + 1  # ended while still following: the end departs
        for i, piece in enumerate(pieces):
            text += piece
            if not track.startswith(text) or text == track:
                steps = i + 1
                break
        entries = self._logprobs(messages, max_tokens=min(steps + 1, TRACK_STEPS), stop=stop)
        if not entries:
            return None
        total, matched = 0.0, ""
        for entry in entries:
            rest = track[len(matched) :]
            if not rest:
                break
            listed = _listed(entry)
            expected = max((t for t in listed if t and rest.startswith(t)), key=len, default=None)
            if expected is None:  # not among the listed tokens: at most the least likely listed one
                return total + min(listed.values())
            total += listed[expected]
            if entry.token != expected:
                break
            matched += expected
        return total

    def _logprobs(self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str]) -> list[Any]:
        """The per-token log-probabilities of a short greedy completion ([] if the server gives none)."""
        if "logprobs" in self._rejected:
            return []
        chunks = self._open(self._body(messages, max_tokens=max_tokens, stop=stop, logprobs=True))
        entries: list[Any] = []
        try:
            for chunk in self._read(chunks):
                for choice in chunk.choices[:1]:
                    if choice.logprobs is not None and choice.logprobs.content:
                        entries.extend(choice.logprobs.content)
        finally:
            chunks.close()
        return entries

    def _body(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str], logprobs: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(messages),
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "seed": self._seed,
            "stream": True,
        }
        if stop:
            body["stop"] = list(stop)
        if "stream_options" not in self._rejected:
            body["stream_options"] = {"include_usage": True}
        if "sampling" not in self._rejected:
            body["extra_body"] = dict(SAMPLING)
        if logprobs:
            body["logprobs"], body["top_logprobs"] = True, TOP_LOGPROBS
        return body

    def _open(self, body: dict[str, Any]) -> Any:
        """Start a streamed completion; a refused optional field is dropped and the request sent again."""
        import openai

        while True:
            try:
                return self._client.chat.completions.create(**body)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                named = _detail(exc)
                refused = [
                    k for k, words in OPTIONAL.items() if k not in self._rejected and any(w in named for w in words)
                ]
                if not refused:
                    raise self._error(exc) from None
                with self._lock:
                    self._rejected.update(refused)
                for key in refused:
                    for field in ("extra_body",) if key == "sampling" else (key, "top_logprobs"):
                        body.pop(field, None)
                if "logprobs" in refused:
                    return _Empty()
            except openai.OpenAIError as exc:
                raise self._error(exc) from None

    def _read(self, chunks: Any) -> Iterator[Any]:
        """The stream's chunks, with a broken connection or a stall turned into a ModelServerError."""
        import httpx
        import openai

        try:
            yield from chunks
        except httpx.TimeoutException:
            raise self._timed_out("sent nothing for") from None
        except httpx.TransportError:
            raise ServerUnreachableError(self._cut_off()) from None
        except openai.OpenAIError as exc:
            raise self._error(exc) from None

    def _timed_out(self, waited: str) -> ServerTimeoutError:
        """The server took longer than the timeout: `waited` says for what ("sent nothing for")."""
        return ServerTimeoutError(
            f"the model server at {self.url} {waited} {self._timeout:g} s; "
            "check that it is running and not overloaded, or raise SEEDQA_LLM_TIMEOUT"
        )

    def _cut_off(self) -> str:
        return (
            f"the model server at {self.url} closed the connection before the answer was complete; "
            "check that it is still running, or unset SEEDQA_LLM_URL"
        )

    def _discover(self) -> None:
        """Ask the server once which models it serves: checks that it answers, names the model
        when none was set, and reads the context size where the server says it."""
        if self._discovered:
            return
        import openai

        with self._lock:
            if self._discovered:
                return
            try:
                models = list(self._client.models.list())
            except openai.NotFoundError:
                models = []  # a server without the list still serves completions
            except openai.OpenAIError as exc:
                raise self._error(exc) from None
            if self._model is None:
                if len(models) != 1:
                    names = ", ".join(sorted(m.id for m in models)[:5]) or "none"
                    raise ServerReplyError(
                        f"the model server at {self.url} lists {len(models)} models ({names}); "
                        "name one with --llm-model or SEEDQA_LLM_MODEL"
                    )
                self._model = models[0].id
            entry = next((m for m in models if m.id == self._model), None)
            size = (entry.model_extra or {}).get("max_model_len") if entry is not None else None
            self._server_ctx = int(size) if isinstance(size, int) and size > 0 else None
            self._discovered = True

    def _error(self, exc: Exception) -> ModelServerError:
        """One line saying what went wrong and what to do, never holding the API key."""
        import openai

        url = self.url
        error: ModelServerError
        if isinstance(exc, openai.APITimeoutError):
            error = self._timed_out("did not answer within")
        elif isinstance(exc, openai.APIConnectionError):
            error = ServerUnreachableError(f"cannot reach {url}: start the server or unset SEEDQA_LLM_URL")
        elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            error = ServerReplyError(
                f"the model server at {url} refused the request ({exc.status_code}: {_detail(exc)}); "
                "set SEEDQA_LLM_API_KEY to a key it accepts"
            )
        elif isinstance(exc, openai.NotFoundError):
            error = ServerReplyError(
                f"the model server at {url} answered 404 ({_detail(exc)}); check the URL (it usually ends "
                "in /v1) and the model name (--llm-model or SEEDQA_LLM_MODEL)"
            )
        elif isinstance(exc, openai.APIStatusError):
            error = ServerReplyError(f"the model server at {url} answered {exc.status_code}: {_detail(exc)}")
        else:
            error = ServerReplyError(f"the model server at {url} reported an error: {_detail(exc)}")
        if self._secret:
            error.args = (str(error).replace(self._secret, "***"),)
        return error


def _listed(entry: Any) -> dict[str, float]:
    """A token step's listed tokens and their log-probabilities, the chosen token included."""
    listed = {t.token: t.logprob for t in entry.top_logprobs or ()}
    listed.setdefault(entry.token, entry.logprob)
    return listed


def _detail(exc: Exception) -> str:
    """The server's own message, on one line and short."""
    body = getattr(exc, "body", None)
    message: object = getattr(exc, "message", None) or str(exc)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = (inner.get("message") or inner.get("detail") or message) if isinstance(inner, dict) else inner
        message = message or body.get("detail") or str(exc)
    text = " ".join(str(message).split())
    return text if len(text) <= 200 else text[:197] + "..."


class _Empty:
    """The stream of a logprobs request the server refused: no chunks."""

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def close(self) -> None:
        pass
