"""Per-sentence support: kept, moved to a better passage, or dropped; exact spans in the file."""

from __future__ import annotations

from chat.checks import Sources
from chat.checks.support import SupportParams, check_support
from index.types import Chunk, Passage

ORIGINAL = (
    "The city council approved the new harbor bridge on 3 May 2018 after a two-year debate. "
    "Council members voted 31 to 12 in favour.\n\n"
    "Construction is expected to cost 40\u00a0million euros, paid mostly by the regional government. "
    "The mayor said the bridge would cut commuting times."
)


def passage(n: int, start: int, end: int) -> Passage:
    text = " ".join(ORIGINAL[start:end].replace("\u00a0", " ").split())
    return Passage(Chunk(f"a.txt:{start}-{end}", "a.txt", "T", None, start, end, text), n, 0.1, None, None)


SPLIT = ORIGINAL.index("Construction")
PASSAGES = [passage(1, 0, SPLIT - 2), passage(2, SPLIT, len(ORIGINAL))]


def source_text(source: str) -> str | None:
    return ORIGINAL if source == "a.txt" else None


def check(text: str):
    return check_support(text, Sources(PASSAGES, source_text), SupportParams())


def test_supported_sentence_is_kept_with_its_exact_span():
    text, report = check("Construction costs 40 million euros [2].")
    assert text == "Construction costs 40 million euros [2]."
    (sentence,) = report
    assert sentence.supported and sentence.passage == 2 and sentence.cited == (2,)
    assert ORIGINAL[sentence.start : sentence.end].startswith("Construction is expected to cost 40\u00a0million")
    assert (
        sentence.quote == "Construction is expected to cost 40 million euros, paid mostly by the regional government."
    )


def test_citation_moves_to_the_passage_that_supports_the_sentence():
    text, report = check("The council approved the harbor bridge on 3 May 2018 [2].")
    assert text == "The council approved the harbor bridge on 3 May 2018 [1]."
    assert report[0].passage == 1 and report[0].cited == (1,)


def test_unsupported_sentence_is_dropped_and_reported():
    text, report = check("The bridge cost 40 million euros [2]. Istanbul has 16 million inhabitants [1].")
    assert text == "The bridge cost 40 million euros [2]."
    assert [s.supported for s in report] == [True, False]
    assert report[1].start is None and report[1].score < 0.5


def test_nothing_supported_leaves_nothing():
    text, report = check("Brexit was discussed at length [1].")
    assert text == "" and not report[0].supported


def test_changed_source_file_gives_support_without_a_span():
    text, report = check_support(
        "Construction costs 40 million euros [2].", Sources(PASSAGES, lambda s: None), SupportParams()
    )
    assert text and report[0].supported and report[0].start is None


def test_an_inflected_verb_meets_another_form_of_it_in_the_passage():
    # The passage says "approved"; the answer's only new word is "approving".
    text, (sentence,) = check_support(
        "Approving it [1].", Sources(PASSAGES, source_text, "What about the bridge?"), SupportParams()
    )
    assert sentence.supported and sentence.passage == 1
    assert text == "Approving it [1]."


def test_an_adverb_meets_its_adjective_in_the_passage():
    # The passage says "regional"; the answer's only new word is "regionally".
    text, (sentence,) = check_support(
        "It is paid for regionally [2].", Sources(PASSAGES, source_text, "How is it paid for?"), SupportParams()
    )
    assert sentence.supported and sentence.passage == 2
    assert text == "It is paid for regionally [2]."


def test_a_figure_the_passages_do_not_give_makes_a_sentence_unsupported():
    # Every other word is in passage 2; the 50 is not (the 40 is).
    text, report = check("Construction is expected to cost 50 million euros [2].")
    assert text == "" and not report[0].supported and report[0].score == 0.0


def test_a_figure_needs_its_magnitude_in_the_passage():
    # The passage says "40 million euros" (with a non-breaking space): 40 billion, or 40 per
    # cent, is another figure; "40 million" and a bare 40 are the passage's.
    assert check("Construction is expected to cost 40 billion euros [2].")[0] == ""
    assert check("Construction is expected to cost 40 per cent more [2].")[0] == ""
    assert (
        check("Construction is expected to cost 40 million [2].")[0]
        == "Construction is expected to cost 40 million [2]."
    )
    assert check("Construction is expected to cost 40 [2].")[0] == "Construction is expected to cost 40 [2]."


def test_figures_match_however_they_are_written():
    # Digits against digits, "two years" against "two-year", "40 million" moved to the passage with 40.
    assert check("Council members voted 31 to 12 [1].")[0] == "Council members voted 31 to 12 [1]."
    assert (
        check("Bridge approved after a debate of two years [1].")[0]
        == "Bridge approved after a debate of two years [1]."
    )
    assert check("A 40 million euro cost is expected [1].")[0] == "A 40 million euro cost is expected [2]."  # moved


def test_a_figure_from_the_question_needs_no_support():
    text, _ = check_support(
        "In 2018 the council approved the bridge [1].",
        Sources(PASSAGES, source_text, "What happened in 2018 or 2019?"),
        SupportParams(),
    )
    assert text == "In 2018 the council approved the bridge [1]."
    text, _ = check_support(
        "In 2019 the council approved the bridge [1].",
        Sources(PASSAGES, source_text, "What happened in 2018?"),
        SupportParams(),
    )
    assert text == ""


def test_numbers_in_text():
    from chat.checks.words import figures

    assert figures("1,000 troops, 3.5 billion, 46% in 1991\u20131994, five tanks, 03 May") == {
        "1000", "3", "5", "46", "1991", "1994", "3.5 billion", "46 percent",
    }  # fmt: skip


def test_figures_a_sentence_states_keep_their_magnitude():
    from chat.checks.words import stated

    assert stated("About 54 billion cubic metres, 2,000 thousand tonnes, 46 per cent, 12 tanks") == {
        "54 billion", "2000 thousand", "46 percent", "12",
    }  # fmt: skip
    assert stated("5 millionaires, 7%") == {"5", "7 percent"}  # a magnitude is a whole word


def test_a_bare_answer_is_attributed_to_the_passage_that_answers_the_question():
    original = (
        "Hartmanis and Stearns wrote the seminal paper in 1965. "
        "Also, in 1965 Edmonds defined a good algorithm as one with polynomial running time."
    )
    split = original.index("Also")
    texts = [original[:split].strip(), original[split:]]
    passages = [
        Passage(Chunk(f"c.txt:{a}-{b}", "c.txt", "T", None, a, b, t), n, 0.1, None, None)
        for n, (a, b, t) in enumerate([(0, split - 1, texts[0]), (split, len(original), texts[1])], start=1)
    ]
    question = "In what year did Edmonds characterize a good algorithm?"
    text, (sentence,) = check_support("1965 [1]", Sources(passages, lambda s: original, question), SupportParams())
    assert text == "1965 [2]" and sentence.passage == 2  # both say 1965; only [2] is about Edmonds
    text, (sentence,) = check_support(
        "1965 [1]", Sources(passages, lambda s: original, "When was the paper written?"), SupportParams()
    )
    assert text == "1965 [1]" and sentence.passage == 1  # no better context elsewhere: the citation stays
