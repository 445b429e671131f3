"""Question grounding: the question's names and figures must be where the answer comes from."""

from __future__ import annotations

from chat.checks import Draft, grounding
from chat.types import SentenceSupport
from index.types import Chunk, Passage

HUGUENOTS = (
    "New Rochelle was settled by Huguenots in 1688. The distance by the road from New Rochelle to New York is "
    "21 miles.\n\nMany Huguenots also settled in New Paltz, far up the Hudson."
)
IDLIB = (
    "Idlib was bombed again. Ankara protested the Idlib offensive. Talks on Idlib failed.\n\n"
    "The Syrian army's push continued, and Turkey sent more troops."
)
NETWORKS = (
    "Tymnet was an international data communications network headquartered in San Jose, CA.\n\n"
    "President Erdogan said the talks had failed. According to the 1901 census, the city had 711,988 inhabitants."
)
TEXTS = {"huguenots.txt": HUGUENOTS, "idlib.txt": IDLIB, "networks.txt": NETWORKS}


def passage(source: str, sentence: str, n: int = 1) -> Passage:
    text = TEXTS[source]
    start = text.index(sentence)
    chunk = Chunk(f"{source}:{start}-{start + len(sentence)}", source, source[:-4].title(), None, start,
                  start + len(sentence), sentence)  # fmt: skip
    return Passage(chunk, n, 0.03, 0.6, 3.0)


def draft(question: str, answer: str, *passages: Passage) -> Draft:
    sentence = SentenceSupport(answer, (1,), 1, 1.0, None, None, None, None, True)
    return Draft(question, answer, (sentence,), passages, source_text=TEXTS.get)


def test_a_neighbour_named_instead_of_the_question_is_refused_with_the_reason():
    # "New Paltz" asked, "New Rochelle" in the passage: the same first word with another after
    # it is another place (a swap), and that refuses on its own.
    rochelle = passage("huguenots.txt", "The distance by the road from New Rochelle to New York is 21 miles.")
    v = grounding.verdict(draft("How far is New Paltz from New York?", "It is 21 miles [1].", rochelle))
    assert not v.ok and v.binding
    assert v.reason == "the question names New Paltz; passage [1] names New Rochelle"
    tymnet = passage(
        "networks.txt", "Tymnet was an international data communications network headquartered in San Jose, CA."
    )
    v = grounding.verdict(draft("What network was headquartered in San Juan, CA?", "Tymnet [1].", tymnet))
    assert not v.ok and v.binding and v.reason == "the question names San Juan; passage [1] names San Jose"


def test_a_name_the_passage_lacks_without_a_neighbour_is_a_signal_not_a_refusal():
    rochelle = passage("huguenots.txt", "New Rochelle was settled by Huguenots in 1688.")
    v = grounding.verdict(draft("Who settled Albany?", "Huguenots did [1].", rochelle))
    assert not v.ok and not v.binding
    assert v.reason.startswith("the question names Albany; passage [1] does not")


def test_a_surname_with_another_title_before_it_is_not_a_swap():
    said = passage("networks.txt", "President Erdogan said the talks had failed.")
    v = grounding.verdict(draft("What did Recep Tayyip Erdogan say about the talks?", "That they failed [1].", said))
    assert not v.ok and not v.binding  # the full name is missing (a signal), but no neighbour is named


def test_a_name_the_answer_states_must_be_in_its_passage():
    # The census of another city: every figure is in the passage, the city the answer names is not.
    census = passage("networks.txt", "According to the 1901 census, the city had 711,988 inhabitants.")
    answer = "The population of Berlin in 1901 was 711,988 [1]."
    v = grounding.verdict(draft("What was the population in 1901?", answer, census))
    assert not v.ok and v.binding and v.reason == "the answer names Berlin; passage [1] does not"
    # A name the article is about may stand for "it" or "the city" in the passage.
    push = passage("idlib.txt", "The Syrian army's push continued, and Turkey sent more troops.")
    v = grounding.verdict(draft("What did Turkey do?", "Turkey sent more troops to Idlib [1].", push))
    assert v.ok, v.reason


def test_a_name_the_passage_holds_passes():
    paltz = passage("huguenots.txt", "Many Huguenots also settled in New Paltz, far up the Hudson.")
    assert grounding.verdict(draft("Who settled in New Paltz?", "Huguenots settled there [1].", paltz)).ok


def test_what_the_article_is_about_need_not_be_repeated_in_the_passage():
    push = passage("idlib.txt", "The Syrian army's push continued, and Turkey sent more troops.")
    v = grounding.verdict(draft("What did Turkey do during the Idlib offensive?", "It sent more troops [1].", push))
    assert v.ok, v.reason  # "Idlib" is three times in the article


def test_a_figure_the_passage_lacks_is_refused():
    rochelle = passage("huguenots.txt", "New Rochelle was settled by Huguenots in 1688.")
    assert not grounding.verdict(draft("Who settled New Rochelle in 1690?", "Huguenots did [1].", rochelle)).ok
    assert grounding.verdict(draft("Who settled New Rochelle in 1688?", "Huguenots did [1].", rochelle)).ok


def test_a_question_with_nothing_pinned_is_not_judged():
    push = passage("idlib.txt", "The Syrian army's push continued, and Turkey sent more troops.")
    v = grounding.verdict(draft("why did the army push on?", "Troops came [1].", push))
    assert v.ok and "names no name" in v.reason


def test_a_name_the_answer_invents_refuses_even_when_the_question_pins_nothing():
    push = passage("idlib.txt", "The Syrian army's push continued, and Turkey sent more troops.")
    v = grounding.verdict(draft("why did the army push on?", "Troops came from Berlin [1].", push))
    assert not v.ok and v.binding and v.reason == "the answer names Berlin; passage [1] does not"


def test_analytical_points_are_not_held_to_what_they_name():
    # A point quotes a whole passage sentence, with every name around the one asked about:
    # "Turkish-Russian" asked (two names joined, never a swap), "Turkish President ..." quoted.
    from chat.checks import ANALYTICAL_CHECKS

    push = passage("idlib.txt", "The Syrian army's push continued, and Turkey sent more troops.")
    points = draft("How did Turkish-Russian ties evolve?", "- Troops came from Berlin [1].", push)
    (grounded,) = [c for c in ANALYTICAL_CHECKS if c.name == grounding.NAME]
    v = grounded.run(points)
    assert v.ok or not v.binding  # the points are not refused for naming Berlin
    assert not grounding.verdict(points).ok  # a factoid answer naming Berlin is refused
    said = passage("networks.txt", "President Erdogan said the talks had failed.")
    v = grounding.verdict(draft("How did Turkish-Russian ties evolve?", "Turkish President Erdogan spoke [1].", said))
    assert "names Turkish President" not in v.reason


HARVARD = (
    "The president of Harvard Joseph Willard died in 1804, and a struggle broke out over his replacement. "
    "The liberal Samuel Webber was appointed to the presidency two years later.\n\n"
    "Harvard has several athletic facilities, such as the Lavietes Pavilion. The Malkin Athletic Center serves "
    "as the primary recreation facility. The five-story building includes an Olympic-size swimming pool."
)
TEXTS["harvard.txt"] = HARVARD


def supported(answer: str, source: str, quote: str) -> SentenceSupport:
    start = TEXTS[source].index(quote)
    return SentenceSupport(answer, (1,), 1, 1.0, source, start, start + len(quote), quote, True)


def test_a_name_in_the_sentence_the_supporting_words_go_on_from_is_found():
    # The chunker cut between the two sentences: the passage starts at "The liberal Samuel Webber".
    quote = "The liberal Samuel Webber was appointed to the presidency two years later."
    webber = passage("harvard.txt", quote)
    answer = "Samuel Webber succeeded Joseph Willard as president two years later [1]."
    question = "What liberal succeeded Joseph Willard as president?"
    found = Draft(question, answer, (supported(answer, "harvard.txt", quote),), (webber,), source_text=TEXTS.get)
    v = grounding.verdict(found)
    assert v.ok, v.reason
    # Without the article's text nothing before the passage is known, and the name is missing.
    blind = Draft(question, answer, (supported(answer, "harvard.txt", quote),), (webber,))
    v = grounding.verdict(blind)
    assert not v.ok and v.reason == "the answer names Joseph Willard; passage [1] does not"


def test_a_name_two_sentences_back_is_not_what_the_supporting_words_speak_of():
    quote = "The five-story building includes an Olympic-size swimming pool."
    chunk_text = "The Malkin Athletic Center serves as the primary recreation facility. " + quote
    pool = passage("harvard.txt", chunk_text)
    answer = "The Lavietes Pavilion has an Olympic-size swimming pool [1]."
    question = "What kind of swimming pool is at the Lavietes Pavilion?"
    v = grounding.verdict(
        Draft(question, answer, (supported(answer, "harvard.txt", quote),), (pool,), source_text=TEXTS.get)
    )
    assert not v.ok and v.binding and v.reason == "the answer names Lavietes Pavilion; passage [1] does not"
