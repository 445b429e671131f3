"""Analytical questions: their kind, evidence from several articles, a lead and cited points."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chat.citations import answer_lines, split_sentences
from chat.eval.metrics import Question, judge, summarize
from chat.eval.metrics import Result as EvalResult
from chat.kind import CHANGE, COMPARISON, EXPLANATION, FACT, REASON, question_kind
from chat.prompt import POINTS_REMINDER, REMINDER, arrange_by_date, date_key
from index.types import Chunk, Passage


@pytest.mark.parametrize(("question", "kind"), [
    ("How did relations between Turkey and Russia change between 2016 and 2020?", CHANGE),
    ("How has the Astana process evolved?", CHANGE),
    ("Compare how the articles judge the future of Turkish-Russian cooperation.", COMPARISON),
    ("What is the difference between the Turkish and the Russian aims in Syria?", COMPARISON),
    ("why did Erdogan pivot after 2016?", REASON),  # answered as a fact, with every check
    ("Why did OPEC raise the price of oil to $5.11?", REASON),
    ("How far from Warsaw does the Vistula river's environment change noticeably?", FACT),
    ("Compared to Smeaton's engine, how much coal did Watt's engine use?", FACT),
    ("What are the main disagreements between Turkey and Russia?", EXPLANATION),
    ("To what extent did Turkey turn away from the West?", EXPLANATION),
    ("How many Turkish soldiers died in Idlib?", FACT),
    ("How did the Kremlin justify the push in Idlib?", FACT),
    ("Who wrote the Middle East Eye analysis?", FACT),
    ("What did Erdogan say about the West?", FACT),
])  # fmt: skip
def test_question_kinds(question, kind):
    assert question_kind(question) == kind


def _form(pipeline, form: str) -> None:
    from dataclasses import replace

    analytical = replace(pipeline.answering.analytical, form=form)
    pipeline.answering = replace(pipeline.answering, analytical=analytical)


def _passage(source: str, date: str | None, start: int, rank: int) -> Passage:
    chunk = Chunk(f"{source}:{start}", source, source.upper(), date, start, start + 10, f"text of {source} {start}")
    return Passage(chunk, rank, 1.0 / rank, None, None)


def test_change_questions_read_articles_in_date_order():
    passages = [
        _passage("late", "Nov 18, 2020", 50, 1),
        _passage("undated", None, 0, 2),
        _passage("early", "14 August 2016", 90, 3),
        _passage("late", "Nov 18, 2020", 10, 4),
    ]
    order = [(p.chunk.source, p.chunk.start) for p in arrange_by_date(passages)]
    assert order == [("early", 90), ("late", 10), ("late", 50), ("undated", 0)]
    assert date_key("Sept. 3, 2018") == "2018" and date_key(None) is None


def test_points_keep_their_lines_through_the_checks():
    text = "Relations improved, then soured [1].\n- They cooperated in Syria [1]\n* Idlib divided them. [2]\n\n"
    assert answer_lines(text) == [
        ("", ["Relations improved, then soured [1]."]),
        ("- ", ["They cooperated in Syria [1]"]),
        ("- ", ["Idlib divided them. [2]"]),
    ]
    assert split_sentences(text)[1] == "They cooperated in Syria [1]"
    assert split_sentences("One. Two [1].") == ["One.", "Two [1]."]  # a factoid answer as before


def test_an_analytical_question_reads_several_articles_and_answers_in_points(corpus, make_pipeline):
    reply = (
        "The regional government paid for the bridge and private donors for the museum [1].\n"
        "- The regional government pays most of the 40 million euro bridge [1].\n"
        "- Private donors paid the 12 million euro museum renovation [2].\n"
        "- The moon is made of cheese [1]."
    )
    pipeline, generator = make_pipeline(corpus, [reply], k=3)
    _form(pipeline, "free")
    question = "Compare how the bridge and the museum were paid for."
    stream = pipeline.stream(question)
    assert len({p.chunk.source for p in stream.passages}) == 2  # both articles, though one ranks higher
    answer = stream.answer()
    prompt = generator.prompts[-1][-1].content
    assert prompt.endswith(POINTS_REMINDER) and REMINDER not in prompt
    assert answer.kind == COMPARISON and not answer.refused
    lines = answer.text.split("\n")
    assert len(lines) == 3 and lines[1].startswith("- ") and "cheese" not in answer.text  # unsupported: dropped
    assert {c.source for c in answer.citations} == {"harbor.txt", "museum.md"}
    assert [v.check for v in answer.verdicts] == ["supported", "grounded"]
    assert generator.choose_prompts == []  # no read-back for points


def test_analytical_answers_off_answers_every_question_as_a_fact(corpus, make_pipeline):
    from dataclasses import replace

    pipeline, generator = make_pipeline(corpus, ["The region pays [1]."])
    pipeline.answering = replace(pipeline.answering, analytical=replace(pipeline.answering.analytical, enabled=False))
    answer = pipeline.ask("What are the main reasons the region pays for the bridge?")
    assert answer.kind == FACT and generator.prompts[-1][-1].content.endswith(REMINDER)


def test_point_coverage_and_articles_cited_are_measured(corpus, make_pipeline):
    reply = "Others paid [1].\n- The regional government pays for the bridge [1].\n- Private donors paid [2]."
    pipeline, _ = make_pipeline(corpus, [reply])
    question = Question(
        "a1", "Compare how the bridge and the museum were paid for.", True, (), (),
        points=(("regional government",), ("private donors", "donors"), ("ticket sales",)),
    )  # fmt: skip
    answer = pipeline.ask(question.question)
    judged = judge(question, answer)
    assert (judged.points_covered, judged.articles_cited) == (2, 2)
    metrics = summarize([EvalResult("a1", answer)], [question]).metrics
    assert metrics["point_coverage"].value == pytest.approx(2 / 3)
    assert metrics["multi_article_share"].value == 1.0 and metrics["analytical_refused"].value == 0.0
    factoid = summarize([EvalResult("a1", answer)], [Question("a1", question.question, True, (), ())]).metrics
    assert factoid["point_coverage"].value is None  # no analytical question: nothing to measure


def test_the_extractive_form_quotes_each_articles_key_sentence_then_the_models_line(corpus, make_pipeline):

    pipeline, generator = make_pipeline(corpus, ["The regional government pays for the bridge [1]."], k=3)
    assert pipeline.answering.analytical.form == "extractive"  # the default
    stream = pipeline.stream("Compare how the bridge and the museum were paid for.")
    pieces = list(stream)
    answer = stream.answer()
    assert pieces[0].startswith("- \u201c") and generator.prompts[-1][-1].content.endswith(REMINDER)
    lines = answer.text.split("\n")
    assert 3 <= len(lines) <= 6 and all(line.startswith("- \u201c") for line in lines[:-1])
    assert lines[-1].startswith("The regional government pays for the bridge [")
    assert len(set(lines)) == len(lines)  # no sentence quoted twice
    for line in lines[:-1]:  # each quote is the exact words of the passage it cites
        n = int(line.rsplit("[", 1)[1].rstrip("]."))
        quote = line[3 : line.index("\u201d")]
        assert " ".join(quote.split()) in " ".join(answer.passages[n - 1].chunk.text.split())
    assert {c.source for c in answer.citations} == {"harbor.txt", "museum.md"}
    assert answer.tokens.completion > 0 and not answer.refused


def test_free_points_stop_at_five_and_at_a_repeated_line(corpus, make_pipeline):
    lead = "The region and donors paid [1].\n"
    point = "- The regional government pays most of the 40 million euros [1].\n"
    others = "".join(f"- Private donors paid {n} million euros for the museum [2].\n" for n in (12, 13, 14, 15, 16))
    question = "Compare how the bridge and the museum were paid for."
    pipeline, generator = make_pipeline(corpus, [lead + point + others], k=3)
    _form(pipeline, "free")
    answer = pipeline.ask(question)
    assert sum(line.startswith("- ") for line in answer.raw_text.split("\n")) == 5  # cut where a sixth began
    generator.replies = [lead + point + point + others]
    answer = pipeline.ask(question)
    assert "Private donors" not in answer.raw_text  # a looping model is cut at its first repeat
    shown = answer.text.split("\n")
    assert len(shown) == len(set(shown)) == 2  # ... and the repeated point is not shown twice


def test_a_why_question_is_answered_as_a_fact_with_every_check(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, ["The regional government pays most of the cost [2]."])
    answer = pipeline.ask("Why does the regional government pay for the bridge?")
    assert answer.kind == REASON and generator.prompts[-1][-1].content.endswith(REMINDER)
    assert [v.check for v in answer.verdicts] == ["supported", "grounded", "answers_the_form", "confident"]


def _quoted(answer) -> list[tuple[str, int]]:
    """The quoted points of an answer: (quote, passage number)."""
    found = []
    for line in answer.text.split("\n"):
        if line.startswith("- \u201c"):
            found.append((line[3 : line.index("\u201d")], int(line.rsplit("[", 1)[1].rstrip("]."))))
    return found


def test_a_kept_why_answer_is_followed_by_quoted_evidence_from_several_articles(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, ["The regional government pays most of the cost [2]."])
    stream = pipeline.stream("Why does the regional government pay for the bridge and donors for the museum?")
    read = len(stream.passages)
    pieces = list(stream)
    answer = stream.answer()
    assert not answer.refused, answer.verdicts
    assert answer.text.split("\n")[0] == "The regional government pays most of the cost [2]."
    assert pieces[-1].startswith("\n\n- \u201c")  # the evidence streams after the checked answer
    quotes = _quoted(answer)
    assert 2 <= len(quotes) <= pipeline.answering.analytical.points
    for quote, n in quotes:  # each quote is the exact words of the passage it cites
        assert " ".join(quote.split()) in " ".join(answer.passages[n - 1].chunk.text.split())
    assert len({answer.passages[n - 1].chunk.source for _, n in quotes}) >= 2
    rests_on = [" ".join(s.quote.split()) for s in answer.sentences if s.supported and s.quote]
    assert rests_on and not any(" ".join(q.split()) in r for q, _ in quotes for r in rests_on)  # not quoted twice
    # Passages the model did not read join the answer only when quoted, after the ones it read.
    extra = set(range(read + 1, len(answer.passages) + 1))
    assert extra <= {n for _, n in quotes}
    assert {c.n for c in answer.citations} == {2} | {n for _, n in quotes}
    assert f"[{read + 1}]" not in generator.prompts[-1][-1].content  # the model read only the first ones


def test_a_refused_why_answer_quotes_nothing(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, ["The articles do not say."])
    pipeline.answering = replace(
        pipeline.answering, second_pass_min_dense=None, second_pass_min_coverage=None, quote_fallback=False
    )
    stream = pipeline.stream("Why does the regional government pay for the bridge?")
    pieces = list(stream)
    answer = stream.answer()
    assert answer.refused and "\u201c" not in "".join(pieces) + answer.text
    # ... and an answer the checks reject is refused without evidence too.
    pipeline, _ = make_pipeline(corpus, ["The moon is made of green cheese [1]."])
    pipeline.answering = replace(
        pipeline.answering, second_pass_min_dense=None, second_pass_min_coverage=None, quote_fallback=False
    )
    answer = pipeline.ask("Why does the regional government pay for the bridge?")
    assert answer.refused and "\u201c" not in answer.text
