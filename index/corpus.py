"""Read a corpus folder into `Document`s; unreadable files are skipped with a reason."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from index import formats
from index.clean import Cleaned, clean
from index.errors import CorpusError
from index.formats import Extracted
from index.text import printable
from index.types import Document

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
# Saved web pages and PDFs are converted to text first (index/formats.py).
SUFFIXES = TEXT_SUFFIXES + tuple(formats.SUFFIXES)
KINDS = "/".join(SUFFIXES)
# Files above this size get a warning before they are read: cleaning and chunking take about
# 6 s per 5 MB with MiniLM's tokenizer on 2 cores, all before the embedding progress bar starts.
LARGE_FILE_BYTES = 5_000_000


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str
    reason: str


def corpus_files(folder: Path) -> list[Path]:
    """The files of the folder and its subfolders, sorted; hidden ones are left out.

    Links to folders are not walked (a folder inside the corpus is read where it is). Broken and
    looping links and links to a file or folder outside are listed, so that read_corpus says why
    it skips them. Links to devices and pipes are left out: reading /dev/zero never ends.
    """
    if not folder.exists():
        raise CorpusError(
            f"no corpus folder at {printable(str(folder))}; pass --corpus DIR with your articles ({KINDS})"
        )
    if not folder.is_dir():
        raise CorpusError(f"{printable(str(folder))} is a file, not a folder; pass --corpus DIR")
    root = _real(folder)
    return sorted(
        p for p in folder.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(folder).parts) and _listed(p, root)
    )  # fmt: skip


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))  # never raises, unlike Path.resolve() on a looping link


def _mode(path: Path, *, follow: bool) -> int | None:
    try:
        return (path.stat() if follow else path.lstat()).st_mode
    except OSError:
        return None


def _listed(path: Path, root: Path) -> bool:
    own = _mode(path, follow=False)
    if own is None:
        return False  # vanished since the folder was listed
    target = _mode(path, follow=True)
    if not stat.S_ISLNK(own):
        return target is not None and stat.S_ISREG(target)
    if target is None:
        return True  # broken or looping
    if stat.S_ISDIR(target):
        return not _real(path).is_relative_to(root)
    return stat.S_ISREG(target)


def link_problem(folder: Path, path: Path) -> str | None:
    """Why a link in the corpus folder is not followed; None for a file or a link to a file inside."""
    own = _mode(path, follow=False)
    if own is None or not stat.S_ISLNK(own):
        return None
    try:
        target = path.stat()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return "a broken or looping link"
        return f"a link that cannot be followed ({exc.strerror or exc})"
    if not _real(path).is_relative_to(_real(folder)):
        # A link would serve any file on the machine (~/.ssh/id_rsa.txt) to whoever asks.
        kind = "folder" if stat.S_ISDIR(target.st_mode) else "file"
        return f"a link to a {kind} outside the corpus folder; copy the {kind} in instead"
    return None


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


Known = Callable[[str], Extracted | None]


def _unknown(sha256: str) -> Extracted | None:
    return None


def read_document(path: Path, source: str, known: Known = _unknown) -> Document:
    """Decode and clean one file. Raises OSError or UnicodeDecodeError for unreadable files,
    ExtractError for a web page or PDF with no readable article.

    A web page or PDF is converted (index/formats.py) unless `known` has the text extracted
    from a file with the same hash (an earlier build's): offsets then point into that text.
    """
    data = path.read_bytes()
    sha256 = file_hash(data)
    fallback_title = path.stem.replace("_", " ")
    converted: str | None = None
    if path.suffix.lower() in formats.SUFFIXES:
        extracted = known(sha256) or formats.extract(data, path.suffix)
        text, converted = extracted.text, extracted.kind
        found = _converted(extracted, fallback_title=fallback_title)
    else:
        text = data.decode("utf-8")  # offsets are in characters of exactly this text
        found = clean(text, fallback_title=fallback_title)
    # A Document is the file (its source, text, hash, and kind if converted) and all that `found`
    # says of its text: title, date, author, paragraphs and breaks, under the same names.
    layout = {f.name: getattr(found, f.name) for f in fields(found)}
    return Document(source=source, text=text, sha256=sha256, converted=converted, **layout)


def _converted(extracted: Extracted, *, fallback_title: str) -> Cleaned:
    """What a converted file's text holds, as `clean` tells it for a text file: the extractor
    already left the page furniture out, so every line of its text is a paragraph, and its
    title, author and date are the extractor's."""
    paragraphs = tuple((m.start(), m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", extracted.text))
    title = extracted.title or fallback_title
    return Cleaned(title, extracted.date, extracted.author, paragraphs, (False,) * len(paragraphs))


def _quiet(message: str) -> None:
    pass


def read_corpus(
    folder: Path, *, notify: Callable[[str], None] = _quiet, known: Known = _unknown
) -> tuple[list[Document], list[Skipped]]:
    """The readable articles of the folder, and the files skipped with the reason why.

    `notify` receives one-line warnings about files that are read all the same (a very large
    file: "warning: big.txt is 52 MB; indexing it may take a long time"); names in it are
    `printable`.
    """
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for path in corpus_files(folder):
        source = path.relative_to(folder).as_posix()
        problem = link_problem(folder, path)
        if problem is not None:
            skipped.append(Skipped(source, problem))
            continue
        if path.suffix.lower() not in SUFFIXES:
            skipped.append(Skipped(source, f"not an article file ({KINDS})"))
            continue
        size = _size(path)
        if size > LARGE_FILE_BYTES:
            notify(f"warning: {printable(source)} is {size / 1e6:,.0f} MB; indexing it may take a long time")
        try:
            document = read_document(path, source, known)
        except formats.ExtractError as exc:
            skipped.append(Skipped(source, str(exc)))
            continue
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
        detail = f" ({len(skipped)} skipped: {printable(skipped[0].source)}: {skipped[0].reason})" if skipped else ""
        raise CorpusError(f"no readable articles ({KINDS}) in {printable(str(folder))}{detail}; add some and retry")
    return documents, skipped


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_document reports why it cannot be read
