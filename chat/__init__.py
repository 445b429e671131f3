"""Question -> passages -> prompt -> streamed answer with verified citations.

The CLI, the web UI and the evaluation harness are thin shells over `chat.ask`.
"""

from importlib import metadata


def version() -> str:
    """seedqa's installed version ("0+unknown" when run from a checkout that is not installed)."""
    try:
        return metadata.version("seedqa")
    except metadata.PackageNotFoundError:
        return "0+unknown"
