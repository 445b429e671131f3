"""Errors about a question or an answer; each says what to do next."""

from __future__ import annotations

from index.errors import IndexStoreError
from models.errors import ModelError


class ChatError(Exception):
    """Base class for problems a person can fix."""


class QuestionError(ChatError):
    """The question is empty, too long, or otherwise unusable."""


class SettingsError(ChatError):
    """A flag or SEEDQA_* environment variable has a value that cannot be used."""


class CalibrationError(ChatError):
    """The fitted calibration of the confidence check (chat/checks/confidence.json) is unusable."""


# Problems a person can fix, from any layer: the CLI prints them as one line (exit status 2),
# the web UI shows them in the chat. Anything else is a bug and keeps its traceback.
EXPECTED: tuple[type[Exception], ...] = (ChatError, IndexStoreError, ModelError)
