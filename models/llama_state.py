"""The saved KV state of the fixed prompt prefix (models/llama.py, `LlamaGenerator.prime`) and its file format.

A file is the magic line, one JSON header line (the key of the model and settings it was made
for, the prefix's token ids, the data's length) and then llama.cpp's raw state bytes:

    seedqa-prefix-state 1
    {"key": "3f2a...", "tokens": [151644, 8948, ...], "bytes": 12582912}
    <12,582,912 bytes of llama_state_get_data>
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.generator import Message

STATE_MAGIC = b"seedqa-prefix-state 1\n"


@dataclass(frozen=True, slots=True)
class PrefixState:
    key: str
    tokens: tuple[int, ...]
    data: bytes  # llama_state_get_data: the KV cells of `tokens`
    messages: tuple[Message, ...] = ()


def read_state(path: Path, key: str) -> PrefixState | None:
    """A saved prefix state, or None if it is missing, for other settings, or damaged."""
    try:
        raw = path.read_bytes()
        if not raw.startswith(STATE_MAGIC):
            return None
        header_end = raw.index(b"\n", len(STATE_MAGIC))
        header = json.loads(raw[len(STATE_MAGIC) : header_end])
        data = raw[header_end + 1 :]
        if header.get("key") != key or header.get("bytes") != len(data):
            return None
        return PrefixState(key, tuple(int(t) for t in header["tokens"]), data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(path: Path, state: PrefixState) -> None:
    """Save atomically, removing older states beside it; a cache that cannot be written only
    costs the next process time."""
    header = json.dumps({"key": state.key, "tokens": list(state.tokens), "bytes": len(state.data)}).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".prefix-", delete=False) as handle:
            handle.write(STATE_MAGIC + header + b"\n" + state.data)
        os.replace(handle.name, path)
        for old in path.parent.glob("prefix-*.kv"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
