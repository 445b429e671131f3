"""Plumbing of the model-server backend (models/openai_server.py) against a tiny fake server.

What is sent, what is read back, and the one-line errors. Whether a real server gives the
same answers as the in-process model is tests/test_server_backend.py's question.
"""

from __future__ import annotations

import math
import socket
import threading

import pytest

from chat.app import build_generator, web_concurrency
from chat.errors import SettingsError
from chat.settings import Settings, describe
from chat.web import ChatHandler, build_app
from models.errors import ServerReplyError, ServerTimeoutError, ServerUnreachableError
from models.generator import Message
from models.openai_server import OpenAIGenerator, normalize_url
from tests.fake_server import FakeServer, pieces

REFUSAL = "The articles do not say."
ASK = [Message("system", "Answer from the passages."), Message("user", "How much does the bridge cost?")]


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def generator(server: FakeServer, **options) -> OpenAIGenerator:
    return OpenAIGenerator(server.url, **({"timeout": 5.0} | options))


def test_a_stream_sends_the_in_process_sampling_and_reads_the_servers_usage(server):
    gen = generator(server, seed=7)
    generation = gen.stream(ASK, max_tokens=50, stop=("\n\n",))
    assert list(generation) == ["The", " bridge", " costs", " 40", " million", " euros", " [1]."]
    (body,) = server.completions()
    assert body["messages"] == [{"role": m.role, "content": m.content} for m in ASK]
    assert body["model"] == "tiny"  # the one model the server lists
    assert (body["temperature"], body["seed"], body["max_tokens"], body["stop"], body["stream"]) == (
        0.0, 7, 50, ["\n\n"], True,
    )  # fmt: skip
    # llama.cpp's servers default to a repetition penalty of 1.1, which changes greedy output.
    assert (body["top_k"], body["repeat_penalty"], body["repetition_penalty"]) == (1, 1.0, 1.0)
    assert body["stream_options"] == {"include_usage": True} and "logprobs" not in body
    assert (generation.prompt_tokens, generation.completion_tokens) == (123, 7)
    assert generation.track_logprob is None  # nothing tracked


def test_without_usage_data_the_pieces_are_counted_and_the_prompt_estimated(server):
    server.usage = False
    generation = generator(server).stream(ASK, max_tokens=50)
    assert "".join(generation) == "The bridge costs 40 million euros [1]."
    assert generation.completion_tokens == 7
    estimate = sum(math.ceil(len(m.content) / 3) + 4 for m in ASK)  # ~4 characters a token, counted as 3
    assert generation.prompt_tokens == estimate


def test_the_refusal_probability_is_read_back_for_the_tokens_that_follow_it(server):
    # The output starts "The", then departs: log P("The") + log P(" articles") at step two.
    script = [("The", -0.1, {"A": -2.5}), (" bridge", -0.3, {" articles": -1.2}), (" costs", -0.01, {})]
    server.reply = lambda body: script
    generation = generator(server).stream(ASK, max_tokens=50, track=REFUSAL)
    assert "".join(generation) == "The bridge costs"
    assert generation.track_logprob == pytest.approx(-0.1 - 1.2)
    main, track = server.completions()
    assert "logprobs" not in main  # the answer streams without them
    assert track["logprobs"] is True and track["top_logprobs"] == 20
    assert track["max_tokens"] == 3  # the two tokens it takes to depart, and one to spare
    assert track["messages"] == main["messages"]


def test_a_refusal_that_is_the_output_is_tracked_to_its_end(server):
    server.reply = lambda body: pieces(REFUSAL, logprob=-0.05)
    generation = generator(server).stream(ASK, max_tokens=50, track=REFUSAL)
    assert "".join(generation) == REFUSAL
    assert generation.track_logprob == pytest.approx(-0.05 * 5)  # five tokens: "The" ... " say."


def test_a_refusal_token_the_server_does_not_list_counts_as_the_least_likely_listed(server):
    server.reply = lambda body: [("Ukrainian", -0.2, {"Turkey": -3.0}), (" President", -0.1, {})]
    generation = generator(server).stream(ASK, max_tokens=50, track=REFUSAL)
    list(generation)
    assert generation.track_logprob == pytest.approx(-3.0)  # an upper bound of log P("The")


def test_choose_weighs_each_options_first_tokens(server):
    server.reply = lambda body: [("yes", -0.2, {"no": -1.8, "Yes": -3.0, " maybe": -4.0})]
    yes, no = generator(server).choose(ASK, ("yes", "no"))
    expected = (math.exp(-0.2) + math.exp(-3.0)) / (math.exp(-0.2) + math.exp(-3.0) + math.exp(-1.8))
    assert yes == pytest.approx(expected) and no == pytest.approx(1 - expected)
    (body,) = server.completions()
    assert body["max_tokens"] == 1 and body["logprobs"] is True


def test_a_server_without_logprobs_gives_no_refusal_probability_and_even_choices(server):
    server.logprobs = False
    generation = generator(server).stream(ASK, max_tokens=50, track=REFUSAL)
    list(generation)
    assert generation.track_logprob is None
    assert generator(server).choose(ASK, ("yes", "no")) == (0.5, 0.5)  # "no information"


def test_a_refused_optional_field_is_dropped_once_and_for_good(server):
    server.refuse = ("top_k", "logprobs")  # a hosted API refuses llama.cpp's sampling fields
    gen = generator(server)
    assert "".join(gen.stream(ASK, max_tokens=50)) == "The bridge costs 40 million euros [1]."
    assert gen.choose(ASK, ("yes", "no")) == (0.5, 0.5)
    "".join(gen.stream(ASK, max_tokens=50))
    sent = server.completions()
    assert ["top_k" in b for b in sent] == [True, False, False, False]
    assert ["logprobs" in b for b in sent] == [False, False, True, False]


def test_a_server_that_is_down_says_what_to_do():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gen = OpenAIGenerator(f"http://127.0.0.1:{port}/v1", model="tiny")
    with pytest.raises(ServerUnreachableError) as caught:
        list(gen.stream(ASK, max_tokens=5))
    assert str(caught.value) == f"cannot reach http://127.0.0.1:{port}/v1: start the server or unset SEEDQA_LLM_URL"


def test_a_server_cut_off_mid_answer_gives_one_line(server):
    server.cut_after = 3
    pieces_seen: list[str] = []
    with pytest.raises(ServerUnreachableError, match="closed the connection before the answer was complete") as caught:
        pieces_seen.extend(generator(server).stream(ASK, max_tokens=50))
    assert "\n" not in str(caught.value) and "SEEDQA_LLM_URL" in str(caught.value)
    server.cut_after, server.finish = None, False  # a stream that ends without saying why
    with pytest.raises(ServerUnreachableError, match="before the answer was complete"):
        list(generator(server).stream(ASK, max_tokens=50))


def test_a_stalled_server_times_out(server):
    server.stall_s = 1.5
    with pytest.raises(ServerTimeoutError, match=r"sent nothing for 0.5 s; .* SEEDQA_LLM_TIMEOUT"):
        list(generator(server, timeout=0.5).stream(ASK, max_tokens=5))


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (
            (401, {"error": {"message": "Invalid API key sk-secret-1"}}),
            "refused the request (401: Invalid API key ***)",
        ),
        ((404, {"error": {"message": "model 'big' not found"}}), "answered 404 (model 'big' not found); check the URL"),
        ((500, {"detail": "Requested tokens (5000) exceed\ncontext window of 4096"}), "answered 500: Requested tokens"),
    ],
)
def test_an_error_answer_is_one_line_without_the_key(server, status, words):
    server.status = status
    gen = generator(server, model="big", api_key="sk-secret-1")
    with pytest.raises(ServerReplyError) as caught:
        list(gen.stream(ASK, max_tokens=5))
    message = str(caught.value)
    assert words in message and "\n" not in message and "sk-secret-1" not in message
    assert server.requests[-1]["_authorization"] == "Bearer sk-secret-1"  # sent, never shown
    assert "sk-secret" not in repr(gen) and "sk-secret" not in gen.model_id


def test_the_model_is_named_by_the_server_or_must_be_chosen(server):
    assert generator(server).model_id == f"openai:{server.url}:tiny"
    server.models = [{"id": "a", "object": "model"}, {"id": "b", "object": "model"}]
    with pytest.raises(ServerReplyError, match=r"lists 2 models \(a, b\); name one with --llm-model"):
        generator(server).count_tokens("warm up")  # the warm-up call finds out
    assert generator(server, model="b").model_id.endswith(":b")


def test_the_context_size_is_the_servers_where_it_says(server):
    assert generator(server, n_ctx=4096).n_ctx == 4096  # llama_cpp.server does not say
    server.models = [{"id": "tiny", "object": "model", "max_model_len": 32768}]  # vLLM does
    assert generator(server, n_ctx=4096).n_ctx == 32768


def test_closing_a_generation_early_lets_the_next_one_run(server):
    server.delay_s = 0.05
    gen = generator(server)
    generation = gen.stream(ASK, max_tokens=50)
    assert next(iter(generation)) == "The"
    generation.close()
    server.delay_s = 0.0
    assert "".join(gen.stream(ASK, max_tokens=50)).endswith("[1].")


def test_urls_are_the_api_base():
    assert normalize_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert normalize_url("http://localhost:11434/v1/") == "http://localhost:11434/v1"
    assert normalize_url("https://api.example.com/openai/v1") == "https://api.example.com/openai/v1"
    with pytest.raises(ValueError):
        normalize_url("127.0.0.1:8080")


# Settings and the one place that builds the backend.


def test_settings_take_the_server_from_flags_or_the_environment_and_the_key_from_the_environment_only(monkeypatch):
    monkeypatch.setenv("SEEDQA_LLM_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SEEDQA_LLM_API_KEY", "sk-secret-2")
    monkeypatch.setenv("SEEDQA_LLM_TIMEOUT", "30")
    settings = Settings.load(llm_url="http://127.0.0.1:8080", llm_model="qwen", llm_api_key="from-a-flag")
    config = settings.generator
    assert (config.url, config.model, config.api_key, config.timeout) == (
        "http://127.0.0.1:8080/v1", "qwen", "sk-secret-2", 30.0,
    )  # fmt: skip
    assert config.backend == "server"
    assert "sk-secret-2" not in repr(settings) and describe(settings)["generator.api_key"] == "***"
    built = build_generator(settings)
    assert isinstance(built, OpenAIGenerator) and built.url == "http://127.0.0.1:8080/v1"
    monkeypatch.setenv("SEEDQA_LLM_URL", "127.0.0.1:8080")
    with pytest.raises(SettingsError, match=r"SEEDQA_LLM_URL='127.0.0.1:8080' is not a valid http:// or https:// URL"):
        Settings.load()


def test_the_web_ui_answers_side_by_side_only_with_a_server(monkeypatch):
    monkeypatch.delenv("SEEDQA_LLM_URL", raising=False)
    monkeypatch.setenv("SEEDQA_WEB_CONCURRENCY", "8")
    assert web_concurrency(Settings.load()) == 1  # one llama.cpp context: answers take turns
    assert web_concurrency(Settings.load(llm_url="http://127.0.0.1:8080")) == 8
    monkeypatch.delenv("SEEDQA_WEB_CONCURRENCY")
    assert web_concurrency(Settings.load(llm_url="http://127.0.0.1:8080")) == 4


def test_the_asking_events_share_one_queue_of_the_configured_slots(make_pipeline, corpus):
    pipeline, _ = make_pipeline(corpus)
    demo = build_app(pipeline, examples=[], concurrency=4)
    asking = [fn for fn in demo.fns.values() if fn.concurrency_id == "llm"]
    assert len(asking) == 2 and {fn.concurrency_limit for fn in asking} == {4}  # typed and example questions


# The whole pipeline through the server backend.


def test_concurrent_web_sessions_each_get_their_own_answer(make_pipeline, corpus, server):
    """Eight sessions at once through the web handler: every answer is its own question's."""
    pipeline, _ = make_pipeline(corpus)
    server.delay_s = 0.01  # long enough for the streams to interleave

    def reply(body):
        question = body["messages"][-1]["content"].rsplit("Question:", 1)[-1].strip().splitlines()[0]
        return pieces(f"Asked {question} The bridge will cost 40 million euros [1].")

    server.reply = reply
    pipeline.generator = generator(server)
    questions = [f"How much does bridge number {i} cost?" for i in range(8)]
    answers: dict[str, str] = {}

    def session(question: str) -> None:
        *_, last = ChatHandler(pipeline).ask(question, [], [])
        answers[question] = last[4].get("raw_answer") or last[4].get("error", "")  # the model's own words

    threads = [threading.Thread(target=session, args=(q,)) for q in questions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(answers) == set(questions)
    for question, answer in answers.items():
        assert answer.startswith(f"Asked {question} "), (question, answer)


def test_a_server_that_goes_down_shows_in_the_chat_and_the_next_question_is_answered(make_pipeline, corpus, server):
    pipeline, _ = make_pipeline(corpus)
    pipeline.generator = generator(server)
    server.cut_after = 2
    *_, failed = ChatHandler(pipeline).ask("How much does the bridge cost?", [], [])
    assert "closed the connection before the answer was complete" in failed[4]["error"]
    server.cut_after = None
    *_, answered = ChatHandler(pipeline).ask("How much does the bridge cost?", [], [])
    assert not answered[4].get("error") and answered[5], answered[4]


@pytest.mark.filterwarnings("ignore:::gradio.queueing")
def test_the_concurrency_benchmark_runs_on_fakes(tmp_path):
    """benchmarks/concurrent.py end to end on fakes (gradio_client web clients): no answer lost or mixed up."""
    pytest.importorskip("gradio_client")
    from benchmarks.concurrent import Options, run

    report = run(Options(clients=(3,), backends=("server",), fake=True, workdir=tmp_path, out=tmp_path))
    assert report.data["server"]["web_concurrency"] == 4
    assert report.value("server, 3 clients: lost / mixed up") == "0 / 0"
