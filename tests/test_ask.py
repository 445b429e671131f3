"""`Pipeline.stream` / `ask` on fakes: order of events, citations, refusals, bad questions."""

from __future__ import annotations

import pytest

from chat.ask import QUOTE_NOTE, RETRY_NOTE
from chat.checks import CHECKS
from chat.errors import QuestionError
from chat.prompt import REFUSAL, arrange, build_messages, format_passages
from index.types import Chunk, Passage
from tests.conftest import DATA

COST_Q = "How much does the bridge cost?"


def test_passages_come_before_tokens_and_answer_is_checked(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    cost = next(n for n, p in enumerate(pipeline.retrieve(COST_Q), 1) if "40 million" in p.chunk.text)
    generator.replies = [f"It costs 40 million euros [{cost}], paid by the region [{cost}][5]."]
    stream = pipeline.stream(COST_Q)
    assert stream.passages  # known before any token is produced
    assert generator.prompts[-1][-1].content.startswith("Passages:\nArticle: City approves new harbor bridge\n[1]")
    pieces = list(stream)
    assert len(pieces) > 3 and "".join(pieces).startswith("It costs")
    answer = stream.answer()
    assert answer.text == f"It costs 40 million euros [{cost}], paid by the region [{cost}]."
    assert answer.invalid_citations == (5,)
    assert [c.n for c in answer.citations] == [cost]
    cited = answer.citations[0]
    original = (corpus / cited.source).read_text(encoding="utf-8")
    assert "40 million euros" in original[cited.start : cited.end]
    assert not answer.refused and not answer.repaired
    assert answer.tokens.completion == len(pieces) and answer.tokens.prompt > 100
    assert 0 <= answer.timings.retrieve_s <= answer.timings.ttft_s <= answer.timings.total_s


def test_uncited_answer_gets_citations_after_the_fact(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, ["Construction is expected to cost 40 million euros."])
    answer = pipeline.ask("How much does the bridge cost?")
    assert answer.repaired
    assert answer.text.endswith("40 million euros [1].") or "[" in answer.text
    assert answer.citations and "40 million euros" in answer.citations[0].text


def test_refusal_has_no_citations(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, ["The passages do not mention it [2]."])
    answer = pipeline.ask("What did the mayor say about Brexit?")
    assert answer.refused
    assert answer.text == REFUSAL
    assert answer.citations == ()


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question(corpus, make_pipeline, question):
    pipeline, generator = make_pipeline(corpus)
    with pytest.raises(QuestionError, match="empty"):
        pipeline.ask(question)
    assert generator.prompts == []


def test_huge_question(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus)
    with pytest.raises(QuestionError, match="characters long"):
        pipeline.ask("why " * 400)


def test_prompt_that_does_not_fit_the_context(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    generator.n_ctx = 300
    with pytest.raises(QuestionError, match="context"):
        pipeline.ask("How much does the bridge cost?")


def test_k_overrides_the_number_of_passages(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, k=3)
    assert len(pipeline.ask("bridge", k=1).passages) == 1
    with pytest.raises(QuestionError, match="-k"):
        pipeline.ask("bridge", k=0)


def test_stop_early_keeps_what_was_generated(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, ["The council approved the bridge in 2018 [1]. More words follow here."])
    stream = pipeline.stream("When was the bridge approved?")
    iterator = iter(stream)
    first = [next(iterator) for _ in range(3)]
    stream.close()
    answer = stream.answer()
    assert answer.text.startswith("".join(first).strip())
    assert "More words" not in answer.text


def test_prompt_snapshot(corpus, make_pipeline):
    """The exact prompt; update tests/data/prompt_snapshot.txt deliberately when it changes."""
    pipeline, _ = make_pipeline(corpus, k=2)
    passages = pipeline.retrieve("Who pays for the bridge?")
    messages = build_messages("Who pays for the bridge?", passages)
    rendered = "\n\n".join(f"<{m.role}>\n{m.content}" for m in messages) + "\n"
    expected = (DATA / "prompt_snapshot.txt").read_text(encoding="utf-8")
    assert rendered == expected


def _gated(pipeline, gate, coverage=None, quote=True):
    from dataclasses import replace

    pipeline.answering = replace(
        pipeline.answering, second_pass_min_dense=gate, second_pass_min_coverage=coverage, quote_fallback=quote
    )
    return pipeline


def test_refusal_is_asked_again_without_showing_it(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, [REFUSAL, "Construction is expected to cost 40 million euros [1]."])
    stream = _gated(pipeline, 0.0).stream("How much does the bridge cost?")
    pieces = list(stream)
    answer = stream.answer()
    assert "do not say" not in "".join(pieces)  # the first refusal never reached the user
    assert answer.second_pass and not answer.refused
    assert "40 million euros" in answer.text and answer.citations
    first, second = generator.prompts
    assert first[:-1] == second[:-1]  # same prefix: llama.cpp reuses its cache
    assert first[-1].content.split("Question:")[0] == second[-1].content.split("Question:")[0]
    assert "do not say" not in second[-1].content.split("Question:")[1]  # no refusal option
    assert answer.tokens.completion == len(REFUSAL.split()) + len(pieces)


def test_second_pass_answer_without_support_stays_a_refusal(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, [REFUSAL, "The bridge has twelve golden towers [1]."])
    answer = _gated(pipeline, 0.0, quote=False).ask("How tall is the bridge?")
    assert answer.second_pass and answer.refused and answer.text == REFUSAL


def test_answer_the_checks_reject_is_asked_again_visibly(corpus, make_pipeline):
    rejected = "The bridge has twelve golden towers [1]."
    pipeline, generator = make_pipeline(corpus, [rejected, "Construction is expected to cost 40 million euros [1]."])
    stream = _gated(pipeline, 0.0).stream("How much does the bridge cost?")
    shown = "".join(stream)
    answer = stream.answer()
    # The rejected answer was already on screen: the note says why a second one follows it.
    assert shown.startswith(rejected) and RETRY_NOTE in shown and shown.endswith("euros [1].")
    assert answer.second_pass and not answer.refused and "40 million euros" in answer.text
    assert answer.raw_text == "Construction is expected to cost 40 million euros [1]."
    assert "do not say" not in generator.prompts[1][-1].content.split("Question:")[1]  # no refusal option


def test_only_one_second_pass(corpus, make_pipeline):
    replies = ["The bridge has twelve golden towers [1].", "The towers are made of gold [1].", "Unused [1]."]
    pipeline, generator = make_pipeline(corpus, replies)
    answer = _gated(pipeline, 0.0, quote=False).ask("How tall is the bridge?")
    assert answer.second_pass and answer.refused and len(generator.prompts) == 2


def test_supported_answer_is_not_asked_again(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, ["Construction is expected to cost 40 million euros [1].", "Unused."])
    answer = _gated(pipeline, 0.0).ask("How much does the bridge cost?")
    assert not answer.second_pass and not answer.refused and len(generator.prompts) == 1


def test_no_second_pass_below_the_retrieval_gate(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, [REFUSAL, "Construction costs 40 million euros [1]."])
    stream = _gated(pipeline, 1.01, quote=False).stream("How much does the bridge cost?")
    assert "".join(stream) == REFUSAL
    assert stream.answer().refused and len(generator.prompts) == 1


def test_second_pass_when_every_question_word_is_in_one_passage(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, [REFUSAL, "Construction costs 40 million euros [1]."])
    answer = _gated(pipeline, 1.01, coverage=1.0).ask("How much does the bridge cost?")
    assert answer.second_pass and not answer.refused and len(generator.prompts) == 2


def test_no_second_pass_when_a_question_word_is_in_no_passage(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, [REFUSAL, "The bridge weighs 40 tonnes [1]."])
    answer = _gated(pipeline, 1.01, coverage=1.0, quote=False).ask("How much does the bridge weigh?")
    assert not answer.second_pass and answer.refused and len(generator.prompts) == 1


def test_answer_that_starts_like_a_refusal_streams_normally(corpus, make_pipeline):
    reply = "The articles do not give the bridge's cost, but the renovation cost 12 million euros [3]."
    pipeline, generator = make_pipeline(corpus, [reply])
    stream = _gated(pipeline, 0.0).stream("How much does the bridge cost?")
    assert "".join(stream) == reply and len(generator.prompts) == 1
    assert not stream.answer().refused


def _ranked(source: str, title: str, start: int, rank: int) -> Passage:
    text = f"Sentence at {start} of {source}."
    chunk = Chunk(f"{source}:{start}-{start + len(text)}", source, title, None, start, start + len(text), text)
    return Passage(chunk, rank, 1 / rank, None, None)


def test_passages_are_grouped_by_article_and_each_title_shown_once():
    ranked = [_ranked("a.txt", "Alpha", 900, 1), _ranked("b.txt", "Beta", 50, 2),
              _ranked("a.txt", "Alpha", 100, 3), _ranked("c.txt", "Gamma", 0, 4)]  # fmt: skip
    arranged = arrange(ranked)
    assert [(p.chunk.source, p.rank) for p in arranged] == [("a.txt", 3), ("a.txt", 1), ("b.txt", 2), ("c.txt", 4)]
    assert format_passages(arranged).split("\n") == [
        "Article: Alpha",
        "[1] Sentence at 100 of a.txt.",
        "[2] Sentence at 900 of a.txt.",
        "Article: Beta",
        "[3] Sentence at 50 of b.txt.",
        "Article: Gamma",
        "[4] Sentence at 0 of c.txt.",
    ]


def test_answer_passages_are_numbered_as_the_model_read_them(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, ["It costs 40 million euros [1]."])
    answer = pipeline.ask("Who pays for the bridge and what did the mayor say?")
    prompt = format_passages(answer.passages)
    for n, passage in enumerate(answer.passages, start=1):
        assert f"[{n}] {passage.shown_text.replace(chr(10), ' ')}" in prompt
    assert list(answer.passages) == arrange(answer.passages)


def test_an_answer_that_does_not_say_how_many_is_a_refusal(corpus, make_pipeline):
    question = "How many residents will the bridge help?"
    pipeline, generator = make_pipeline(corpus)
    n = next(i for i, p in enumerate(pipeline.retrieve(question), 1) if "commuting" in p.chunk.text)
    generator.replies = [f"The mayor said the bridge would cut commuting times for residents [{n}]."]
    answer = _gated(pipeline, None, quote=False).ask(question)
    assert answer.refused and answer.text == REFUSAL and answer.citations == ()
    assert answer.sentences and answer.sentences[0].supported  # supported, but not an answer to "how many"


def test_an_answer_about_a_neighbour_is_flagged_and_refused_when_the_estimate_is_low(corpus, make_pipeline):
    # The cables passage does not name the museum (another article does): a neighbour's answer.
    pipeline, generator = make_pipeline(corpus)
    n = next(
        i for i, p in enumerate(pipeline.retrieve("Which firm supplies the cables?"), 1) if "cables" in p.chunk.text
    )
    generator.replies = [f"Steelworks will supply the cables [{n}].", "Unused."]
    generator.choices = [(0.05, 0.95)]  # the model reads the supporting words as not stating it
    answer = _gated(pipeline, 0.0).ask("Will the Museum supply the cables?")
    assert answer.refused and answer.text == REFUSAL
    grounded = next(v for v in answer.verdicts if v.check == "grounded")
    assert not grounded.ok and not grounded.binding and "names Museum" in grounded.reason
    (failing,) = [v for v in answer.verdicts if not v.ok and v.binding]
    assert failing.check == "confident" and "names Museum" in failing.reason
    assert not answer.second_pass and len(generator.prompts) == 1  # a forced answer would name the same neighbour


def test_a_flag_alone_does_not_refuse(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    n = next(
        i for i, p in enumerate(pipeline.retrieve("Which firm supplies the cables?"), 1) if "cables" in p.chunk.text
    )
    generator.replies = [f"Steelworks will supply the cables [{n}]."]
    generator.choices = [(0.99, 0.01)]
    answer = _gated(pipeline, None).ask("Will the Museum supply the cables?")
    assert [v.check for v in answer.verdicts if not v.ok] == ["grounded"]
    assert not answer.refused and answer.text.startswith("Steelworks")


def test_a_name_no_article_uses_is_a_refusal(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    n = next(
        i for i, p in enumerate(pipeline.retrieve("Which firm supplies the cables?"), 1) if "cables" in p.chunk.text
    )
    generator.replies = [f"Steelworks will supply the cables [{n}]."]
    generator.choices = [(0.99, 0.01)]  # however sure the model is
    answer = _gated(pipeline, None).ask("Will Ironworks supply the cables?")
    assert answer.refused
    (failing,) = [v for v in answer.verdicts if not v.ok]
    assert failing.binding and failing.reason == "the question names Ironworks; no article does"


def test_a_name_only_the_page_furniture_gives_is_not_unknown(corpus, make_pipeline):
    # The page names its publication in an appeal line, which the cleaner leaves out of the index.
    harbor = corpus / "harbor.txt"
    harbor.write_text(harbor.read_text(encoding="utf-8") + "Subscribe to the Quayside Courier\n", encoding="utf-8")
    pipeline, generator = make_pipeline(corpus)
    assert not any("Courier" in c.text for c in pipeline.searcher.store.chunks)
    n = next(i for i, p in enumerate(pipeline.retrieve(COST_Q), 1) if "40 million" in p.chunk.text)
    generator.replies = [f"Construction is expected to cost 40 million euros [{n}]."] * 2
    generator.choices = [(0.99, 0.01)] * 2
    answer = _gated(pipeline, None).ask("How much does the bridge cost, according to the Quayside Courier?")
    assert not answer.refused and "40 million euros" in answer.text
    grounded = next(v for v in answer.verdicts if v.check == "grounded")
    assert "no article does" not in grounded.reason and not grounded.binding
    answer = _gated(pipeline, None).ask("How much does the bridge cost, according to the Quayside Herald?")
    assert answer.refused  # a name the files do not have at all is still unknown


def test_every_check_gives_a_verdict_and_the_model_reads_its_answer_back(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, ["Construction is expected to cost 40 million euros [1]."])
    generator.choices = [(0.8, 0.2)]
    answer = pipeline.ask("How much does the bridge cost?")
    assert [v.check for v in answer.verdicts] == [check.name for check in CHECKS]
    assert all(v.ok and v.reason for v in answer.verdicts) and answer.verified == 0.8
    (prompt,) = generator.choose_prompts
    assert "cost 40 million euros" in prompt[-1].content and "How much does the bridge cost?" in prompt[-1].content


def test_a_refusal_by_the_model_has_no_verdicts(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, [REFUSAL])
    answer = _gated(pipeline, None, quote=False).ask("How much does the bridge cost?")
    assert answer.refused and answer.verdicts == () and answer.verified is None and not generator.choose_prompts


def test_a_rejected_answer_is_followed_by_the_note_and_the_closest_sentence_quoted(corpus, make_pipeline):
    rejected = "The bridge has twelve golden towers [1]."  # no passage backs it: the support check
    pipeline, generator = make_pipeline(corpus, [rejected])
    stream = _gated(pipeline, None).stream("How much does the bridge cost?")
    shown = "".join(stream)
    answer = stream.answer()
    assert shown == rejected + QUOTE_NOTE + answer.text
    assert answer.quoted and not answer.refused and not answer.second_pass
    assert answer.passes == (rejected, answer.raw_text) and len(generator.prompts) == 1
    # Verbatim from the cited passage, with its citation.
    quote, cited = answer.text[1 : answer.text.index("\u201d")], answer.citations[0]
    assert answer.text == f"\u201c{quote}\u201d [{cited.n}]" and quote in cited.text


def test_a_refusal_by_the_model_is_not_quoted(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, [REFUSAL])
    stream = _gated(pipeline, None).stream("How much does the bridge cost?")
    assert "".join(stream) == REFUSAL and stream.answer().refused and not stream.answer().quoted


def test_a_rejection_for_a_neighbour_is_not_quoted(corpus, make_pipeline):
    # No article names a Zorblax: the grounding check rejects the answer, and a quote would not
    # name it either.
    pipeline, _ = make_pipeline(corpus, ["The bridge costs 40 million euros [1]."])
    answer = _gated(pipeline, None).ask("How much does the Zorblax bridge cost?")
    assert answer.refused and not answer.quoted and "grounded" in {v.check for v in answer.verdicts if not v.ok}


def test_a_quote_the_checks_reject_leaves_the_refusal(corpus, make_pipeline):
    # "How many" wants a figure beside the thing counted: the closest sentence has none.
    rejected = "The bridge has twelve golden towers [1]."
    pipeline, _ = make_pipeline(corpus, [rejected])
    stream = _gated(pipeline, None).stream("How many golden towers does the bridge have?")
    shown = "".join(stream)
    answer = stream.answer()
    assert shown == rejected and answer.refused and not answer.quoted and answer.passes == (rejected,)


def test_no_quote_when_the_fallback_is_off(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus, ["The bridge has twelve golden towers [1]."])
    answer = _gated(pipeline, None, quote=False).ask("How much does the bridge cost?")
    assert answer.refused and not answer.quoted


def test_a_quote_a_check_flags_is_not_offered(corpus, make_pipeline):
    # The cables passage does not name the museum: a flag alone does not refuse the model's
    # answer (test_a_flag_alone_does_not_refuse), but it does refuse a quote.
    rejected = "The bridge has twelve golden towers [1]."
    pipeline, _ = make_pipeline(corpus, [rejected])
    stream = _gated(pipeline, None).stream("Will the Museum supply the cables?")
    tried: list[tuple[int, str]] = []
    choose = stream._quote
    # Only the cables sentence, the closest: the fake read-back is sure of any verbatim quote.
    stream._quote = lambda: tried.extend(c for c in choose() if "cables" in c[1]) or tried
    shown = "".join(stream)
    answer = stream.answer()
    assert len(tried) == 1  # the cables sentence was the quote considered
    assert shown == rejected and answer.refused and not answer.quoted


def test_the_first_closest_sentence_every_check_passes_is_quoted(corpus, make_pipeline):
    rejected = "The bridge has twelve golden towers [1]."
    pipeline, _ = make_pipeline(corpus, [rejected])
    stream = _gated(pipeline, None).stream(COST_Q)
    n = next(i for i, p in enumerate(stream.passages, 1) if "40 million" in p.chunk.text)
    cables = "Dr. Anna Berg, the chief engineer, said the U.S. firm Steelworks will supply the cables."
    cost = "Construction is expected to cost 40 million euros, paid mostly by the regional government."
    stream._quote = lambda: [(n, cables), (n, cost)]  # the first states no amount: "how much" rejects it
    shown = "".join(stream)
    answer = stream.answer()
    assert answer.quoted and not answer.refused and shown == rejected + QUOTE_NOTE + answer.text
    assert cost in answer.text and cables not in answer.text
