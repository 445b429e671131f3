"""Settings precedence: flags > SEEDQA_* environment > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat.errors import SettingsError
from chat.settings import Settings


def test_defaults(monkeypatch):
    for key in ("SEEDQA_K", "SEEDQA_CORPUS", "SEEDQA_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(key, raising=False)
    settings = Settings.load()
    assert settings.corpus == Path("seeds")
    assert settings.retrieval.k == 4
    assert settings.data_dir == Path.home() / ".local" / "share" / "seedqa"


def test_environment_then_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("SEEDQA_K", "7")
    monkeypatch.setenv("SEEDQA_CORPUS", str(tmp_path))
    monkeypatch.setenv("SEEDQA_GGUF", "/models/x.gguf")
    settings = Settings.load()
    assert (settings.retrieval.k, settings.corpus, settings.generator.gguf) == (7, tmp_path, Path("/models/x.gguf"))
    assert Settings.load(k=2, corpus="other").retrieval.k == 2
    assert Settings.load(k=2, corpus="other").corpus == Path("other")


def test_invalid_environment_value(monkeypatch):
    monkeypatch.setenv("SEEDQA_N_CTX", "big")
    with pytest.raises(SettingsError, match="SEEDQA_N_CTX"):
        Settings.load()


@pytest.mark.parametrize(("flags", "env", "message"), [
    ({"k": 0}, {}, "-k=0 is not a valid whole number of at least 1"),
    ({"threads": -2}, {}, "--threads=-2 is not a valid whole number of at least 1"),
    ({}, {"SEEDQA_N_CTX": "0"}, "SEEDQA_N_CTX='0' is not a valid whole number of at least 1"),
])  # fmt: skip
def test_counts_below_one_are_refused_naming_where_they_came_from(monkeypatch, flags, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        Settings.load(**flags)
    assert str(info.value) == message
