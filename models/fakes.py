"""Deterministic stand-ins for the real models, for tests and demos without weights."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.generator import Generation, Message

_WORD = re.compile(r"\w+", re.UNICODE)


def _bucket(word: str) -> int:
    """A word's hash, the same in every process (unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")


@dataclass(eq=False)
class HashingEmbedder:
    """Bag-of-words vectors by feature hashing: texts sharing words get similar vectors."""

    dim: int = 256
    max_tokens: int = 256
    # The batch sizes of embed_documents, to test re-embedding.
    calls: list[int] = field(default_factory=list, init=False, repr=False)

    @property
    def model_id(self) -> str:
        return f"hashing-{self.dim}"

    def count_tokens(self, text: str) -> int:
        # Roughly what a word-piece tokenizer gives: words plus punctuation, plus [CLS]/[SEP].
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            vec[_bucket(word) % self.dim] += 1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


@dataclass(eq=False)
class HashingSparseEncoder:
    """Term weights by feature hashing: each word weighs 1 + log(count) in its bucket, one of
    `vocab_size`."""

    vocab_size: int = 4096
    # The batch sizes of encode, to test that rebuilds reuse weights.
    calls: list[int] = field(default_factory=list, init=False, repr=False)

    @property
    def model_id(self) -> str:
        return f"hashing-sparse-{self.vocab_size}"

    def encode(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            counts: dict[int, int] = {}
            for word in _WORD.findall(text.lower()):
                bucket = _bucket(word) % self.vocab_size
                counts[bucket] = counts.get(bucket, 0) + 1
            terms = np.array(sorted(counts), dtype=np.int32)
            out.append((terms, np.array([1 + np.log(counts[t]) for t in terms], dtype=np.float32)))
        return out


@dataclass(eq=False)
class ScriptedGenerator:
    """Replies with scripted texts in order (the last one repeats) and records its prompts."""

    replies: Sequence[str] = ("The articles do not say.",)
    n_ctx: int = 4096
    prompts: list[list[Message]] = field(default_factory=list, init=False, repr=False)
    # What `stream(track=...)` reports for a reply that is not `track`.
    track_logprob: float = field(default=-5.0, init=False)
    # What `choose` returns, in order (the last repeats), and the prompts it was given.
    choices: list[tuple[float, ...]] = field(default_factory=list, init=False)
    choose_prompts: list[list[Message]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.replies = list(self.replies)  # a copy: a test may change its own list afterwards

    @property
    def model_id(self) -> str:
        return "scripted"

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = (), track: str | None = None
    ) -> Generation:
        self.prompts.append(list(messages))
        index = min(len(self.prompts) - 1, len(self.replies) - 1)
        reply = self.replies[index]

        def pieces(generation: Generation) -> Iterator[str]:
            # Word-sized pieces, like a tokenizer's output.
            parts = re.findall(r"\S+\s*|\s+", reply)[:max_tokens]
            generation.prompt_tokens = sum(self.count_tokens(m.content) for m in messages)
            for part in parts:
                generation.completion_tokens += 1
                yield part

        generation = Generation.filled_by(pieces)
        if track is not None:  # no probabilities here: certain of the reply it was scripted with
            generation.track_logprob = 0.0 if reply.startswith(track) else self.track_logprob
        return generation

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> tuple[float, ...]:
        """The scripted probabilities (`choices`), or the first option certain when none are scripted."""
        self.choose_prompts.append(list(messages))
        if not self.choices:
            return tuple(1.0 if i == 0 else 0.0 for i in range(len(options)))
        return self.choices[min(len(self.choose_prompts) - 1, len(self.choices) - 1)]
