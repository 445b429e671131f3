"""The saved prompt-prefix state file: read back only when it is whole and for these settings."""

from __future__ import annotations

from models.llama_state import PrefixState, read_state, write_state


def _state(key: str = "k" * 64) -> PrefixState:
    return PrefixState(key, (1, 2, 3), bytes(range(256)) * 4)


def test_a_written_state_reads_back(tmp_path):
    path = tmp_path / "llm-state" / "prefix-abc.kv"
    write_state(path, _state())
    assert read_state(path, "k" * 64) == _state()


def test_a_state_for_other_settings_is_not_used(tmp_path):
    path = tmp_path / "prefix-abc.kv"
    write_state(path, _state())
    assert read_state(path, "x" * 64) is None


def test_a_truncated_or_foreign_file_is_ignored(tmp_path):
    path = tmp_path / "prefix-abc.kv"
    write_state(path, _state())
    path.write_bytes(path.read_bytes()[:-10])
    assert read_state(path, "k" * 64) is None
    path.write_bytes(b"not a state file")
    assert read_state(path, "k" * 64) is None
    assert read_state(tmp_path / "missing.kv", "k" * 64) is None


def test_writing_replaces_older_states_and_leaves_no_temporary_file(tmp_path):
    old = tmp_path / "prefix-old.kv"
    old.write_bytes(b"stale")
    path = tmp_path / "prefix-new.kv"
    write_state(path, _state())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prefix-new.kv"]


def test_an_unwritable_state_dir_costs_time_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    write_state(blocker / "prefix-abc.kv", _state())  # no exception
    assert not (blocker / "prefix-abc.kv").exists()
