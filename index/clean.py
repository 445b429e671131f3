"""Separate an article from web boilerplate, line by line, keeping offsets into the file.

Web pages saved as text carry navigation lists, share buttons, "Subscribe"/"Donate" blocks,
photo captions and credits, repeated title lines and related-headline lists around the
article. We classify whole lines and keep the article's paragraphs as (start, end) spans of
the original text, so nothing is rewritten and every chunk can be traced back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.text import canonical, normalize

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = re.compile(
    rf"(?:\b{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|\b\d{{4}}-\d{{2}}-\d{{2}}\b)",
    re.IGNORECASE,
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]m|gmt|utc)?", re.IGNORECASE)
_BYLINE = re.compile(r"^by\s+([A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){0,3})", re.IGNORECASE)
_NAME = re.compile(r"^[A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){1,3}$")
_CREDIT = re.compile(r"^(?:©|\(c\)\s|photo:|image:|credit:|photograph:|picture:)", re.IGNORECASE)
_CAPTION = re.compile(r"\b(?:file photo|photo credit|pictured|in this photo)\b", re.IGNORECASE)
# Whole lines (compared lower-cased, straight quotes) that are page furniture, not article.
_BOILERPLATE = re.compile(
    r"^(?:"
    r"(?:share|tweet|email|print|pin|comment)(?: (?:this|on \w+))?(?: article| story| page)?"
    r"|email this article|printer friendly page|get short url|listen live|live"
    r"|related (?:posts?|articles?|stories|news|content|headlines)|latest (?:headlines|news)"
    r"|top of page|back to top|read more|advertisement|skip to (?:main )?content|menu|home"
    r"|search|front page|about us.*|subscribe.*|donate.*|contribute.*|support us.*"
    r"|sign up.*|follow us.*|social share.*|comment via .*|community standards.*"
    r"|source ?:.*|last updated:.*|.*\blast updated:.*|newsletter.*|all rights reserved.*"
    r"|copyright .*|tags?:.*"
    r")$"
)
_SENTENCE_END = re.compile(r"[.!?…:;]['\"\u2019\u201d)\]]*$")
_HEAD_LINES = 12  # the title is looked for among the first non-empty lines


@dataclass(frozen=True, slots=True)
class Cleaned:
    title: str
    date: str | None
    author: str | None
    paragraphs: tuple[tuple[int, int], ...]
    breaks: tuple[bool, ...]


@dataclass(slots=True)
class _Line:
    start: int
    end: int
    text: str  # normalize(original[start:end])
    key: str  # canonical form without edge punctuation, to find repeats

    @property
    def n_words(self) -> int:
        return len(self.text.split())


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    for match in re.finditer(r"[^\n]+", text):
        raw = match.group()
        stripped = raw.strip()
        if not normalize(stripped):
            continue
        start = match.start() + (len(raw) - len(raw.lstrip()))
        end = start + len(stripped)
        norm = normalize(stripped)
        key = re.sub(r"^\W+|\W+$", "", canonical(norm))
        out.append(_Line(start, end, norm, key))
    return out


def _is_furniture(line: _Line) -> bool:
    lowered = canonical(line.text)
    if line.n_words <= 12 and _BOILERPLATE.match(lowered):
        return True
    if _CREDIT.match(line.text) or (line.n_words <= 40 and _CAPTION.search(line.text)):
        return True
    return _is_dateline(line)


def _is_dateline(line: _Line) -> bool:
    """A line that is a date or time stamp with little else ("Nov 18, 2020 - 3:32:34 PM")."""
    if line.n_words > 10:
        return False
    rest = _TIME.sub(" ", _DATE.sub(" ", line.text))
    rest = re.sub(r"[\d\s,.:+\-–/|]+|\b(?:gmt|utc|am|pm|updated|published)\b", " ", rest, flags=re.I)
    return len(rest.split()) <= 1 and (bool(_DATE.search(line.text)) or bool(_TIME.search(line.text)))


def _ends_sentence(line: _Line) -> bool:
    return bool(_SENTENCE_END.search(line.text))


def _is_tail(line: _Line) -> bool:
    """Not the end of an article: no closing punctuation, or a short headline question."""
    if not _ends_sentence(line):
        return True
    return line.text.endswith("?") and line.n_words <= 15


def _find_title(lines: list[_Line], nav: set[int]) -> int | None:
    content = [i for i, ln in enumerate(lines) if i not in nav and not _is_furniture(ln)]
    head = content[:_HEAD_LINES]
    # 1. A line repeated near the top is the title (pages print it two or three times).
    seen: dict[str, int] = {}
    for i in head:
        key = lines[i].key
        if key and lines[i].n_words <= 25:
            if key in seen:
                return seen[key]
            seen[key] = i
    # 2. The line just above a byline ("By Orhan Gafarli, ...").
    for i in head:
        if _BYLINE.match(lines[i].text) and i > 0:
            for j in range(i - 1, -1, -1):
                if not _is_furniture(lines[j]):
                    return j
    # 3. A markdown heading, then the first short line that is not a sentence.
    for i in head:
        if lines[i].text.startswith("#"):
            return i
    for i in head:
        if lines[i].n_words <= 25 and not lines[i].text.endswith(".") and lines[i].n_words >= 3:
            return i
    return head[0] if head else None


def _nav_runs(lines: list[_Line]) -> set[int]:
    """Runs of three or more very short lines without punctuation: menus and tag lists."""
    drop: set[int] = set()
    run: list[int] = []
    for i, ln in enumerate(lines + [_Line(0, 0, "x.", "")]):
        if ln.n_words <= 3 and not _ends_sentence(ln) and not ln.text.startswith("#"):
            run.append(i)
            continue
        if len(run) >= 3:
            drop.update(run)
        run = []
    return drop


def clean(text: str, *, fallback_title: str) -> Cleaned:
    lines = _lines(text)
    nav = _nav_runs(lines)
    title_at = _find_title(lines, nav)
    title = fallback_title
    if title_at is not None:
        title = re.sub(r"^#+\s*", "", lines[title_at].text)
    title_key = lines[title_at].key if title_at is not None else None

    counts: dict[str, int] = {}
    for ln in lines:
        counts[ln.key] = counts.get(ln.key, 0) + 1

    date: str | None = None
    author: str | None = None
    drop = set(nav)
    top = title_at if title_at is not None else 0
    for i, ln in enumerate(lines):
        if title_at is not None and i <= title_at:
            drop.add(i)  # the header above the title is page furniture
        elif ln.key == title_key or (counts[ln.key] > 1 and ln.n_words <= 40):
            drop.add(i)  # repeated title, and captions printed twice
        elif _is_furniture(ln):
            drop.add(i)
        m = _BYLINE.match(ln.text)
        if m and ln.n_words <= 12 and i <= top + 3:
            author = author or m.group(1).rstrip(",")
            drop.add(i)
        if date is None and i <= top + 4 and (d := _DATE.search(ln.text)):
            date = d.group()
        # A photo credit follows its caption: drop the short line just above it.
        if _CREDIT.match(ln.text) and i > 0 and i - 1 != title_at and lines[i - 1].n_words <= 30:
            drop.add(i - 1)

    # The tail: lines after the last sentence-ending paragraph are headline lists, tags,
    # share widgets and donation appeals. A name right after the article is its author.
    kept = [i for i in range(len(lines)) if i not in drop]
    while kept and _is_tail(lines[kept[-1]]):
        drop.add(kept.pop())
    after = kept[-1] + 1 if kept else len(lines)
    if author is None and after < len(lines) and _NAME.match(lines[after].text) and not _is_furniture(lines[after]):
        author = lines[after].text

    paragraphs: list[tuple[int, int]] = []
    breaks: list[bool] = []
    previous = -1
    for i in range(len(lines)):
        if i in drop:
            continue
        paragraphs.append((lines[i].start, lines[i].end))
        breaks.append(previous >= 0 and any(j in drop for j in range(previous + 1, i)))
        previous = i
    return Cleaned(title, date, author, tuple(paragraphs), tuple(breaks))
