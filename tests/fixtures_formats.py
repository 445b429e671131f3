"""Build saved web pages and PDFs of the seed articles, to test index/formats.py against.

The seeds are text already; these builders wrap each one the way it would arrive from the web:
a news-site page full of furniture (menus, cookie banner, ads, share buttons, comments, related
headlines, footer), or a PDF typeset by fpdf2 with a running header and page numbers. Every piece
of furniture carries words listed in FURNITURE, so a test can assert none of it is extracted.
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import matplotlib
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from index.clean import clean

FONT = Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"
SITE = "The Bosphorus Courier"
AUTHOR = "Ayşe Yılmaz-Öztürk"
PUBLISHED = datetime(2020, 11, 18, 15, 32, 34, tzinfo=timezone(timedelta(hours=3)))
RUNNING_HEADER = f"{SITE} · Analysis"
SAMPLE_TEXT = "A short article\n\nIts only paragraph says that Ankara and Moscow talked again on Tuesday."

# Phrases from the page furniture that must never reach the extracted text (compared lower-cased).
FURNITURE = (
    # navigation
    "Worldwatch", "Marketdesk", "Sportszone", "Opinionhub", "Skip to content",
    # cookie banner
    "Accept all cookies", "Manage cookie preferences", "We use cookies",
    # advertisements
    "Advertisement", "Sponsored", "Bodrum villas", "AdChoices",
    # share widget
    "Share on Facebook", "Tweet this", "Email this story", "Copy link",
    # newsletter box
    "Subscribe to our newsletter", "Sign up for the morning briefing",
    # comments
    "comment by", "Reader comments", "Kemal from Izmir", "pipeline angle is underrated", "Reply to this comment",
    "Report abuse",
    # in-story boxes: a "Read also" link and a photo caption
    "Read also", "Wirepix",
    # related headlines
    "Related headlines", "Lira slides", "ferry timetable", "Cappadocia balloon",
    # footer
    "All rights reserved", "Privacy policy", "Terms of use", "Contact us", "Bosphorus Courier Media",
    # scripts
    "dataLayer", "function(",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SeedArticle:
    """A seed's article as the project reads it: its title and its body paragraphs."""

    name: str
    title: str
    paragraphs: tuple[str, ...]  # whitespace-normalized, one line each

    @property
    def text(self) -> str:
        """Title line, then the paragraphs, separated by blank lines."""
        return "\n\n".join((self.title, *self.paragraphs))


def squash(text: str) -> str:
    """Whitespace-normalized: runs of spaces, tabs and line breaks become one space."""
    return " ".join(text.split())


def seed_article(path: Path) -> SeedArticle:
    """The article of a seed file, with the project's own cleaner separating it from boilerplate."""
    text = path.read_text(encoding="utf-8")
    cleaned = clean(text, fallback_title=path.stem)
    paragraphs = tuple(squash(text[start:end]) for start, end in cleaned.paragraphs)
    return SeedArticle(path.name, squash(cleaned.title), paragraphs)


def _split(article_text: str) -> tuple[str, list[str]]:
    blocks = [squash(b) for b in re.split(r"\n\s*\n", article_text.strip()) if b.strip()]
    return blocks[0], blocks[1:]


def _is_heading(paragraph: str) -> bool:
    """A crosshead ("Russia and Turkey still willing to cooperate"): short, no closing punctuation."""
    return len(paragraph.split()) <= 14 and not re.search(r"[.!?…:;\"'”’)]$", paragraph)


def _marked_up(paragraph: str, n: int) -> str:
    """The paragraph as a CMS writes it: a link and an emphasis inline, the source wrapped at 90 columns."""
    words = [html.escape(w, quote=False) for w in paragraph.split(" ")]
    if len(words) > 8:
        words[2] = f'<a href="/tag/{n}" class="tag-link">{words[2]}</a>'
        words[6] = f"<em>{words[6]}</em>"
    return "\n      ".join(textwrap.wrap(" ".join(words), 90, break_long_words=False, break_on_hyphens=False))


def news_page(article_text: str, *, author: str = AUTHOR, published: datetime = PUBLISHED) -> str:
    """The article (title line, blank line, paragraphs) in a news-site page with all its furniture."""
    title, paragraphs = _split(article_text)
    body: list[str] = []
    for n, paragraph in enumerate(paragraphs):
        if _is_heading(paragraph):
            body.append(f"      <h2>{html.escape(paragraph, quote=False)}</h2>")
        else:
            body.append(f"      <p>{_marked_up(paragraph, n)}</p>")
        if n == 1:
            body.append(
                '      <div class="read-also"><strong>Read also:</strong> '
                '<a href="/a/3">Cappadocia balloon flights resume after storm</a></div>'
            )
            body.append(
                '      <figure class="lead-image"><img src="/img/flags.jpg" alt="Flags of Turkey and Russia">'
                "<figcaption>Flags of the two countries at a summit. Photo: Wirepix agency</figcaption></figure>"
            )
        if n == 2:
            body.append(
                '      <div class="ad-slot inline-ad" aria-label="Advertisement"><span class="ad-label">'
                'Advertisement</span><a href="https://ads.example/bodrum">Sponsored: Bodrum villas with sea view, '
                "book now and save 30%</a><span>AdChoices</span></div>"
            )
    stamp = published.isoformat()
    day = published.strftime("%d %B %Y")
    esc_title = html.escape(title)
    esc_author = html.escape(author)
    article_body = "\n".join(body)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{esc_title} | {SITE}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="author" content="{esc_author}">
  <meta name="description" content="{esc_title}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{esc_title}">
  <meta property="og:site_name" content="{SITE}">
  <meta property="article:published_time" content="{stamp}">
  <meta property="article:author" content="{esc_author}">
  <link rel="stylesheet" href="/static/site.css">
  <script>window.dataLayer = window.dataLayer || []; (function(w) {{ w.dataLayer.push({{event: "view"}}); }})(window);</script>
</head>
<body>
  <a class="skip-link" href="#main">Skip to content</a>
  <div id="cookie-consent" class="cookie-banner" role="dialog">
    <p>We use cookies to improve your experience and to show you personalised ads.</p>
    <button class="accept">Accept all cookies</button> <a href="/cookies">Manage cookie preferences</a>
  </div>
  <header class="site-header">
    <a class="logo" href="/">{SITE}</a>
    <nav class="main-menu" aria-label="Main menu">
      <ul>
        <li><a href="/worldwatch">Worldwatch</a></li>
        <li><a href="/marketdesk">Marketdesk</a></li>
        <li><a href="/sportszone">Sportszone</a></li>
        <li><a href="/opinionhub">Opinionhub</a></li>
      </ul>
    </nav>
  </header>
  <div class="ad-slot leaderboard"><span>Advertisement</span>
    <a href="https://ads.example/villas">Sponsored: Bodrum villas from 99 euros a night</a></div>
  <main id="main">
    <article class="story">
      <h1 class="headline">{esc_title}</h1>
      <div class="byline">By <a rel="author" href="/authors/1">{esc_author}</a>
        <time datetime="{stamp}">{day}</time></div>
      <div class="share-tools social-share">
        <a href="https://facebook.com/sharer">Share on Facebook</a>
        <a href="https://twitter.com/intent/tweet">Tweet this</a>
        <a href="mailto:?subject=story">Email this story</a> <button>Copy link</button>
      </div>
      <div class="article-body">
{article_body}
      </div>
      <div class="newsletter-box"><h3>Subscribe to our newsletter</h3>
        <p>Sign up for the morning briefing, delivered at 7am.</p><button>Join</button></div>
    </article>
    <section id="comments" class="comments">
      <h3>Reader comments (3)</h3>
      <div class="comment"><p class="comment-meta">comment by Kemal from Izmir, 2 hours ago</p>
        <p>Excellent piece, the pipeline angle is underrated by everyone in Ankara.</p>
        <a href="#reply">Reply to this comment</a> <a href="#report">Report abuse</a></div>
      <div class="comment"><p class="comment-meta">comment by Elena P., 1 hour ago</p>
        <p>I disagree with the premise entirely; the trade numbers tell another story.</p>
        <a href="#reply">Reply to this comment</a> <a href="#report">Report abuse</a></div>
      <div class="comment"><p class="comment-meta">comment by J. Walker, 20 minutes ago</p>
        <p>Would love a follow-up on the energy deals mentioned here.</p>
        <a href="#reply">Reply to this comment</a> <a href="#report">Report abuse</a></div>
    </section>
    <aside class="related-links">
      <h3>Related headlines</h3>
      <ul>
        <li><a href="/a/1">Lira slides as the central bank holds rates again</a></li>
        <li><a href="/a/2">Istanbul ferry timetable changes from Monday</a></li>
        <li><a href="/a/3">Cappadocia balloon flights resume after storm</a></li>
      </ul>
    </aside>
  </main>
  <footer class="site-footer">
    <p>© 2020 Bosphorus Courier Media. All rights reserved.</p>
    <ul><li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li>
      <li><a href="/contact">Contact us</a></li></ul>
  </footer>
</body>
</html>
"""


class _ArticlePDF(FPDF):
    def header(self) -> None:
        self.set_font("DejaVu", size=8)
        self.set_text_color(110)
        self.cell(0, 6, RUNNING_HEADER, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)
        self.set_text_color(0)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("DejaVu", size=8)
        self.cell(0, 10, f"Page {self.page_no()}", align="C")


def article_pdf(
    article_text: str,
    path: Path,
    *,
    author: str = AUTHOR,
    published: datetime = PUBLISHED,
    page_format: str = "A5",
    align: str = "J",
    font_size: float = 10,
    paragraph_gap: float = 3,
    first_line_indent: int = 0,
    hyphenate: bool = False,
) -> Path:
    """The article (title line, blank line, paragraphs) typeset as a PDF: title, then the paragraphs
    wrapped by fpdf's multi_cell (justified, or ragged with align="L"), a running header and a
    "Page n" footer on every page; A5 pages make even a short article run over several.
    The info dictionary has the title, the author and the publication time as its creation date."""
    title, paragraphs = _split(article_text)
    pdf = _ArticlePDF(format=page_format)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator("seedqa test fixtures")
    pdf.set_creation_date(published)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("DejaVu", size=18)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for paragraph in paragraphs:
        if _is_heading(paragraph):
            pdf.ln(2)
            pdf.set_font("DejaVu", size=13)
            pdf.multi_cell(0, 7, paragraph, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("DejaVu", size=font_size)
            if hyphenate:
                paragraph = _soft_hyphens(paragraph)
            indented = "\u2002" * first_line_indent + paragraph  # en spaces, which fpdf does not strip
            pdf.multi_cell(0, font_size * 0.5, indented, align=align, new_x="LMARGIN", new_y="NEXT")
        if paragraph_gap:
            pdf.ln(paragraph_gap)
    pdf.output(str(path))
    return path


_SYLLABLE = re.compile(r"(?<=[aeiouy])(?=[^\W\d_aeiouy][aeiouy])", re.IGNORECASE)


def _soft_hyphens(paragraph: str) -> str:
    """Soft hyphens in words of eight letters or more, before a consonant that starts a syllable
    ("rela\xadtion\xadship"), at least three letters from either end: where fpdf may break the word."""

    def mark(match: re.Match[str]) -> str:
        word = match.group()
        cuts = [m.start() for m in _SYLLABLE.finditer(word) if 3 <= m.start() <= len(word) - 3]
        for cut in reversed(cuts):
            word = word[:cut] + "\u00ad" + word[cut:]
        return word

    return re.sub(r"[^\W\d_]{8,}", mark, paragraph)


def scanned_pdf(path: Path) -> Path:
    """Two pages with no text layer: grey bars where a scanner would have put lines of print."""
    pdf = FPDF(format="A4")
    for _ in range(2):
        pdf.add_page()
        pdf.set_fill_color(60)
        for row in range(30):
            pdf.rect(20, 25 + row * 8, 170 - (row % 4) * 15, 4, style="F")
    pdf.output(str(path))
    return path


def encrypted_pdf(path: Path, article_text: str = SAMPLE_TEXT) -> Path:
    """The article's PDF, encrypted so that it opens only with the password "secret"."""
    plain = article_pdf(article_text, path)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt("secret")
    with path.open("wb") as out:
        writer.write(out)
    return path


def damaged_pdf(path: Path, article_text: str = SAMPLE_TEXT) -> Path:
    """The article's PDF cut off after its first 700 bytes, as an interrupted download leaves it."""
    data = article_pdf(article_text, path).read_bytes()
    path.write_bytes(data[:700])
    return path


SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def convert_seeds(out: Path, kind: str, seeds: Path = SEEDS) -> list[Path]:
    """Every seed article saved as a news-site page (`kind` "html") or as a PDF ("pdf") in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for seed in sorted(seeds.glob("*.txt")):
        article = seed_article(seed)
        target = out / f"{seed.stem}.{kind}"
        if kind == "html":
            target.write_text(news_page(article.text), encoding="utf-8")
        else:
            article_pdf(article.text, target)
        written.append(target)
    return written
