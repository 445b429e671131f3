"""Cleaning keeps the article and drops page furniture, on the seeds and a tiny fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.clean import clean
from index.text import normalize
from tests.conftest import DATA, SEEDS


def cleaned_text(path: Path):
    text = path.read_text(encoding="utf-8")
    result = clean(text, fallback_title=path.stem)
    body = "\n".join(normalize(text[s:e]) for s, e in result.paragraphs)
    return result, body


@pytest.mark.parametrize(
    ("name", "title", "date", "author"),
    [
        ("000_a2c1b88482443108.txt", 'Confidence is gone, problems remain: Putin and Erdogan "hardly talk".', None, None),
        ("002_54167740fc0385da.txt", "Are Turkey-Russia relations falling apart?", None, "Hazem Zahab"),
        ("003_a0fedcf71dac8f0a.txt", "Are Turkish-Russian Relations Again Undergoing a Transformation?", "Nov 18, 2020", "Orhan Gafarli"),
        ("004_453518dfc179236b.txt", "Erdogan 'Makes Pivot to Russia' as West Failed to Support Turkey After Coup", "14 November 2019", None),
    ],
)  # fmt: skip
def test_seed_metadata(name, title, date, author):
    result, _ = cleaned_text(SEEDS / name)
    assert (result.title, result.date, result.author) == (title, date, author)


@pytest.mark.parametrize(
    ("name", "furniture"),
    [
        ("000_a2c1b88482443108.txt", ["Social Share Buttons", "Confidence is gone"]),
        ("002_54167740fc0385da.txt", ["retro brick wall", "Subscribe", "Donate Now", "Invest in yourself", "Related post", "Are Turkey-Russia relations falling apart?"]),
        ("003_a0fedcf71dac8f0a.txt", ["Ocnus", "Front Page", "Email this article", "Printer friendly", "Latest Headlines", "Belarus And The Russian War", "Top of Page", "Last Updated"]),
        ("004_453518dfc179236b.txt", ["Listen Live", "Get short URL", "Sputnik / Sergey", "file photo", "Constantine Palace", "Comment via", "Community standards", "BRICS", "bilateral relations, Syrian conflict"]),
    ],
)  # fmt: skip
def test_seed_furniture_is_removed(name, furniture):
    _, body = cleaned_text(SEEDS / name)
    for phrase in furniture:
        assert phrase not in body, phrase


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("000_a2c1b88482443108.txt", "Russia is, of course, our strategic partner.", "no longer cares about the interests of Turkey"),
        ("002_54167740fc0385da.txt", "Growing Russia-Turkey relations", "despite serious differences in Syria."),
        ("003_a0fedcf71dac8f0a.txt", "On the night of November 9", "can then be reapplied elsewhere in the region."),
        ("004_453518dfc179236b.txt", "President Recep Tayyip Erdogan is making every effort", "finally focus on its own interests."),
    ],
)  # fmt: skip
def test_seed_article_is_kept_whole(name, first, last):
    _, body = cleaned_text(SEEDS / name)
    assert body.startswith(first)
    assert body.rstrip('."”').endswith(last.rstrip('."”'))


def test_fixture_article():
    result, body = cleaned_text(DATA / "corpus" / "harbor.txt")
    assert result.title == "City approves new harbor bridge"
    assert result.author == "Jane Miller"
    assert result.date == "May 4, 2018"
    assert body.splitlines() == [
        "The city council approved the new harbor bridge on 3 May 2018 after a two-year debate. "
        "Council members voted 31 to 12 in favour.",
        "Construction is expected to cost 40 million euros, paid mostly by the regional government. "
        "Dr. Anna Berg, the chief engineer, said the U.S. firm Steelworks will supply the cables.",
        "The mayor said the bridge would cut commuting times for thousands of residents.",
    ]
    # The caption and credit sat between two paragraphs: the second starts after a break.
    assert result.breaks == (False, True, False)


def test_markdown_heading_is_the_title():
    result, body = cleaned_text(DATA / "corpus" / "museum.md")
    assert result.title == "Museum reopens after three years"
    assert body.startswith("The museum of modern art reopened")
    assert "\u00a0" not in body
