"""The model-server backend against a real server: llama-cpp-python's own OpenAI-compatible
server (`python -m llama_cpp.server`) with the same GGUF, started and stopped here.

At temperature 0 the answers through the server should be the in-process answers; the
checks read the model's own probabilities through the server's logprobs. A server killed
mid-answer gives the one-line error. Marker `real`; needs `llama-cpp-python[server]`'s
packages (the `test` extra).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.llama_server import LlamaServer, start, stop
from chat.app import build_generator
from chat.ask import Pipeline
from chat.types import Answer
from index.text import canonical
from models.errors import ServerUnreachableError
from models.llama import default_threads
from tests.conftest import ROOT
from tests.test_real_models import SHOWCASE, WEST_FAILED, contains_any

pytestmark = pytest.mark.real

# A slice of the reference set (evals/questions.jsonl): a count, a date, a name the model
# finds on its second pass, a company, an analytical question, and one the articles do not answer.
REFERENCE_IDS = ("q04", "q23", "q52", "q10", "x3", "u01")


def start_server(settings, log: Path) -> LlamaServer:  # type: ignore[no-untyped-def]
    """llama_cpp.server with the GGUF, context size, batch and thread count of the in-process model."""
    from models.gguf import resolve_gguf

    config = settings.generator
    return start(
        resolve_gguf(config.gguf, settings.data_dir), log, n_ctx=config.n_ctx,
        threads=config.n_threads or default_threads(), n_batch=config.n_batch, seed=config.seed,
    )  # fmt: skip


@pytest.fixture(scope="module")
def llama_server(real_settings, tmp_path_factory) -> Iterator[LlamaServer]:
    settings, _ = real_settings
    server = start_server(settings, tmp_path_factory.mktemp("llama-server") / "server.log")
    try:
        yield server
    finally:
        stop(server)


def served(settings, url: str, searcher) -> Pipeline:  # type: ignore[no-untyped-def]
    """The pipeline with the model behind the server at `url`, everything else as in-process."""
    settings = replace(settings, generator=replace(settings.generator, url=url))
    return Pipeline(searcher, build_generator(settings), retrieval=settings.retrieval, answering=settings.answering)


def reference_questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "evals" / "questions.jsonl").read_text().splitlines() if line.strip()]
    by_id = {row["id"]: row["question"] for row in rows}
    return [SHOWCASE, *(by_id[i] for i in REFERENCE_IDS)]


def _gguf(settings) -> str:  # type: ignore[no-untyped-def]
    from models.gguf import resolve_gguf

    return str(resolve_gguf(settings.generator.gguf, settings.data_dir))  # llama_cpp.server names it by its path


def _traceable(answer: Answer) -> bool:
    """Every citation's words are the source file's words at its offsets."""
    for citation in answer.citations:
        original = (ROOT / "seeds" / citation.source).read_text(encoding="utf-8")
        if canonical(original[citation.start : citation.end]) != canonical(citation.text):
            return False
    return True


def test_answers_through_the_server_match_the_in_process_answers(
    real_settings, real_searcher, real_pipeline, llama_server
):
    settings, _ = real_settings
    server = served(settings, llama_server.url, real_searcher)
    # The eval report's run info names the backend, the URL and the model behind it.
    assert server.generator.model_id == f"openai:{llama_server.url}:{_gguf(settings)}"
    questions = reference_questions()
    started = time.perf_counter()
    local = [real_pipeline.ask(q) for q in questions]
    local_s = time.perf_counter() - started
    remote = [server.ask(q) for q in questions]
    remote_s = time.perf_counter() - started - local_s
    same = [a.text == b.text and a.refused == b.refused for a, b in zip(local, remote, strict=True)]
    lines = [
        f"{'same' if s else 'DIFF'}  {q[:60]!r}\n      in-process: {a.text[:160]!r}\n      server:     {b.text[:160]!r}"
        for q, a, b, s in zip(questions, local, remote, same, strict=True)
    ]
    report = (
        f"{sum(same)} of {len(same)} answers match (in-process {local_s:.0f} s, server {remote_s:.0f} s)\n"
        + "\n".join(lines)
    )
    print("\n" + report)
    assert sum(same) >= 5, report
    for question, a, b, s in zip(questions, local, remote, same, strict=True):
        # The same pipeline ran: the same kind, the checks' verdicts in the same order, citations
        # that trace to the exact words, and the model's own probabilities read through the server.
        assert b.kind == a.kind and _traceable(b), (question, b.text)
        assert b.refusal_logprob is not None and b.refusal_logprob <= 0.0, question
        if s:
            assert [v.check for v in b.verdicts] == [v.check for v in a.verdicts], question
            assert a.refusal_logprob is not None
            assert abs(b.refusal_logprob - a.refusal_logprob) < 0.5, (question, a.refusal_logprob, b.refusal_logprob)
            if a.verified is not None:
                assert b.verified is not None and abs(b.verified - a.verified) < 0.1, (question, a.verified, b.verified)
    showcase = remote[0]
    assert not showcase.refused and any(contains_any(c.text, WEST_FAILED) for c in showcase.citations), showcase.text


def test_a_server_killed_mid_answer_gives_the_one_line_error(real_settings, real_searcher, tmp_path):
    settings, _ = real_settings
    server = start_server(settings, tmp_path / "server.log")
    try:
        pipeline = served(settings, server.url, real_searcher)
        stream = pipeline.stream(SHOWCASE)
        pieces = iter(stream)
        first = next(pieces)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        with pytest.raises(ServerUnreachableError) as caught:
            for _ in pieces:
                pass
        message = str(caught.value)
        assert message == (
            f"the model server at {server.url} closed the connection before the answer was complete; "
            "check that it is still running, or unset SEEDQA_LLM_URL"
        ), (first, message)
        # The next question finds nothing listening, and says what to do.
        with pytest.raises(ServerUnreachableError) as again:
            list(pipeline.stream("How many Turkish soldiers died in the February-March fighting in Idlib?"))
        assert str(again.value) == f"cannot reach {server.url}: start the server or unset SEEDQA_LLM_URL"
    finally:
        stop(server)


def test_a_client_that_leaves_mid_answer_does_not_stop_the_server(real_settings, real_searcher, llama_server):
    # A user who presses Stop or closes the page closes that answer's connection; the server
    # drops that generation and answers the next question in full.
    pipeline = served(real_settings[0], llama_server.url, real_searcher)
    stream = pipeline.stream(SHOWCASE)
    pieces = iter(stream)
    first = next(pieces)
    stream.close()  # the client leaves after its first token
    assert llama_server.process.poll() is None, first
    answer = pipeline.ask(SHOWCASE)
    assert not answer.refused and any(contains_any(c.text, WEST_FAILED) for c in answer.citations), answer.text
