"""The web UI's chat handler on fakes: streaming, cited sources, follow-ups, refusals, errors.

Most tests drive `ChatHandler.ask` directly (no server); the last ones start the Gradio app
on a free local port and call it through `gradio_client`, still on fakes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from chat import web
from chat.followup import build_messages, clean_rewrite, rewrite_question
from chat.prompt import REFUSAL
from chat.web import SEARCHING, ChatHandler, Turn, stopped
from index.errors import IndexCorruptError
from models.errors import ModelLoadError
from models.fakes import ScriptedGenerator
from models.generator import Generation, Message
from tests.conftest import ROOT, passage_number

COST = "How much does the bridge construction cost?"
# Answers must be supported by the passages (a sentence no passage supports is dropped).
PAID = "The construction is paid mostly by the regional government [1]."
WHO_PAYS = "Who pays for the bridge construction?"  # PAID answers it; it states no amount, as COST asks


def run(handler: ChatHandler, question: str, history=(), turns=()) -> list[tuple]:
    return list(handler.ask(question, list(history), list(turns)))


def cards(panel: str) -> list[int]:
    """The numbers of the source cards in a sources panel."""
    return [int(n) for n in re.findall(r'class="seedqa-source" id="seedqa-t\d+-s(\d+)"', panel)]


def test_streaming_shows_question_then_tokens_then_checked_answer(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    n = passage_number(pipeline, COST, "40 million euros")
    generator.replies = [f"It costs 40 million euros [{n}], paid by the region [{n}][5]."]
    outputs = run(ChatHandler(pipeline), COST)
    box, chat, panel, previous, details, turns = outputs[0]
    assert (box, chat, panel, previous, details, turns) == (
        "",
        [{"role": "user", "content": COST}],
        SEARCHING,
        "",
        {},
        [],
    )
    streamed = [o[1][-1]["content"] for o in outputs[1:-1]]
    assert len(streamed) > 5  # one update per token
    assert [len(s) for s in streamed] == sorted(len(s) for s in streamed)
    assert "[5]" in streamed[-1]  # the raw stream still names a passage that does not exist ...
    *_, (box, chat, panel, _, details, turns) = outputs
    assert details["answer"] == f"It costs 40 million euros [{n}], paid by the region [{n}]."  # ... the answer does not
    assert details["invalid_citations"] == [5]
    assert chat[-1]["content"].startswith(f'It costs 40 million euros <a class="seedqa-cite" href="#seedqa-t1-s{n}"')
    assert "[5]" not in chat[-1]["content"] and "Sources for" in panel
    assert turns == [Turn(COST, COST, details["answer"], panel)]


def test_sources_are_exactly_the_cited_passages_with_supporting_words_marked(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    n = passage_number(pipeline, COST, "40 million euros")
    generator.replies = [f"Building it costs 40 million euros [{n}]."]
    *_, (_, chat, panel, _, details, _) = run(ChatHandler(pipeline), COST)
    assert cards(panel) == [c["n"] for c in details["citations"]] == [n]
    assert (
        "<mark>Construction is expected to cost 40 million euros, paid mostly by the regional government.</mark>"
        in panel
    )
    assert panel.count("<mark>") == 1  # only the sentence that supports the claim
    assert "harbor.txt · May 4, 2018 · characters" in panel
    assert f'href="#seedqa-t1-s{n}"' in chat[-1]["content"] and f'id="seedqa-t1-s{n}"' in panel
    assert 'title="City approves new harbor bridge (harbor.txt): Construction is expected' in chat[-1]["content"]
    assert details["highlights"] == {
        str(n): ["Construction is expected to cost 40 million euros, paid mostly by the regional government."]
    }


def test_follow_up_is_rewritten_into_a_standalone_question_before_retrieval(corpus, make_pipeline):
    pipeline, generator = make_pipeline(
        corpus,
        ["It costs 40 million euros [1].", "Who pays for the harbor bridge construction?", PAID],
    )
    handler = ChatHandler(pipeline)
    *_, (_, chat, panel, _, _, turns) = run(handler, COST)
    assert len(generator.prompts) == 1  # a first question is searched as typed
    *_, (_, chat, panel2, previous, details, turns) = run(handler, "and who pays for it?", chat, turns)
    rewriting = generator.prompts[1][-1].content
    assert f"Question: {COST}\nAnswer: It costs 40 million euros." in rewriting  # markers dropped
    assert rewriting.endswith("Follow-up question: and who pays for it?")
    assert "Question: Who pays for the harbor bridge construction?\n" in generator.prompts[2][-1].content
    assert details["question"] == "Who pays for the harbor bridge construction?"
    assert details["asked"] == "and who pays for it?"
    note = chat[-2]
    assert note["metadata"]["title"] == "Searched for: Who pays for the harbor bridge construction?"
    assert previous == panel  # the previous turn's evidence stays in view
    assert [t.asked for t in turns] == [COST, "and who pays for it?"]
    assert cards(panel2) and "seedqa-t1" not in panel2 and 'id="seedqa-t2-s' in panel2


def test_cleared_chat_starts_a_new_conversation(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus, ["It costs 40 million euros [1]."])
    old = [Turn("q", "q", "a [1]", "<div>old</div>")]
    *_, (_, chat, _, previous, _, turns) = run(ChatHandler(pipeline), COST, history=[], turns=old)
    assert len(generator.prompts) == 1 and previous == "" and len(turns) == 1


def test_refusal_looks_like_a_refusal_with_no_sources(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    # A refusal as the UI shows it (the quoted fallback would answer from the fake passages).
    pipeline.answering = replace(pipeline.answering, quote_fallback=False)
    n = passage_number(pipeline, COST, "40 million euros")
    generator.replies = [f"It costs 40 million euros [{n}].", "The passages do not say [2]."]
    handler = ChatHandler(pipeline)
    *_, (_, chat, panel, _, _, turns) = run(handler, COST)
    *_, (_, chat, panel2, previous, details, _) = run(handler, "Who paints the bridge?", chat, turns)
    assert len(generator.prompts) == 2  # a standalone follow-up is searched as typed, without a rewrite
    assert details["refused"] and details["citations"] == []
    assert chat[-1]["content"].startswith(f'<div class="seedqa-refusal"><b>{REFUSAL}</b>')
    assert cards(panel2) == [] and "No sources" in panel2  # no stale cards from the first turn
    assert previous == panel and cards(previous) == [n]
    assert "seedqa-error" not in chat[-1]["content"] + panel2


class FailingGenerator(ScriptedGenerator):
    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = (), track: str | None = None
    ) -> Generation:
        raise ModelLoadError("could not load the model m.gguf: bad magic; set SEEDQA_GGUF to a GGUF file")


def test_errors_are_shown_with_what_to_do_and_the_next_question_works(corpus, make_pipeline, monkeypatch):
    pipeline, generator = make_pipeline(corpus)
    n = passage_number(pipeline, COST, "40 million euros")
    generator.replies = [f"It costs 40 million euros [{n}]."]
    handler = ChatHandler(pipeline)
    pipeline.generator = FailingGenerator()
    *_, (_, chat, panel, _, details, turns) = run(handler, COST)
    assert chat[-1]["content"] == panel
    assert panel.startswith('<div class="seedqa-error"><b>Could not answer:</b> could not load the model')
    assert "set SEEDQA_GGUF" in panel and details == {
        "error": str(ModelLoadError("could not load the model m.gguf: bad magic; set SEEDQA_GGUF to a GGUF file"))
    }
    assert turns == []

    def broken(*args, **kwargs):
        raise IndexCorruptError("the index at x is inconsistent; rebuild it with `seedqa index`")

    pipeline.generator = generator
    monkeypatch.setattr(pipeline.searcher, "search", broken)
    *_, (_, chat, panel, _, _, _) = run(handler, COST, chat)
    assert "rebuild it with `seedqa index`" in panel and "seedqa-error" in chat[-1]["content"]
    monkeypatch.undo()
    *_, (_, chat, panel, _, details, _) = run(handler, COST)
    assert details["answer"] == f"It costs 40 million euros [{n}]." and cards(panel) == [n]


@pytest.mark.parametrize(("question", "expected"), [("  ", "the question is empty"), ("why " * 400, "characters long")])
def test_unusable_questions_are_explained_without_calling_the_model(corpus, make_pipeline, question, expected):
    pipeline, generator = make_pipeline(corpus)
    *_, (_, chat, panel, _, details, _) = run(ChatHandler(pipeline), question)
    assert expected in panel and expected in details["error"] and "seedqa-error" in chat[-1]["content"]
    assert generator.prompts == []


def test_html_in_articles_questions_and_answers_is_shown_as_text(corpus, make_pipeline):
    (corpus / "evil.txt").write_text(
        "Evil <b>bold</b> news\n\nBy A Writer\n\nThe <script>alert(1)</script> tower costs "
        '<img src=x onerror=alert(2)> 9 million euros. It opened "today" & tomorrow.\n',
        encoding="utf-8",
    )
    pipeline, generator = make_pipeline(corpus)
    question = "What does the <b>tower</b> cost?"
    n = passage_number(pipeline, question, "tower costs")
    # (A figure the passage lacks would get the sentence dropped, so the answer's alert() reuses a 1.)
    generator.replies = [f'The tower costs <img src=y onerror=alert(1)> 9 million euros "today" [{n}].']
    outputs = run(ChatHandler(pipeline), question)
    for _, chat, panel, previous, _, _ in outputs:
        shown = panel + previous + "".join(m["content"] for m in chat)
        assert not re.search(r"<(?:script|img|b>)", shown), shown
    *_, (_, chat, panel, _, _, _) = outputs
    assert chat[0]["content"] == "What does the &lt;b&gt;tower&lt;/b&gt; cost?"
    assert "&lt;img src=y onerror=alert(1)&gt;" in chat[-1]["content"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel and "&quot;today&quot; &amp; tomorrow" in panel
    assert "Evil &lt;b&gt;bold&lt;/b&gt; news" in panel


class LockingGenerator(ScriptedGenerator):
    """Holds a lock while generating, like llama.cpp's adapter."""

    def __init__(self, replies: Sequence[str]) -> None:
        super().__init__(replies)
        self.lock = threading.Lock()

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = (), track: str | None = None
    ) -> Generation:
        generation = super().stream(messages, max_tokens=max_tokens, stop=stop, track=track)
        inner = iter(generation)

        def locked() -> Iterator[str]:
            with self.lock:
                yield from inner

        generation._pieces = locked()
        return generation


def test_stop_ends_generation_and_releases_the_model(corpus, make_pipeline):
    pipeline, _ = make_pipeline(corpus)
    pipeline.generator = generator = LockingGenerator(["It costs forty million euros, paid mostly by the region [1]."])
    handler = ChatHandler(pipeline)
    running = handler.ask(COST, [], [])
    for _ in range(4):  # the question, then three tokens
        _, chat, panel, *_ = next(running)
    assert generator.lock.locked()
    running.close()  # what Gradio does when the stop button cancels the event
    assert not generator.lock.locked()
    chat, panel = stopped(chat, panel)
    assert "Stopped before the answer was complete." in panel + chat[-1]["content"] and "Answering" not in panel
    *_, (_, _, _, _, details, _) = run(handler, COST)
    assert details["answer"].startswith("It costs forty million euros")


def test_stop_when_idle_changes_nothing():
    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert stopped(chat, "<div>Sources for: q</div>") == (chat, "<div>Sources for: q</div>")
    assert stopped([], SEARCHING)[1] == '<div class="seedqa-note">Stopped before the answer was complete.</div>'


def test_first_question_is_used_as_is_without_a_model_call():
    generator = ScriptedGenerator(["Something else?"])
    assert rewrite_question(generator, [], "  why did  Erdogan pivot? ") == "why did Erdogan pivot?"
    assert generator.prompts == []


def test_rewriting_prompt_holds_the_last_two_turns():
    history = [("first?", "one [1]."), ("second?", "two " * 200), ("third?", "three [2].")]
    messages = build_messages(history, "and then?")
    prompt = messages[-1].content
    assert "first?" not in prompt and "Question: second?" in prompt and "Answer: three." in prompt
    assert len(prompt) < 700  # a long answer is cut
    generator = ScriptedGenerator(["What did Russia do after the 2016 coup attempt?\nExtra line"])
    assert rewrite_question(generator, history, "and what did Russia do then?") == (
        "What did Russia do after the 2016 coup attempt?"
    )
    assert generator.prompts[0] == messages[:-1] + [
        Message("user", prompt.replace("and then?", "and what did Russia do then?"))
    ]


@pytest.mark.parametrize(
    ("question", "refers_back"),
    [
        ("and what did Russia do then?", True),
        ("What about Syria?", True),
        ("When was it signed?", True),
        ("How many died?", True),  # too short to stand alone
        ("What did Erdogan say about Brexit?", False),
        ("Which Libyan commander did Erdogan accuse Russia of backing?", False),
    ],
)
def test_only_questions_that_refer_back_are_rewritten(question, refers_back):
    generator = ScriptedGenerator(["Rewritten standalone question?"])
    rewritten = rewrite_question(generator, [("q?", "a.")], question)
    assert (rewritten == "Rewritten standalone question?") is refers_back
    assert len(generator.prompts) == int(refers_back)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('Standalone question: "Who pays for the bridge?"', "Who pays for the bridge?"),
        ("Who pays for the bridge [1]?", "Who pays for the bridge?"),
        ("", "and who pays?"),
        ("   \n  ", "and who pays?"),
        ("x" * 500, "and who pays?"),
    ],
)
def test_unusable_rewrites_fall_back_to_the_question(output, expected):
    assert clean_rewrite(output, "and who pays?") == expected


def test_example_questions_are_answerable_reference_questions():
    examples = web.EXAMPLES
    assert examples[0] == "why did Erdogan pivot after 2016?" and len(examples) == 4
    text = (ROOT / "evals" / "questions.jsonl").read_text(encoding="utf-8")
    assert all(f'"question": "{q}", "answerable": true' in text for q in examples)


# The Gradio app on fakes, through gradio_client.


class RecordingGenerator(ScriptedGenerator):
    """Records which thread asked what, to show that answers are produced one at a time."""

    def __init__(self) -> None:
        super().__init__([PAID])
        self.active = 0
        self.overlaps = 0

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = (), track: str | None = None
    ) -> Generation:
        generation = super().stream(messages, max_tokens=max_tokens, stop=stop, track=track)
        inner = iter(generation)

        def counted() -> Iterator[str]:
            self.active += 1
            self.overlaps += self.active > 1
            try:
                for piece in inner:
                    time.sleep(0.01)  # long enough for a second request to overlap if it could
                    yield piece
            finally:
                self.active -= 1

        generation._pieces = counted()
        return generation


@pytest.fixture
def server(corpus, make_pipeline):
    pytest.importorskip("gradio_client")
    pipeline, _ = make_pipeline(corpus)
    pipeline.generator = RecordingGenerator()
    demo = web.build_app(pipeline, examples=["How much does the bridge cost?"])
    url = web.launch(demo, port=0)
    yield demo, url, pipeline.generator
    demo.close()


QUIET_GRADIO = pytest.mark.filterwarnings("ignore:::gradio.queueing")  # pandas deprecations inside gradio


@QUIET_GRADIO
def test_app_serves_the_ask_route_locally_and_privately(server):
    from gradio_client import Client

    demo, url, _ = server
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
    assert demo.analytics_enabled is False and demo.share is False
    client = Client(url, verbose=False)
    assert "/ask" in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    box, chat, panel, previous, details = client.predict(WHO_PAYS, [], api_name="/ask")
    assert details["question"] == WHO_PAYS and details["answer"].startswith("The construction is paid mostly")
    assert cards(panel) == [c["n"] for c in details["citations"]] and cards(panel)
    assert chat[-1]["content"][0]["text"].startswith(
        'The construction is paid mostly by the regional government <a class="seedqa-cite"'
    )


@QUIET_GRADIO
def test_concurrent_clients_each_get_their_own_answer(server):
    from gradio_client import Client

    _, url, generator = server
    questions = [f"How much does the bridge cost, asks client {name}?" for name in ("one", "two", "three")]
    jobs = [Client(url, verbose=False).submit(q, [], api_name="/ask") for q in questions]
    answers = [job.result(timeout=60)[4] for job in jobs]
    assert [a["asked"] for a in answers] == questions and all(a["answer"] == answers[0]["answer"] for a in answers)
    assert answers[0]["citations"] and generator.overlaps == 0  # queued, one answer at a time


def test_serve_loads_once_prints_the_address_and_serves(corpus, make_pipeline, monkeypatch, capsys):
    from gradio import Blocks

    import chat.app
    from chat.settings import Settings

    pipeline, generator = make_pipeline(corpus, ["Ready."])
    monkeypatch.setattr(chat.app, "build_pipeline", lambda settings, **kwargs: pipeline)
    monkeypatch.setattr(Blocks, "block_thread", lambda self: self.close())
    messages: list[str] = []
    web.serve(Settings.load(corpus=str(corpus)), host="127.0.0.1", port=0, notify=messages.append)
    assert re.fullmatch(r"loaded the index and models in \d+\.\d s", messages[-1])
    assert re.search(r"running on http://127\.0\.0\.1:\d+/", capsys.readouterr().out)
    # The prompt prefix is primed by the generator itself (chat/app.py), not by a generation.
    assert generator.prompts == []


def test_a_busy_port_is_reported_before_the_models_load(monkeypatch):
    import socket

    import chat.app
    from chat.errors import ChatError
    from chat.settings import Settings

    monkeypatch.setattr(chat.app, "build_pipeline", lambda *args, **kwargs: pytest.fail("models loaded"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ChatError, match=f"cannot listen on 127.0.0.1:{port}.*--port 0"):
            web.serve(Settings.load(), host="127.0.0.1", port=port, notify=print)


def _checked_answer(sentence_quote: str | None):
    from chat.types import Answer, Citation, SentenceSupport, Timings, Tokens
    from index.types import Chunk, Passage

    text = "The bridge opened in May. It cost\u00a040 million euros. The mayor praised it."
    chunk = Chunk("a.txt:100-171", "a.txt", "Bridge", None, 100, 171, text.replace("\u00a0", " "))
    passage = Passage(chunk, 1, 0.03, 0.6, 2.0)
    said = "The mayor praised the 40 million euro bridge [1]."
    support = SentenceSupport(said, (1,), 1, 1.0, "a.txt", 126, 151, sentence_quote, True)
    citation = Citation(1, "a.txt", "Bridge", chunk.id, 100, 171, chunk.text)
    return Answer("What did the bridge cost?", said, (citation,), False, (passage,), Timings(0, 0, 0), Tokens(0, 0),
                  sentences=(support,))  # fmt: skip


def test_marks_are_the_words_the_support_check_quoted():
    # Word overlap ties between the cost sentence ("40", "million") and the mayor's ("mayor",
    # "praised") and marks both; the support check quoted the cost sentence only (with the
    # non-breaking space of the source file), and the marks follow it.
    (source,) = web.checked_sources(_checked_answer("It cost\u00a040 million euros."))
    text = source.passage.chunk.text
    assert [text[a:b] for a, b in source.support] == ["It cost 40 million euros."]
    # A quote that cannot be placed in the passage text marks nothing: the web UI computes no
    # support of its own (issue 16), so it never marks words the support check did not quote.
    (unplaced,) = web.checked_sources(_checked_answer("Words that are not in the passage."))
    assert unplaced.support == ()
    assert "<mark>" not in web.source_card(unplaced, turn=1)


def test_while_the_answer_streams_the_cited_passages_are_shown_unmarked():
    # Nothing is checked before the stream ends, so nothing is marked; numbers naming no
    # passage are left out.
    answer = _checked_answer("It cost 40 million euros.")
    live = web.cited_passages(answer.passages, [1, 5, 1])
    assert [(s.n, s.support) for s in live] == [(1, ())]


def test_a_two_sentence_quote_across_a_line_break_is_marked_whole():
    (source,) = web.checked_sources(_checked_answer("It cost 40 million euros.\nThe mayor praised it."))
    text = source.passage.chunk.text
    assert [text[a:b] for a, b in source.support] == ["It cost 40 million euros. The mayor praised it."]


def test_a_rejected_answer_is_followed_by_the_note_then_replaced_by_the_checked_second_answer(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    n = passage_number(pipeline, COST, "40 million euros")
    generator.replies = [f"The bridge has twelve golden towers [{n}].", f"It costs 40 million euros [{n}]."]
    outputs = run(ChatHandler(pipeline), COST)
    streamed = [o[1][-1]["content"] for o in outputs[1:-1]]
    assert any("twelve golden towers" in s and "asking the model again" in s for s in streamed)
    *_, (_, chat, panel, _, details, _) = outputs
    assert details["second_pass"] and details["answer"] == f"It costs 40 million euros [{n}]."
    assert "golden" not in chat[-1]["content"] and "asking the model again" not in chat[-1]["content"]
    assert cards(panel) == [n]


def test_a_refusal_by_a_check_says_why(corpus, make_pipeline):
    pipeline, generator = make_pipeline(corpus)
    n = passage_number(pipeline, COST, "40 million euros")
    generator.replies = [f"Ironworks pays 40 million euros [{n}]."]
    *_, (_, chat, _, _, details, _) = run(ChatHandler(pipeline), "How much does Ironworks pay for the bridge?")
    assert details["refused"]
    assert "Why: the question names Ironworks; no article does." in chat[-1]["content"]
