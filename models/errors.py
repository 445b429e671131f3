"""Errors raised while locating, loading or reaching a model; each says what to do next."""


class ModelError(Exception):
    """Base class for model problems a person can fix."""


class ModelMissingError(ModelError):
    """Model weights are not where they should be (a package or file is missing)."""


class ModelLoadError(ModelError):
    """Weights exist but could not be loaded (corrupt file, wrong format)."""


class ContextTooSmallError(ModelError):
    """The configured context size cannot hold the prompt (SEEDQA_N_CTX set too low)."""


class ModelServerError(ModelError):
    """The model server behind SEEDQA_LLM_URL could not give an answer."""


class ServerUnreachableError(ModelServerError):
    """Nothing answers at the URL, or the server closed the connection mid-answer."""


class ServerTimeoutError(ModelServerError):
    """The server took longer than the timeout to connect or to send the next token."""


class ServerReplyError(ModelServerError):
    """The server answered with an error (wrong model name, refused key, prompt too long...)."""
