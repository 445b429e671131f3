"""A NumPy forward pass of a BERT sentence-transformers model, for a few texts at query time.

`seedqa ask` embeds one question and the ~15 sentences of its passages. Importing torch and
sentence-transformers for that costs ~4.7 s of a cold start (benchmarks/cold.py stages: torch
1.2 s, sentence_transformers 3.5 s) against ~0.2 s for this module to read the same weights
from model.safetensors. Batches of more than 64 texts (index builds) go to sentence-transformers;
smaller ones (a question, passage sentences, a small rebuild) come here while torch is not
loaded, so this encoder must give the same vectors (tests/test_real_models.py compares them),
and it only accepts models it reproduces exactly: BERT, mean pooling, normalized output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def supported(path: Path) -> bool:
    """True for a sentence-transformers folder this encoder reproduces (e.g. all-MiniLM-L6-v2)."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        config = json.loads((path / "config.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((path / pooling_dir / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    return (
        kinds == ["Transformer", "Pooling", "Normalize"]
        and modes == {"pooling_mode_mean_tokens"}
        and config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (path / "model.safetensors").is_file()
        and (path / "tokenizer.json").is_file()
    )


GROUP = 4  # texts per forward pass (see SmallEncoder.encode)


class BertForward:
    """BERT's encoder stack in NumPy: token ids in, last hidden states out.

    Shared by the sentence encoder below and the SPLADE term weighter (models/splade.py).
    Checkpoints name LayerNorm parameters either weight/bias or (older ones) gamma/beta.
    """

    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file

        config = json.loads((path / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        weights = {_plain_name(k): v for k, v in load_file(str(path / "model.safetensors")).items()}
        # Linear weights stored transposed and contiguous: x @ w is then one plain BLAS call.
        self._w = {k: np.ascontiguousarray(v.T) if k.endswith("dense.weight") or _is_qkv(k) else v
                   for k, v in weights.items()}  # fmt: skip
        self.pad_id = int(config.get("pad_token_id", 0))

    @property
    def weights(self) -> dict[str, np.ndarray]:
        return self._w

    def hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self.norm(x, "embeddings.LayerNorm")
        # Padded positions get the most negative float, as transformers does.
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        width = x.shape[-1] // self._heads
        for i in range(self._layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._heads_of(self._linear(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(width) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            probs = scores / scores.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = self.norm(x + self._linear(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            inner = gelu(self._linear(x, p + "intermediate.dense"))
            x = self.norm(x + self._linear(inner, p + "output.dense"), p + "output.LayerNorm")
        return x

    def _heads_of(self, y: np.ndarray) -> np.ndarray:
        """(batch, length, hidden) -> (batch, heads, length, hidden / heads)."""
        batch, length, hidden = y.shape
        return y.reshape(batch, length, self._heads, hidden // self._heads).transpose(0, 2, 1, 3)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self._w[name + ".weight"] + self._w[name + ".bias"]
        return flat.reshape(*x.shape[:-1], -1)

    def norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self._eps) * self._w[name + ".weight"] + self._w[name + ".bias"]


class SmallEncoder:
    """Mean-pooled, normalized sentence vectors of a BERT sentence-transformers model."""

    def __init__(self, path: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self._bert = BertForward(path)
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding(pad_id=self._bert.pad_id)
        self._tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text.

        The forward pass costs in proportion to batch x longest text, so texts go in groups of
        `GROUP` of similar length: for the showcase's 14 passage sentences that is 742 -> ~500
        token positions, and 217 -> 163 ms on one core (one text at a time: 224 ms).
        """
        encodings = self._tokenizer.encode_batch(list(texts))  # padded on the right to the longest
        lengths = [sum(e.attention_mask) for e in encodings]
        out = np.empty(
            (len(encodings), self._bert.weights["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32
        )
        order = sorted(range(len(encodings)), key=lambda i: lengths[i])
        for start in range(0, len(order), GROUP):
            group = order[start : start + GROUP]
            width = max(lengths[i] for i in group)
            ids = np.array([encodings[i].ids[:width] for i in group], dtype=np.int64)
            mask = np.array([encodings[i].attention_mask[:width] for i in group], dtype=np.float32)
            hidden = self._bert.hidden(ids, mask)
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
            out[group] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


def _plain_name(name: str) -> str:
    name = name.removeprefix("bert.")
    if ".LayerNorm." in name:
        name = name.replace(".gamma", ".weight").replace(".beta", ".bias")
    return name


def _is_qkv(name: str) -> bool:
    return name.endswith(("query.weight", "key.weight", "value.weight"))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT's "gelu"."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x * np.float32(1.0 / math.sqrt(2.0))))
