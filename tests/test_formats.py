"""index/formats.py on the seed articles saved as news-site pages and as PDFs, and on bad files."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from index.formats import SUFFIXES, ExtractError, extract
from index.pdf_layout import PAGE_BREAK, drop_running_lines, reflow
from tests.fixtures_formats import (
    AUTHOR,
    FURNITURE,
    RUNNING_HEADER,
    SAMPLE_TEXT,
    SeedArticle,
    article_pdf,
    damaged_pdf,
    encrypted_pdf,
    news_page,
    scanned_pdf,
    seed_article,
    squash,
)

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
DAY = "2020-11-18"  # fixtures_formats.PUBLISHED
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")


@pytest.fixture(params=SEEDS, ids=lambda p: p.stem[:3])
def seed(request: pytest.FixtureRequest) -> SeedArticle:
    return seed_article(request.param)


@pytest.fixture(autouse=True)
def _quiet_fpdf() -> None:
    # fpdf2 warns that the A5 size was corrected in 2.8.5; irrelevant to what is tested here.
    warnings.filterwarnings("ignore", message="Dimensions for page format", category=UserWarning)


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def assert_plain_lines(text: str) -> None:
    """One paragraph per line, a blank line between, nothing empty, no markup or entities."""
    assert text and text == text.strip()
    for paragraph in paragraphs(text):
        assert paragraph and "\n" not in paragraph and paragraph == squash(paragraph)
    assert not re.search(r"<[a-zA-Z/!?]", text)
    assert not re.search(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", text, re.IGNORECASE)


def test_suffixes() -> None:
    assert SUFFIXES == {".html": "html", ".htm": "html", ".pdf": "pdf"}
    with pytest.raises(ValueError, match="no extractor"):
        extract(b"text", ".docx")


# --- web pages --------------------------------------------------------------------------------


def test_page_keeps_every_paragraph_and_nothing_else(seed: SeedArticle) -> None:
    got = extract(news_page(seed.text).encode("utf-8"), ".HTML")
    assert got.kind == "html"
    assert paragraphs(got.text) == list(seed.paragraphs)
    assert_plain_lines(got.text)


def test_page_furniture_never_reaches_the_text(seed: SeedArticle) -> None:
    page = news_page(seed.text)
    assert all(phrase in page for phrase in FURNITURE)  # each one is there to be left out
    text = extract(page.encode("utf-8"), ".html").text.casefold()
    leaked = [phrase for phrase in FURNITURE if phrase.casefold() in text]
    assert leaked == []
    assert seed.title.casefold() not in text  # the headline is metadata, not body


def test_page_metadata(seed: SeedArticle) -> None:
    got = extract(news_page(seed.text).encode("utf-8"), ".htm")
    assert (got.title, got.author, got.date) == (seed.title, AUTHOR, DAY)


def test_page_in_a_declared_legacy_charset() -> None:
    seed = seed_article(SEEDS[-1])  # Öztürk Yılmaz, curly and straight quotes
    page = news_page(seed.text).replace(
        '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1254">'
    )
    data = page.encode("cp1254", errors="xmlcharrefreplace")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the test means something only if the bytes are not UTF-8
    got = extract(data, ".html")
    assert paragraphs(got.text) == list(seed.paragraphs)
    assert "Öztürk Yılmaz" in got.text and got.author == AUTHOR


def test_page_iso_8859_9_label_and_utf8_saved_under_a_stale_label() -> None:
    seed = seed_article(SEEDS[-1])
    legacy = news_page(seed.text).replace('<meta charset="utf-8">', '<meta charset="ISO-8859-9">')
    assert paragraphs(extract(legacy.encode("cp1254", errors="xmlcharrefreplace"), ".html").text) == list(
        seed.paragraphs
    )
    # A browser re-encoded the page to UTF-8 and kept its old declaration: the bytes win.
    stale = news_page(seed.text).replace('<meta charset="utf-8">', '<meta charset="windows-1254">')
    assert paragraphs(extract(stale.encode("utf-8"), ".html").text) == list(seed.paragraphs)


def test_page_line_breaks_inside_and_between_paragraphs() -> None:
    page = """<html><head><title>Old site story</title></head><body><div id="content">
    <h1>Old site story</h1><div class="text">The first paragraph of an old page, typed into a content
    system long ago, with a line break<br>inside it that only wraps the line.<br><br>The second paragraph
    follows two line breaks, as such pages do, and is long enough to count as article text.<br>
    <br>A third one ends the story with a few words about Ankara and Moscow and their talks.</div>
    </div></body></html>"""
    got = extract(page.encode("ascii"), ".html")
    assert paragraphs(got.text) == [
        "The first paragraph of an old page, typed into a content system long ago, with a line break "
        "inside it that only wraps the line.",
        "The second paragraph follows two line breaks, as such pages do, and is long enough to count as article text.",
        "A third one ends the story with a few words about Ankara and Moscow and their talks.",
    ]
    assert got.title == "Old site story" and got.author is None and got.date is None


def test_page_without_an_article() -> None:
    page = re.sub(r'<div class="article-body">.*?\n      </div>', "", news_page(SAMPLE_TEXT), count=1, flags=re.DOTALL)
    assert "Its only paragraph" not in page
    for data in (page.encode("utf-8"), b"<html><body><p>Hello</p></body></html>", b"   "):
        with pytest.raises(ExtractError) as caught:
            extract(data, ".html")
        assert str(caught.value) in ("no article text found in the page", "an empty web page")


# --- PDFs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("align", ["J", "L"], ids=["justified", "ragged"])
def test_pdf_paragraphs_equal_the_seed(seed: SeedArticle, align: str, tmp_path: Path) -> None:
    path = article_pdf(seed.text, tmp_path / "article.pdf", align=align)
    got = extract(path.read_bytes(), ".pdf")
    assert got.kind == "pdf"
    assert paragraphs(got.text) == list(seed.paragraphs)
    assert_plain_lines(got.text)


def test_pdf_keeps_turkish_letters_and_quotes(seed: SeedArticle, tmp_path: Path) -> None:
    text = extract(article_pdf(seed.text, tmp_path / "a.pdf").read_bytes(), ".pdf").text
    body = "\n\n".join(seed.paragraphs)
    special = sorted({ch for ch in body if not ch.isascii()})
    assert special  # every seed has curly quotes, dashes or Turkish letters
    assert {ch: text.count(ch) for ch in special} == {ch: body.count(ch) for ch in special}
    assert body.count('"') == text.count('"') and body.count("'") == text.count("'")


def test_pdf_without_page_numbers_and_running_header(seed: SeedArticle, tmp_path: Path) -> None:
    path = article_pdf(seed.text, tmp_path / "a.pdf")
    pages = len(PdfReader(path).pages)
    assert pages >= 2  # A5 spreads every seed over pages: there is a header and footer to repeat
    raw = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    assert raw.count(RUNNING_HEADER) == pages and f"Page {pages}" in raw
    text = extract(path.read_bytes(), ".pdf").text
    assert RUNNING_HEADER not in text
    assert not re.search(r"\bPage \d+\b", text)


def test_pdf_metadata(seed: SeedArticle, tmp_path: Path) -> None:
    got = extract(article_pdf(seed.text, tmp_path / "a.pdf").read_bytes(), ".pdf")
    assert (got.title, got.author, got.date) == (seed.title, AUTHOR, DAY)
    assert not got.text.startswith(seed.title)  # the printed title is not body text


def test_pdf_single_page_a4(tmp_path: Path) -> None:
    seed = seed_article(SEEDS[-1])  # fits on one A4 page: the running header cannot be told by repetition
    path = article_pdf(seed.text, tmp_path / "a.pdf", page_format="A4")
    assert len(PdfReader(path).pages) == 1
    got = extract(path.read_bytes(), ".pdf")
    # The header above the printed title goes with the title; the lone "Page 1" is a page number.
    assert paragraphs(got.text) == list(seed.paragraphs)


@pytest.mark.parametrize("align", ["J", "L"], ids=["justified", "ragged"])
def test_pdf_first_line_indents_without_gaps(align: str, tmp_path: Path) -> None:
    for path in SEEDS:
        seed = seed_article(path)
        pdf = article_pdf(seed.text, tmp_path / "a.pdf", align=align, paragraph_gap=0, first_line_indent=4)
        assert paragraphs(extract(pdf.read_bytes(), ".pdf").text) == list(seed.paragraphs), path.name


def test_pdf_without_gaps_or_indents_loses_no_words(seed: SeedArticle, tmp_path: Path) -> None:
    # Paragraph breaks here show only in the length of the last line; long last lines merge
    # two paragraphs (a known limit of counting characters), but no word is lost or changed.
    pdf = article_pdf(seed.text, tmp_path / "a.pdf", paragraph_gap=0)
    got = extract(pdf.read_bytes(), ".pdf").text
    assert squash(got) == squash(" ".join(seed.paragraphs))
    assert len(paragraphs(got)) <= len(seed.paragraphs)


def test_pdf_hyphenated_at_line_ends(seed: SeedArticle, tmp_path: Path) -> None:
    pdf = article_pdf(seed.text, tmp_path / "a.pdf", hyphenate=True)
    got = paragraphs(extract(pdf.read_bytes(), ".pdf").text)
    assert len(got) == len(seed.paragraphs)
    article_words = [w.casefold() for w in re.findall(r"[^\W\d_]+", " ".join(seed.paragraphs))]
    for want, have in zip(seed.paragraphs, got, strict=True):
        assert have.replace("-", "") == want.replace("-", "")  # only hyphens may differ
        assert all(c in have for c in _COMPOUND.findall(want))  # real hyphens are kept
        # A hyphen is left in only where the joined word occurs nowhere else in the article.
        for word in set(_COMPOUND.findall(have)) - set(_COMPOUND.findall(want)):
            assert article_words.count(word.replace("-", "").casefold()) == 1, word


def test_reflow_hyphens_and_dashes() -> None:
    lines = [
        "The agreement on the purchase of the S-",
        "400 deal angered the allies; the Turkish-",
        "Russian talks went on about military-",
        "technical ties, and about a relation-",
        "ship that, like every relationship, had a",
        "new phase, said a member of the delega-",
        "tion visiting Ankara on a long rela\u00ad",
        "tion trip that was, in its way, unique—",
        "besides the talks, the visit had one –",
        "dash of hope in it, the diplomats said.",
    ]
    assert reflow(lines) == [
        "The agreement on the purchase of the S-400 deal angered the allies; the Turkish-Russian talks went on "
        "about military-technical ties, and about a relationship that, like every relationship, had a new phase, "
        "said a member of the delega-tion visiting Ankara on a long relation trip that was, in its way, "
        "unique—besides the talks, the visit had one – dash of hope in it, the diplomats said."
    ]


def test_reflow_paragraph_breaks() -> None:
    full = "x" * 60
    single = [full, "ends here.", "", full, full, "", "", full]
    assert reflow(single) == [f"{full} ends here.", f"{full} {full}", full]
    # Double spacing: one blank line between all lines, so only a wider gap ends a paragraph.
    double = [full, "", full, "", "", full, "", full, "", "", "", full]
    assert reflow(double) == [f"{full} {full}", f"{full} {full}", full]
    indented = ["    " + full, full, "    " + full, full, PAGE_BREAK, full, "short.", full]
    assert reflow(indented) == [f"{full} {full}", f"{full} {full} {full} short.", full]
    quote = [full, "      a quoted line of the same width as the text is long enough", "      and a second", full]
    assert reflow(quote)[-1] == full


def test_drop_running_lines() -> None:
    pages = [
        ["Courier · Analysis", "", "Body one.", "Body two.", "", "- 1 -"],
        ["Courier · Analysis", "Body three.", "Body four.", "2 of 3"],
        ["Courier · Analysis", "Body five.", "Page 3"],
    ]
    assert drop_running_lines(pages) == ["Body one.", "Body two.", PAGE_BREAK, "Body three.", "Body four.",
                                         PAGE_BREAK, "Body five."]  # fmt: skip
    # One page: a header cannot be told from text, a bare page number can.
    assert drop_running_lines([["Courier", "Body.", "7"]]) == ["Courier", "Body."]


# --- PDFs that have no text to give -----------------------------------------------------------


def test_scanned_pdf(tmp_path: Path) -> None:
    with pytest.raises(ExtractError) as caught:
        extract(scanned_pdf(tmp_path / "scan.pdf").read_bytes(), ".pdf")
    assert str(caught.value) == "a PDF with no text layer (a scan?); run OCR on it and save the text as .txt"


def test_encrypted_pdf(tmp_path: Path) -> None:
    with pytest.raises(ExtractError) as caught:
        extract(encrypted_pdf(tmp_path / "locked.pdf").read_bytes(), ".pdf")
    assert str(caught.value) == "an encrypted PDF; save an unencrypted copy"


def test_pdf_locked_only_against_copying_opens(tmp_path: Path) -> None:
    plain = article_pdf(SAMPLE_TEXT, tmp_path / "plain.pdf")
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="", owner_password="owner")
    with (tmp_path / "owner.pdf").open("wb") as out:
        writer.write(out)
    got = extract((tmp_path / "owner.pdf").read_bytes(), ".pdf")
    assert got.text == "Its only paragraph says that Ankara and Moscow talked again on Tuesday."


def test_damaged_pdf(tmp_path: Path) -> None:
    data = damaged_pdf(tmp_path / "cut.pdf").read_bytes()
    full = article_pdf(SAMPLE_TEXT, tmp_path / "full.pdf").read_bytes()
    for broken in (data, full[: len(full) // 2], full[:-40]):
        with pytest.raises(ExtractError) as caught:
            extract(broken, ".pdf")
        message = str(caught.value)
        assert re.fullmatch(r"a damaged PDF \([^\n]{3,100}\)", message), message


def test_not_a_pdf(tmp_path: Path) -> None:
    for data in (b"", b"<html><body>a page saved as .pdf</body></html>"):
        with pytest.raises(ExtractError) as caught:
            extract(data, ".pdf")
        assert str(caught.value) == "not a PDF (no %PDF header); if it is a saved web page, rename it to .html"
