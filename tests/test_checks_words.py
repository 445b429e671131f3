"""What a question pins down, and finding it in a text written differently."""

from __future__ import annotations

import pytest

from chat.checks.words import CorpusWords, Vocabulary, figures, pins, stated
from index.keyword import KeywordIndex


def pinned(question: str) -> list[tuple[str, str]]:
    return [(p.text, p.kind) for p in pins(question)]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How far is New Paltz from New York?", [("New Paltz", "name"), ("New York", "name")]),
        ("Who described a steam turbine in 1690?", [("1690", "figure")]),
        ("Which network was headquartered in San Juan, CA?", [("San Juan", "name"), ("CA", "name")]),
        ("Who did Northen Telecom sell TRANSPAC clones to?", [("Northen Telecom", "name"), ("TRANSPAC", "name")]),
        ('What did the critics say about "The Great Game"?', [("The Great Game", "title")]),
        ("NATO members met where in 2019-2020?", [("NATO", "name"), ("2019-2020", "figure")]),
        ("What did U.S. officials and the US say?", [("U.S.", "name")]),  # one pin, written twice
        ("Why did the council approve the bridge?", []),  # nothing pinned: the check does not apply
        ("When did the first cracks in the Erdogan-Putin relationship appear?", [("Erdogan-Putin", "name")]),
        ("Cavendish's Law of Gravitation states what?", [("Cavendish's Law", "name"), ("Gravitation", "name")]),
        ("Where did the talks take place?", []),  # an opening word is capitalized for grammar
        ("Today's talks ended where?", []),  # a possessive opening word that names no one
        ("Let's see: who won?", []),
    ],
)
def test_pins_of_a_question(question, expected):
    assert pinned(question) == expected


def count(pin_text: str, text: str) -> int:
    (pin,) = pins(f"What about {pin_text} then?")
    return Vocabulary.of(text).count(pin)


@pytest.mark.parametrize(
    ("pin", "text"),
    [
        ("Northen Telecom", "Northern Telecom sold DATAPAC clones."),  # a typo in a long name
        ("Turkish", "Turkey and Russia met."),  # demonym and country
        ("Ukrainian", "He visited Ukraine."),
        ("EU", "The European Union met."),  # acronym spelled out
        ("NATO", "the North Atlantic Treaty Organization"),
        ("1980's", "in the 1980s"),
        ("2019-2020", "from 2019 to 2020"),
        ("Erdogan-Putin", "Putin called Erdoğan."),  # accents folded, parts of a compound
        ("Ankara's", "Ankara said no."),  # possessive
        ("Kilbrandon", "Kilbrandon's report"),
        ("Sept", "in September 1760"),  # a month, abbreviated
        ("September", "on 8 Sept. 1760"),
    ],
)
def test_a_pin_is_found_however_it_is_written(pin, text):
    assert count(pin, text) >= 1


@pytest.mark.parametrize(
    ("pin", "text"),
    [
        ("New Paltz", "The distance from New Rochelle to New York is 21 miles."),
        ("TRANSPAC", "Northern Telecom sold several DATAPAC clones."),
        ("1690", "Taqi al-Din described a steam turbine in 1551."),
        ("San Juan", "Tymnet was headquartered in San Jose, CA."),
        ("Austria", "Australia won."),  # a shared stem is not enough: endings must be a demonym's
        ("Rochester", "New Rochelle"),
    ],
)
def test_a_neighbour_is_not_the_pin(pin, text):
    assert count(pin, text) == 0


def test_counts_say_how_often_an_article_names_a_pin():
    assert count("Idlib", "Idlib fell. The Idlib deal. In Idlib, talks.") == 3


def test_wire_copy_figures_keep_their_magnitude():
    assert stated("about 21 million dollars") == {"21 million"}
    assert "21 million" in figures("profit of 21 mln dlrs") and "74 percent" in figures("up 74 pct")
    assert "3 billion" in figures("3 bln") and "7 percent" in figures("7 per cent")


def test_a_corpus_knows_its_figures_as_its_texts_write_them():
    texts = ["By 1883, engines that could provide 10,000 hp had become feasible."]
    corpus = Vocabulary.of_corpus(KeywordIndex.build(texts).terms, texts)
    (pin,) = pins("As of what year were 10000 horsepower engines available?")
    assert corpus.count(pin) == 1
    (absent,) = pins("As of what year were 20000 horsepower engines available?")
    assert corpus.count(absent) == 0


def test_a_corpus_reads_what_the_cleaner_left_out_only_for_a_name_its_text_lacks():
    texts = ["Construction is expected to cost 40 million euros."]
    reads: list[int] = []

    def left_out() -> str:
        reads.append(1)
        return "Harbor News\nSubscribe to our newsletter"

    corpus = CorpusWords(Vocabulary.of_corpus(KeywordIndex.build(texts).terms, texts), left_out)
    (euros,) = pins("Who pays the 40 million euros?")
    assert corpus.count(euros) > 0 and reads == []  # found in the indexed text: nothing more is read
    (publication,) = pins("What does Harbor News report?")
    (absent,) = pins("What does Ironworks report?")
    assert corpus.count(publication) == 1 and corpus.count(absent) == 0
    assert reads == [1]  # read once, on the first name the indexed text lacks


def test_men_is_the_plural_of_man_in_terms():
    from chat.checks.words import terms

    assert terms("3,600 Frenchmen") & terms("Frenchman") == {"frenchman"}
    assert terms("women") == terms("woman")
    assert terms("an omen") != terms("Oman")  # short words keep their ending


@pytest.mark.parametrize(
    ("question", "text", "found"),
    [
        ("How did the Kremlin justify the push?", "Moscow said the push fought terrorists.", True),
        ("What did the White House say?", "Washington warned Ankara.", True),
        ("What did the White House say?", "They told us nothing.", False),  # "us" is a pronoun
        ("How did the Kremlin react?", "Ankara and Washington talked.", False),
    ],
)
def test_a_seat_of_government_is_found_as_its_capital(question, text, found):
    (pin,) = pins(question)
    assert (Vocabulary.of(text).count(pin) > 0) is found
