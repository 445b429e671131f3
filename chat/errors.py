"""Errors about a question or an answer; each says what to do next."""


class ChatError(Exception):
    """Base class for problems a person can fix."""


class QuestionError(ChatError):
    """The question is empty, too long, or otherwise unusable."""


class SettingsError(ChatError):
    """A flag or SEEDQA_* environment variable has a value that cannot be used."""


class CalibrationError(ChatError):
    """The fitted calibration of the confidence check (chat/checks/confidence.json) is unusable."""
