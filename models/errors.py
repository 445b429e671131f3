"""Errors raised while locating or loading model weights; each says what to do next."""


class ModelError(Exception):
    """Base class for model problems a person can fix."""


class ModelMissingError(ModelError):
    """Model weights are not where they should be (a package or file is missing)."""


class ModelLoadError(ModelError):
    """Weights exist but could not be loaded (corrupt file, wrong format)."""


class ContextTooSmallError(ModelError):
    """The configured context size cannot hold the prompt (SEEDQA_N_CTX set too low)."""
