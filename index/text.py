"""Text normalization shared by cleaning, chunking, citation checks and evaluation.

The articles contain non-breaking spaces, curly quotes and other unicode variants. We never
rewrite the source file; we normalize copies for comparison and display, and keep offsets
into the original so a citation can always point at the exact characters.
"""

from __future__ import annotations

import json
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
    }
)  # fmt: skip
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-"})


def normalize(text: str) -> str:
    """NFKC (non-breaking space -> space, ligatures -> letters) and collapsed whitespace."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


_BREAKS = re.compile(r"\s*\n\s*")
_INLINE_SPACES = re.compile(r"[^\S\n]+")


def normalize_lines(text: str) -> str:
    """Like `normalize` but keeps line breaks (one "\\n" per break): paragraphs stay apart."""
    text = unicodedata.normalize("NFKC", text)
    return _BREAKS.sub("\n", _INLINE_SPACES.sub(" ", text)).strip()


def canonical(text: str) -> str:
    """`normalize` plus straight quotes and hyphens, lower-cased: for matching, not display."""
    return normalize(text).translate(_QUOTES).translate(_DASHES).lower()


_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*", re.UNICODE)
STOPWORDS = frozenset(
    """a an the and or but if of in on at to for from by with without about as into over after
    before between under than then so such that this these those there here it its is are was
    were be been being has have had do does did not no nor can could would should will shall
    may might must also very more most much many some any all each both few other own same only
    just what which who whom whose when where why how he she they them his her their we us our
    you your i me my mine one s t""".split()
)


def fold(text: str) -> str:
    """Drop diacritics so "Yılmaz", "Yilmaz" and "Erdoğan", "Erdogan" match."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ı", "i").replace("İ", "I"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Lower-cased, accent-free word tokens; hyphenated words stay whole."""
    return _WORD.findall(fold(canonical(text)))


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS]


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
# Invisible marks that reorder the text around them: "report\u202etxt.exe" shows as "reportexe.txt".
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(name: str) -> str:
    """A file name (or any short text) made safe for one line of output; letters are left as they are.

    Control characters, line separators, bidi controls and lone surrogates (undecodable bytes of
    a file name) are shown escaped, and a backslash is doubled so an escape is never ambiguous:
    "evil\\nwarning: all articles deleted.pdf" stays one line, "Yılmaz_Erdoğan.txt" is unchanged.
    """
    if name.isprintable() and "\\" not in name:
        return name
    return "".join(_escape(c) for c in name)


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in _BIDI_CONTROLS:
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
    return c


def utf8_json(value: object, *, indent: int | None = None) -> str:
    """JSON that keeps letters readable where UTF-8 can hold them. Text UTF-8 cannot hold (a file
    name with undecodable bytes, read as lone surrogates) is written as JSON escapes instead, so
    the file is still written and reads back the same."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, indent=indent)
    return text
