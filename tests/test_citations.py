"""Citation markers: parsing, validation, refusal detection and post-hoc attribution."""

from __future__ import annotations

import pytest

from chat.citations import attach_citations, cited_numbers, clean_markers, is_refusal, resolve, split_sentences
from index.types import Chunk, Passage


def passage(n: int, text: str) -> Passage:
    chunk = Chunk(f"a.txt:{n * 100}-{n * 100 + len(text)}", "a.txt", "Title", None, n * 100, n * 100 + len(text), text)
    return Passage(chunk, n, 1.0 / n, 0.5, 1.0)


PASSAGES = [
    passage(1, "The council approved the bridge on 3 May 2018 after a long debate."),
    passage(2, "The regional government pays most of the 40 million euro cost."),
]


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("A [1]. B [2].", [1, 2]),
        ("A [1, 2] and [2][1].", [1, 2, 2, 1]),
        ("A [Passage 2]. B [passages 1 and 3].", [2, 1, 3]),
        ("No markers, [a] or [].", []),
    ],
)
def test_cited_numbers(text, numbers):
    assert cited_numbers(text) == numbers


def test_invalid_numbers_are_dropped_and_reported():
    text, invalid = clean_markers("Approved in 2018 [1][7]. Paid by the region [2, 9]. Nothing [0].", 2)
    assert text == "Approved in 2018 [1]. Paid by the region [2]. Nothing."
    assert invalid == [7, 9, 0]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("The articles do not say.", True),
        ("The articles do not say. [1]", True),
        ("The passages do not mention Brexit.", True),
        ("This information is not provided in the passages.", True),
        ("", True),
        ("The bridge was approved in 2018 [1].", False),
        (
            "The passages do not say when, but the council approved it [1]. It cost 40 million [2]. Later it opened [1].",
            False,
        ),
    ],
)
def test_refusal_detection(text, refused):
    assert is_refusal(text) is refused


def test_split_sentences_keeps_trailing_markers():
    assert split_sentences('It was approved. [1] The U.S. firm said "no." [2] Done') == [
        "It was approved. [1]",
        'The U.S. firm said "no." [2]',
        "Done",
    ]


def test_attach_citations_picks_the_supporting_passage():
    text = "The council approved the bridge in May 2018. The regional government pays most of the cost. Bananas are yellow."
    assert attach_citations(text, PASSAGES) == (
        "The council approved the bridge in May 2018 [1]. The regional government pays most of the cost [2]. "
        "Bananas are yellow."
    )


def test_resolve_maps_numbers_to_exact_offsets():
    citations = resolve("X [2]. Y [1]. Z [2].", PASSAGES)
    assert [c.n for c in citations] == [1, 2]
    assert (citations[1].start, citations[1].end) == (200, 200 + len(PASSAGES[1].chunk.text))
    assert citations[1].text == PASSAGES[1].chunk.text
