"""Errors about the corpus and the index on disk; each says what to do next."""


class IndexStoreError(Exception):
    """Base class (use the subclasses)."""


class CorpusError(IndexStoreError):
    """The corpus folder is missing, empty, or holds nothing readable."""


class IndexMissingError(IndexStoreError):
    """No index has been built in the data directory."""


class IndexStaleError(IndexStoreError):
    """The index was built from other files or other settings than the current ones."""


class IndexCorruptError(IndexStoreError):
    """The index on disk is unreadable (interrupted copy, edited by hand, other version)."""


class IndexWriteError(IndexStoreError):
    """The index folder cannot be created or written (read-only, not a folder, disk full)."""
