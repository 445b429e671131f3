"""Turn a saved web page (.html/.htm) or a PDF (.pdf) into an article's plain text and metadata.

`extract(data, suffix)` returns the article's body as it will be indexed: plain text, one
paragraph per line, paragraphs separated by a blank line; citation offsets point into exactly
this text. Web pages go through trafilatura, which drops the page furniture (menus, cookie
banners, ads, share buttons, comments, related headlines, footers); PDFs through pypdf, whose
lines are re-flowed into paragraphs (see `reflow`). A file that yields no article raises
ExtractError with a one-line reason that a person can act on; the caller adds the file name.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from index.pdf_layout import drop_running_lines, drop_title, reflow, squash

SUFFIXES: dict[str, str] = {".html": "html", ".htm": "html", ".pdf": "pdf"}


@dataclass(frozen=True, slots=True)
class Extracted:
    """An article taken out of a web page or a PDF."""

    text: str  # the body only: one paragraph per line, "\n\n" between paragraphs
    title: str | None
    author: str | None
    date: str | None  # "YYYY-MM-DD" when found
    kind: str  # "html" or "pdf"


class ExtractError(Exception):
    """The file holds no article we can read; str() is a one-line reason without the file name."""


def extract(data: bytes, suffix: str) -> Extracted:
    """The article in `data`, a file ending in `suffix` (".html", ".htm" or ".pdf", any case).

    Raises ExtractError when the file has no readable article, ValueError for another suffix.
    """
    match SUFFIXES.get(suffix.lower()):
        case "html":
            return _extract_html(data)
        case "pdf":
            return _extract_pdf(data)
    raise ValueError(f"no extractor for {suffix!r} files (known: {', '.join(SUFFIXES)})")


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- HTML -------------------------------------------------------------------------------------

# <meta charset="windows-1254"> and <meta http-equiv="Content-Type" content="text/html; charset=...">
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
# Labels that browsers read as a superset (WHATWG Encoding): a page saying iso-8859-1 is cp1252.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "iso-8859-9": "cp1254", "latin5": "cp1254",
    "iso-8859-11": "cp874", "tis-620": "cp874", "gb2312": "gb18030", "gbk": "gb18030",
}  # fmt: skip
_BLOCK_BREAK = re.compile(r"\n\s*\n")
_MIN_WORDS = 12


def decode_html(data: bytes) -> str:
    """The page's text, in the charset that its bytes and its declaration agree on.

    A byte-order mark wins; then UTF-8, when the bytes are valid UTF-8 (pages saved by a browser
    are often re-encoded to UTF-8 while keeping their old <meta charset>, and text in a legacy
    charset with letters beyond ASCII is practically never valid UTF-8); then the charset that
    the page declares in a <meta> tag or an XML declaration; then trafilatura's guess.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    head = data[:8192]
    declared = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if declared:
        codec = _codec(declared.group(1).decode("ascii").lower())
        if codec is not None and not codec.startswith("utf-16"):  # a utf-16 label on 8-bit bytes is a lie
            return data.decode(codec, errors="replace")
    from trafilatura.utils import decode_file

    return decode_file(data)


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(_CHARSET_ALIASES.get(label, label)).name
    except LookupError:
        return None  # an unknown label: decode_html guesses instead


# What trafilatura keeps of a page: the article's text and its metadata (title, author, date),
# without reader comments, tables, images, links or formatting, and with doubtful paragraphs
# left out rather than in (precision over recall); its result as a Python object.
_TRAFILATURA: dict[str, Any] = {
    "include_comments": False,
    "include_tables": False,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "favor_precision": True,
    "with_metadata": True,
    "output_format": "python",
}


def _extract_html(data: bytes) -> Extracted:
    import trafilatura

    page = decode_html(data)
    if not page.strip():
        raise ExtractError("an empty web page")
    # trafilatura logs every page it rejects at WARNING; the caller reports the reason itself.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    document = trafilatura.bare_extraction(page, **_TRAFILATURA)
    body = getattr(document, "body", None)
    paragraphs = _html_paragraphs(body) if body is not None else []
    title = _clean_field(getattr(document, "title", None))
    # The headline is metadata, not body: drop it where the page repeats it in the text.
    if title:
        paragraphs = [p for p in paragraphs if p.casefold() != title.casefold()]
    # On a page without an article, trafilatura falls back to whatever text it finds: a
    # "Skip to content" link, a headline. No news story is shorter than a dozen words.
    if sum(len(p.split()) for p in paragraphs) < _MIN_WORDS:
        raise ExtractError("no article text found in the page")
    date = getattr(document, "date", None)
    return Extracted(
        text=_join(paragraphs),
        title=title,
        author=_clean_field(getattr(document, "author", None)),
        date=date if isinstance(date, str) and _DAY.match(date) else None,
        kind="html",
    )


def _clean_field(value: object) -> str | None:
    return (squash(value) or None) if isinstance(value, str) else None


# Elements of trafilatura's output tree (its own XML vocabulary) that hold a paragraph each.
_BLOCKS = frozenset({"body", "p", "head", "quote", "list", "item", "code", "table", "row", "cell"})


def _html_paragraphs(body: Any) -> list[str]:
    """The paragraphs of trafilatura's output tree (<p>, <head>, <item>, <quote>...), each one line.

    A single <lb/> (a <br> in the page) only wraps a line and becomes a space; two or more in a
    row separate paragraphs, as on pages that lay out their text as "para<br><br>para".
    """
    out: list[str] = []
    parts: list[str] = []

    def flush() -> None:
        out.extend(p for block in _BLOCK_BREAK.split("".join(parts)) if (p := squash(block)))
        parts.clear()

    def walk(element: Any, block: bool) -> None:
        if block:
            flush()
        if element.tag == "lb":
            parts.append("\n")
        elif isinstance(element.tag, str):  # not a comment (whose tag is a function)
            parts.append(element.text or "")
            for child in element:
                walk(child, child.tag in _BLOCKS)
        if block:
            flush()
        parts.append(element.tail or "")

    walk(body, True)
    flush()
    return out


def _join(paragraphs: Iterable[str]) -> str:
    return "\n\n".join(paragraphs)


# --- PDF --------------------------------------------------------------------------------------

# What malformed PDFs make pypdf raise besides its own errors (a missing key, a null object
# where a dictionary belongs, a corrupt flate stream, an endless chain of references).
_BROKEN = (ValueError, KeyError, IndexError, TypeError, AttributeError, zlib.error, struct.error, RecursionError)
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb06": "st"}
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Titles that word processors and converters put in the info dictionary instead of a real one.
_JUNK_TITLE = re.compile(
    r"^(?:untitled.*|microsoft (?:word|powerpoint) - .*|.*\.(?:docx?|odt|rtf|pdf|indd|txt))$", re.I
)


def _extract_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # "incorrect startxref pointer" and the like
    if b"%PDF-" not in data[:1024]:
        raise ExtractError("not a PDF (no %PDF header); if it is a saved web page, rename it to .html")
    broken = (PyPdfError, *_BROKEN)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # PDFs locked only against copying open with no password
            except DependencyError as exc:
                raise ExtractError(
                    "an encrypted PDF (AES) that needs the Python package cryptography to open; "
                    "save an unencrypted copy"
                ) from exc
            if not opened:
                raise ExtractError("an encrypted PDF; save an unencrypted copy")
        title, author, date = _info(reader)
        pages = list(reader.pages)
    except FileNotDecryptedError as exc:
        raise ExtractError("an encrypted PDF; save an unencrypted copy") from exc
    except broken as exc:
        raise ExtractError(f"a damaged PDF ({_reason(exc)})") from exc
    if not pages:
        raise ExtractError("a damaged PDF (no pages)")
    texts: list[list[str]] = []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(_page_lines(page, broken))
        except broken as exc:
            raise ExtractError(f"a damaged PDF (page {number}: {_reason(exc)})") from exc
    if not any(line.strip() for lines in texts for line in lines):
        if not any(_has_fonts(page) for page in pages):
            raise ExtractError("a PDF with no text layer (a scan?); run OCR on it and save the text as .txt")
        raise ExtractError(
            "a PDF whose text cannot be read (damaged, or fonts without a Unicode map); "
            "copy the text from a PDF viewer and save it as .txt"
        )
    paragraphs = reflow(drop_title(drop_running_lines(texts), title))
    if not paragraphs:
        raise ExtractError("no article text in the PDF, only page numbers and running headers")
    return Extracted(text=_join(paragraphs), title=title, author=author, date=date, kind="pdf")


def _has_fonts(page: object) -> bool:
    """Whether the page names a font: a scan has none, a page of text always has some."""
    try:
        resources = page.get("/Resources")  # type: ignore[attr-defined]
        return bool(resources is not None and resources.get_object().get("/Font"))
    except (KeyError, AttributeError, TypeError, ValueError):
        return True  # a broken resource dictionary is not the sign of a scan


def _reason(exc: BaseException) -> str:
    """pypdf's own message ("EOF marker not found"), or the type and message of another error."""
    message = squash(str(exc))
    if not type(exc).__module__.startswith("pypdf"):
        message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return message if len(message) <= 100 else message[:99] + "…"


def _page_lines(page: object, broken: tuple[type[BaseException], ...]) -> list[str]:
    """The page's text in pypdf's layout mode: lines keep their indentation, vertical gaps are
    blank lines. Where layout mode fails on a page, its plain text (no gaps, no indents)."""
    try:
        text = page.extract_text(extraction_mode="layout")  # type: ignore[attr-defined]
    except broken:
        text = page.extract_text()  # type: ignore[attr-defined]
    text = _CONTROL.sub("", text.translate(_LIGATURES)).replace("\t", " ")
    return [line.rstrip() for line in text.split("\n")]


def _info(reader: object) -> tuple[str | None, str | None, str | None]:
    """Title, author and creation day from the PDF's info dictionary."""
    meta = getattr(reader, "metadata", None)
    if meta is None:
        return None, None, None
    title = _clean_field(meta.get("/Title"))
    if title and _JUNK_TITLE.match(title):
        title = None
    raw = meta.get("/CreationDate")
    # "D:20201118153234+03'00'": the first eight digits are the day the file was made.
    day = re.match(r"^(?:D:)?(\d{4})(\d{2})(\d{2})", str(raw).strip()) if raw else None
    date = f"{day[1]}-{day[2]}-{day[3]}" if day and "01" <= day[2] <= "12" and "01" <= day[3] <= "31" else None
    return title, _clean_field(meta.get("/Author")), date


# --- PDF lines -> paragraphs ------------------------------------------------------------------
