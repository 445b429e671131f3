"""Turn the lines pypdf prints for each page (layout mode) back into an article's paragraphs.

Running headers, footers and page numbers are dropped (`drop_running_lines`), the printed
title too (`drop_title`), and the lines of one paragraph are joined (`reflow`); the rules
are in each function's docstring. No pypdf here: plain lines in, paragraphs out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence


def squash(text: str) -> str:
    """One line: runs of whitespace (line breaks, tabs, no-break spaces) become one space."""
    return " ".join(text.split())


_PAGE_NUMBER = re.compile(r"^[\-–—\s]*(?:page|p\.|seite|sayfa)?\s*\d{1,4}(?:\s*(?:/|of|из)\s*\d{1,4})?[\-–—\s]*$", re.I)
_EDGE = 2  # running headers and footers are looked for among the first and last two lines of a page
PAGE_BREAK = "\f"  # between the lines of two pages in what drop_running_lines returns


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", squash(line)).casefold()  # "Page 3" and "Page 4" are one footer


def drop_running_lines(pages: Sequence[Sequence[str]]) -> list[str]:
    """The lines of all pages without page numbers and running headers or footers.

    Among the first and last two non-blank lines of each page, a line is dropped when it is a bare
    page number ("7", "Page 7", "- 7 -", "7 of 12"), or when the same line (digits aside) stands at
    that edge on at least 60% of the pages, and on two of them at least. Pages are joined with
    PAGE_BREAK; blank lines at the top and bottom of a page are dropped too.
    """
    edges: list[tuple[list[int], list[int]]] = []
    tops: Counter[str] = Counter()
    bottoms: Counter[str] = Counter()
    for lines in pages:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        top, bottom = filled[:_EDGE], filled[-_EDGE:]
        edges.append((top, bottom))
        tops.update({_edge_key(lines[i]) for i in top})
        bottoms.update({_edge_key(lines[i]) for i in bottom})
    needed = max(2, 0.6 * len(pages))
    out: list[str] = []
    for lines, (top, bottom) in zip(pages, edges, strict=True):
        drop = {i for i in top if tops[_edge_key(lines[i])] >= needed}
        drop |= {i for i in bottom if bottoms[_edge_key(lines[i])] >= needed}
        drop |= {i for i in top + bottom if _PAGE_NUMBER.match(lines[i])}
        kept = [line for i, line in enumerate(lines) if i not in drop]
        while kept and not kept[0].strip():
            kept.pop(0)
        while kept and not kept[-1].strip():
            kept.pop()
        if kept:
            if out:
                out.append(PAGE_BREAK)
            out.extend(kept)
    return out


def drop_title(lines: list[str], title: str | None) -> list[str]:
    """Without the title of the info dictionary where the first page prints it near the top,
    nor the masthead lines above it."""
    if not title:
        return lines
    wanted = squash(title).casefold()
    first_page = lines[: lines.index(PAGE_BREAK)] if PAGE_BREAK in lines else lines
    top = [i for i, line in enumerate(first_page) if line.strip()][:8]
    for n in range(len(top)):
        got = ""
        for i in top[n:]:
            got = squash(f"{got} {lines[i]}").casefold()
            if got == wanted:
                return lines[i + 1 :]
            if not wanted.startswith(got):
                break
    return lines


_LETTERS = re.compile(r"[^\W\d_]+")
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
_SOFT_HYPHEN = "\u00ad"
# A line this much shorter than the text column ends its paragraph. pypdf's layout grid counts
# characters, not widths, so full lines of one column measure 64 to 81 characters (A5, 10 pt):
# only a line under 60% of the column is surely short.
_SHORT = 0.6


def reflow(lines: Sequence[str]) -> list[str]:
    """Paragraphs, each one line, from the lines of pypdf's layout-mode text.

    A paragraph ends:
    - at a vertical gap wider than the line spacing inside paragraphs: layout mode prints a gap
      as blank lines, and in a double-spaced document that spacing is one blank line already;
    - before a line that starts further right than the one above it (a first-line indent, a
      centred heading, the start of an indented quote), and after an indented block of two or
      more lines, where the text returns to the margin;
    - after a short line, under 60% of the text column (the last line of a paragraph; no
      typesetter breaks a line that early).
    Lines of one paragraph are joined with a space. A line ending in a hyphen joins the next
    without a space, and the hyphen goes only where the word, joined, occurs elsewhere in the
    document and the hyphenated form does not ("relation-" + "ship" when "relationship" occurs
    elsewhere); "S-400", "Turkish-Russian" and "military-technical" keep theirs. A soft hyphen at
    the end of a line always goes. A paragraph runs on over a PAGE_BREAK unless the last line of
    the page was short.
    """
    filled = [line for line in lines if line.strip() and line != PAGE_BREAK]
    if not filled:
        return []
    widths = sorted(len(line) for line in filled)
    full = widths[int(0.9 * (len(widths) - 1))]  # the right edge of the text column
    text = "\n".join(filled)
    words = {w.casefold() for w in _LETTERS.findall(text)}
    compounds = {w.casefold() for w in _COMPOUND.findall(text)}
    usual_gap = _usual_gap(lines, full)

    paragraphs: list[str] = []
    current: list[str] = []
    gap = 0  # blank lines since the last line of text
    for line in lines:
        if line == PAGE_BREAK:
            gap = 0
        elif not line.strip():
            gap += 1
        else:
            if current and (gap > usual_gap or _starts_paragraph(current, line, full)):
                paragraphs.append(_joined(current, words, compounds))
                current = []
            current.append(line)
            gap = 0
    if current:
        paragraphs.append(_joined(current, words, compounds))
    return [p for p in paragraphs if p]


def _usual_gap(lines: Sequence[str], full: int) -> int:
    """The line spacing inside a paragraph, in blank lines: 0 single-spaced, 1 double-spaced.

    Measured after full lines only, which a paragraph's last line rarely is, and as the 10th
    percentile: a page of one-line paragraphs with gaps between them is not double-spaced.
    """
    gaps: list[int] = []
    after: str | None = None  # the last line of text, while on the same page
    gap = 0
    for line in lines:
        if line == PAGE_BREAK:
            after = None
        elif not line.strip():
            gap += 1
        else:
            if after is not None and len(after) >= 0.85 * full:
                gaps.append(gap)
            after, gap = line, 0
    return sorted(gaps)[len(gaps) // 10] if gaps else 0


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _starts_paragraph(current: Sequence[str], line: str, full: int) -> bool:
    previous = current[-1]
    if _indent(line) > _indent(previous) + 1:
        return True
    if _indent(line) < _indent(previous) - 1 and len(current) >= 2 and _indent(current[-2]) >= _indent(previous) - 1:
        return True
    return len(previous) < _SHORT * full


def _joined(lines: Sequence[str], words: set[str], compounds: set[str]) -> str:
    joined = lines[0].strip()
    for line in lines[1:]:
        joined = _glue(joined, line.strip(), words, compounds)
    return squash(joined.replace(_SOFT_HYPHEN, ""))


def _glue(left: str, right: str, words: set[str], compounds: set[str]) -> str:
    if left.endswith(_SOFT_HYPHEN):
        return left[:-1] + right
    if left.endswith("-") and right[:1].islower() and (head := re.search(r"([^\W\d_]+)-$", left)):
        tail = _LETTERS.match(right)
        rest = tail[0] if tail else ""
        if (head[1] + rest).casefold() in words and f"{head[1]}-{rest}".casefold() not in compounds:
            return left[:-1] + right
        return left + right
    if left.endswith(("-", "–", "—", "/")) and len(left) > 1 and not left[-2].isspace():
        return left + right  # "S-" + "400", "unique—" + "besides", "www.example.com/" + "news"
    return f"{left} {right}"
