"""Read a corpus folder into `Document`s; unreadable files are skipped with a reason."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from index.clean import clean
from index.errors import CorpusError
from index.types import Document

SUFFIXES = (".txt", ".md", ".markdown")


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str
    reason: str


def corpus_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise CorpusError(f"no corpus folder at {folder}; pass --corpus DIR with your .txt/.md articles")
    if not folder.is_dir():
        raise CorpusError(f"{folder} is a file, not a folder; pass --corpus DIR")
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )  # fmt: skip


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(path: Path, source: str) -> Document:
    """Decode and clean one file. Raises OSError or UnicodeDecodeError for unreadable files."""
    data = path.read_bytes()
    text = data.decode("utf-8")  # offsets are in characters of exactly this text
    cleaned = clean(text, fallback_title=path.stem.replace("_", " "))
    return Document(
        source=source,
        text=text,
        sha256=file_hash(data),
        title=cleaned.title,
        date=cleaned.date,
        author=cleaned.author,
        paragraphs=cleaned.paragraphs,
        breaks=cleaned.breaks,
    )


def read_corpus(folder: Path) -> tuple[list[Document], list[Skipped]]:
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for path in corpus_files(folder):
        source = path.relative_to(folder).as_posix()
        if path.suffix.lower() not in SUFFIXES:
            skipped.append(Skipped(source, f"not a {'/'.join(SUFFIXES)} file"))
            continue
        try:
            document = read_document(path, source)
        except UnicodeDecodeError:
            skipped.append(Skipped(source, "not UTF-8 text; re-save it as UTF-8"))
            continue
        except OSError as exc:
            skipped.append(Skipped(source, f"cannot be read ({exc.strerror or exc})"))
            continue
        if not document.paragraphs:
            skipped.append(Skipped(source, "no article text found (empty or only page furniture)"))
            continue
        documents.append(document)
    if not documents:
        detail = f" ({len(skipped)} skipped: {skipped[0].source}: {skipped[0].reason})" if skipped else ""
        raise CorpusError(f"no readable .txt/.md articles in {folder}{detail}; add some and retry")
    return documents, skipped
