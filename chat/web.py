"""The chat web UI: streamed answers, the sources each answer cites, follow-up questions.

`ChatHandler.ask` is the whole conversation logic as a plain generator (testable without a
server); `build_app(pipeline)` wires it into `gr.Blocks` under the API route "ask";
`serve(settings, ...)` loads the index and models once and serves on a local address.
Everything put into HTML is escaped here: articles and answers show as text, never as markup.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html import escape  # quotes too: safe inside attributes
from typing import TYPE_CHECKING, Any

from chat.ask import AnswerStream, Pipeline
from chat.citations import cited_numbers
from chat.errors import EXPECTED, ChatError
from chat.followup import rewrite_question
from chat.serialize import answer_to_dict
from chat.types import Answer
from index.text import normalize, printable
from index.types import Passage

if TYPE_CHECKING:
    import gradio as gr

    from chat.settings import Settings

API_NAME = "ask"  # gradio_client: Client(url).predict(question, [], api_name="/ask")
# Answerable questions about the seed articles worth a click (from the reference set).
EXAMPLES = (
    "why did Erdogan pivot after 2016?",
    "How did Putin respond to the failed 2016 coup attempt in Turkey?",
    "Which Libyan commander did Erdogan accuse Russia of backing?",
    "When did the TurkStream pipeline begin commercial gas deliveries?",
)
_CITE = re.compile(r"\[(\d+)\]")

# One output tuple per update: (question box, chat, sources, previous sources, details, turns).
Outputs = tuple[str, list[dict[str, Any]], str, str, dict[str, Any], list["Turn"]]


@dataclass(frozen=True, slots=True)
class Turn:
    """A completed exchange, kept per browser session for follow-ups and the previous sources."""

    asked: str  # what the person typed
    searched: str  # the standalone question retrieval used
    answer: str  # the checked answer text
    sources_html: str  # the source cards shown for it


@dataclass(frozen=True, slots=True)
class CitedSource:
    """A cited passage and the spans of its sentences that support the answer."""

    n: int
    passage: Passage
    support: tuple[tuple[int, int], ...]  # offsets into passage.chunk.text


def anchor(turn: int, n: int) -> str:
    return f"seedqa-t{turn}-s{n}"


def cited_passages(passages: Sequence[Passage], numbers: Sequence[int]) -> list[CitedSource]:
    """The passages named by `numbers`, unmarked: while the answer streams nothing is checked yet."""
    return [CitedSource(n, passages[n - 1], ()) for n in sorted(set(numbers)) if 1 <= n <= len(passages)]


def checked_sources(answer: Answer) -> list[CitedSource]:
    """The cited passages of a checked answer, marked where the support check found each
    sentence's support (`Answer.sentences`, the same words the CLI and JSON quote). The web UI
    computes no support of its own: a passage that supports no kept sentence by itself (a second
    citation of one), or whose quote cannot be placed in its text, is shown unmarked."""
    out = []
    for source in cited_passages(answer.passages, [c.n for c in answer.citations]):
        text = source.passage.chunk.text
        quotes = [s.quote for s in answer.sentences if s.supported and s.passage == source.n and s.quote]
        spans: list[tuple[int, int]] = []
        for quote in dict.fromkeys(normalize(q) for q in quotes):
            # The passage text is the source's text normalized with its line breaks kept.
            found = re.search(r"\s+".join(map(re.escape, quote.split())), text)
            if found is not None:
                spans.append(found.span())
        out.append(CitedSource(source.n, source.passage, _merged(spans)))
    return out


def _merged(spans: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted spans with overlapping ones joined, so marks never nest."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def marked_passage(source: CitedSource) -> str:
    text = source.passage.chunk.text
    parts, cursor = [], 0
    for start, end in source.support:
        parts += [escape(text[cursor:start]), f"<mark>{escape(text[start:end])}</mark>"]
        cursor = end
    return "".join(parts) + escape(text[cursor:])


def _hover(source: CitedSource) -> str:
    chunk = source.passage.chunk
    quote = " ".join(chunk.text[s:e] for s, e in source.support) or chunk.text
    quote = " ".join(quote.split())
    return f"{chunk.title} ({printable(chunk.source)}): {quote[:240]}{'...' if len(quote) > 240 else ''}"


def source_card(source: CitedSource, turn: int) -> str:
    chunk = source.passage.chunk
    meta = [printable(chunk.source)] + ([chunk.date] if chunk.date else []) + [f"characters {chunk.start}-{chunk.end}"]
    if source.passage.also_in:  # syndicated copies of the same words, shown once
        meta.append("also in: " + ", ".join(printable(s) for s in source.passage.also_in))
    return (
        f'<div class="seedqa-source" id="{anchor(turn, source.n)}">'
        f'<div class="seedqa-source-title"><span class="seedqa-n">[{source.n}]</span> {escape(chunk.title)}</div>'
        f'<div class="seedqa-source-meta">{" · ".join(escape(m) for m in meta)}</div>'
        f'<div class="seedqa-passage">{marked_passage(source)}</div></div>'
    )


def sources_html(searched: str, sources: Sequence[CitedSource], turn: int, *, final: bool = True) -> str:
    # The browser test waits for "Sources for"; the stop button replaces a pending header.
    label, pending = ("Sources for", "") if final else ("Answering", " seedqa-pending")
    head = f'<div class="seedqa-searched{pending}">{label}: <q>{escape(searched)}</q></div>'
    if not sources:
        note = "The answer cites no passage; treat it with care." if final else "No passage cited yet."
        return head + f'<div class="seedqa-note">{note}</div>'
    return head + "".join(source_card(s, turn) for s in sources)


def answer_html(text: str, sources: Sequence[CitedSource], turn: int) -> str:
    """The answer as escaped text; each valid [n] links to its source card (hover shows it)."""
    by_n = {s.n: s for s in sources}

    def link(match: re.Match[str]) -> str:
        source = by_n.get(int(match.group(1)))
        if source is None:
            return match.group()
        target, hover = anchor(turn, source.n), escape(_hover(source))
        return f'<a class="seedqa-cite" href="#{target}" title="{hover}">[{source.n}]</a>'

    parts, cursor = [], 0
    for match in _CITE.finditer(text):
        parts += [escape(text[cursor : match.start()]), link(match)]
        cursor = match.end()
    return ("".join(parts) + escape(text[cursor:])).replace("\n", "<br>")


def _message(role: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


SEARCHING = '<div class="seedqa-searched seedqa-pending">Searching the articles...</div>'
_PENDING = re.compile(r'<div class="seedqa-searched seedqa-pending">.*?</div>', re.DOTALL)


def stopped(chat: list[dict[str, Any]], panel: str) -> tuple[list[dict[str, Any]], str]:
    """After the stop button: say the answer is incomplete (nothing changes if none was running)."""
    if not _PENDING.search(panel):
        return chat, panel
    note = '<div class="seedqa-note">Stopped before the answer was complete.</div>'
    return [*chat, _message("assistant", note)], _PENDING.sub(note, panel, count=1)


def refusal_html(text: str, why: str = "") -> str:
    """The refusal, and why when a check made it (its verdict's reason), so it can be argued with."""
    reason = f"<small>Why: {escape(why)}.</small><br>" if why else ""
    return (
        f'<div class="seedqa-refusal"><b>{escape(text)}</b><br>{reason}'
        "<small>No passage in the articles answers this, so no sources are shown. "
        "Try rephrasing, or ask about something the articles cover.</small></div>"
    )


def error_html(error: Exception) -> str:
    return f'<div class="seedqa-error"><b>Could not answer:</b> {escape(str(error))}</div>'


def _stop(stream: AnswerStream) -> None:
    """Close the stream; this ends the model's generation and frees the model at once."""
    stream.close()


class ChatHandler:
    """One conversation step: rewrite a follow-up, retrieve, stream, show the cited sources."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def ask(self, question: str, history: list[dict[str, Any]], turns: list[Turn]) -> Iterator[Outputs]:
        """Yield the UI outputs after each step: user message, each token, final answer."""
        if not history:  # a cleared chat (or a fresh API call) starts a new conversation
            turns = []
        asked = " ".join((question or "").split())
        turn = len(turns) + 1
        previous = turns[-1].sources_html if turns else ""
        # Shown escaped: a lone surrogate (bytes that are not UTF-8) cannot go out as JSON.
        chat = [*history, _message("user", escape(printable(asked)))] if asked else list(history)
        yield "", chat, SEARCHING, previous, {}, turns
        stream = None
        try:
            searched = self.pipeline.check_question(asked)
            if turns:
                searched = rewrite_question(self.pipeline.generator, [(t.searched, t.answer) for t in turns], asked)
                if searched != asked:  # a small collapsible note: what was actually searched
                    note = {"title": f"Searched for: {escape(searched)}", "status": "done"}
                    why = "Your follow-up was rewritten, using the conversation, into this standalone question."
                    chat.append(_message("assistant", escape(why), metadata=note))
            stream = self.pipeline.stream(searched)
            passages, text = stream.passages, ""
            for piece in stream:
                text += piece
                live = cited_passages(passages, cited_numbers(text))
                shown = [*chat, _message("assistant", answer_html(text, live, turn))]
                yield "", shown, sources_html(searched, live, turn, final=False), previous, {}, turns
            answer = stream.answer()
        except EXPECTED as exc:
            message = error_html(exc)
            yield "", [*chat, _message("assistant", message)], message, previous, {"error": str(exc)}, turns
            return
        finally:
            if stream is not None:  # the stop button closes this generator: stop the model too
                _stop(stream)
        yield self._finish(asked, answer, chat, turn, previous, turns)

    def _finish(
        self, asked: str, answer: Answer, chat: list[dict[str, Any]], turn: int, previous: str, turns: list[Turn]
    ) -> Outputs:
        searched = answer.question
        cited = checked_sources(answer)
        details = answer_to_dict(answer) | {
            "asked": asked,
            "highlights": {str(s.n): [s.passage.chunk.text[a:b] for a, b in s.support] for s in cited},
        }
        if answer.refused:
            why = next((v.reason for v in answer.verdicts if not v.ok and v.binding), "")
            shown = refusal_html(answer.text, why)
            panel = '<div class="seedqa-note">No sources: the articles do not contain the answer.</div>'
        else:
            shown = answer_html(answer.text, cited, turn)
            panel = sources_html(searched, cited, turn)
        done = Turn(asked, searched, answer.text, panel)
        return "", [*chat, _message("assistant", shown)], panel, previous, details, [*turns, done]


CSS = """
.seedqa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 0 0 10px 0; background: var(--background-fill-secondary); }
.seedqa-source.seedqa-focus { outline: 2px solid var(--color-accent); }
.seedqa-source-title { font-weight: 600; } .seedqa-n { color: var(--color-accent); }
.seedqa-source-meta, .seedqa-searched, .seedqa-note { font-size: 0.85em; opacity: 0.8; margin: 2px 0 6px 0; }
.seedqa-passage { white-space: pre-line; font-size: 0.92em; line-height: 1.45; }
.seedqa-passage mark { background: #fde68a; color: #111; padding: 0 1px; }
a.seedqa-cite { text-decoration: none; font-weight: 600; color: var(--color-accent); cursor: pointer; }
.seedqa-refusal { opacity: 0.85; font-style: italic; }
.seedqa-error { color: var(--error-text-color, #b91c1c); border-left: 3px solid #dc2626; padding-left: 8px; }
"""

# Clicking a citation scrolls its card into view inside the page (no navigation).
HEAD = """<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#seedqa-"]');
  const card = link && document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  event.preventDefault();
  document.querySelectorAll(".seedqa-focus").forEach((el) => el.classList.remove("seedqa-focus"));
  card.classList.add("seedqa-focus");
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
});
</script>"""

EMPTY_SOURCES = '<div class="seedqa-note">The passages an answer cites appear here, supporting words highlighted.</div>'


def build_app(
    pipeline: Pipeline, *, examples: Sequence[str] | None = None, corpus: str = "", concurrency: int = 1
) -> gr.Blocks:
    """The chat page; up to `concurrency` answers are generated at once (chat/app.py
    `web_concurrency`: 1 in-process, more with a model server), the rest wait in the queue."""
    import gradio as gr

    handler = ChatHandler(pipeline)
    n_articles = len({chunk.source for chunk in pipeline.searcher.store.chunks})
    with gr.Blocks(title="seedqa", analytics_enabled=False) as demo:
        turns = gr.State([])
        where = f" in <code>{escape(corpus)}</code>" if corpus else ""
        gr.Markdown(
            f"## seedqa: ask the articles\n{n_articles} articles{where}. "
            "Every claim cites a passage `[n]`: hover or click it to see the source. "
            'Follow-up questions ("and what did Russia do then?") use the conversation.'
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation", elem_id="seedqa-chat", height=480, render_markdown=False,
                    sanitize_html=True, latex_delimiters=[], buttons=["copy"], feedback_options=None,
                )  # fmt: skip
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label="Question", show_label=False, placeholder="Ask a question about the articles",
                        lines=1, max_lines=4, autofocus=True, elem_id="seedqa-question", scale=1, container=False,
                    )  # fmt: skip
                    small: dict[str, Any] = {"scale": 0, "min_width": 90, "size": "md"}
                    ask_button = gr.Button("Ask", variant="primary", elem_id="seedqa-ask", **small)
                    stop_button = gr.Button("Stop", variant="stop", elem_id="seedqa-stop", **small)
                    clear_button = gr.Button("New chat", **(small | {"min_width": 120}))
                picks = gr.Examples(
                    [[q] for q in (EXAMPLES if examples is None else examples)],
                    inputs=[question], label="Example questions",
                )  # fmt: skip
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_SOURCES, label="Sources", elem_id="seedqa-sources")
                with gr.Accordion("Sources of the previous answer", open=False):
                    previous = gr.HTML("", label="Previous sources", elem_id="seedqa-previous")
                with gr.Accordion("Answer details (JSON)", open=False):
                    details = gr.JSON({}, label="Answer", show_label=False)
        io: dict[str, Any] = {
            "fn": handler.ask,
            "inputs": [question, chatbot, turns],
            "outputs": [question, chatbot, sources, previous, details, turns],
            "show_progress": "minimal",
            # Every asking event shares one queue of `concurrency` slots: one in-process
            # (llama.cpp answers one question at a time), the server's parallel slots otherwise.
            "concurrency_id": "llm",
            "concurrency_limit": concurrency,
        }
        asking = gr.on([question.submit, ask_button.click], api_name=API_NAME, **io)
        from_example = picks.load_input_event.then(api_visibility="undocumented", **io)
        stop_button.click(
            stopped, [chatbot, sources], [chatbot, sources], cancels=[asking, from_example], queue=False,
            api_visibility="undocumented",
        )  # fmt: skip
        reset: dict[str, Any] = {"fn": lambda: ("", [], EMPTY_SOURCES, "", {}, []), "outputs": io["outputs"]}
        clear_button.click(api_visibility="undocumented", queue=False, **reset)
        chatbot.clear(api_visibility="undocumented", queue=False, **reset)
    return demo


def free_port(host: str, port: int = 0) -> int:
    """`port` if it can be bound on `host` (0: any free port), checked before the slow start-up."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Gradio's own check
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ChatError(
                f"cannot listen on {host}:{port} ({exc.strerror}); pass --port 0 for any free port"
            ) from exc
        return int(probe.getsockname()[1])


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = None, concurrency: int = 1) -> str:
    """Start serving in a background thread (local only, no share link); return the URL."""
    port = free_port(host, port or 0)  # 0 or None: any free port
    demo.queue(default_concurrency_limit=concurrency)  # as build_app's asking events
    try:
        _, url, _ = demo.launch(
            server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
            show_error=False, enable_monitoring=False, run_history=False, mcp_server=False, pwa=False,
            footer_links=["api", "settings"], css=CSS, head=HEAD,
        )  # fmt: skip
    except OSError as exc:
        raise ChatError(f"cannot listen on {host}:{port} (in use?); pass --port 0 for any free port") from exc
    return str(url)


def serve(
    settings: Settings, *, host: str = "127.0.0.1", port: int | None = 7860, notify: Callable[[str], None] = print
) -> None:
    """Load the index and models once, then serve the chat until interrupted."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported
    from chat.app import build_pipeline, web_concurrency

    port = free_port(host, port or 0)  # a busy port fails now, not after loading the models
    concurrency = web_concurrency(settings)
    if settings.web_concurrency and settings.web_concurrency != concurrency:
        notify("note: SEEDQA_WEB_CONCURRENCY applies to a model server (SEEDQA_LLM_URL); in-process answers take turns")
    started = time.perf_counter()
    pipeline = build_pipeline(settings, notify=notify, progress=True)
    pipeline.warm_up(full_embedder=True)  # torch for the embedder: faster per question in a long-lived server
    notify(f"loaded the index and models in {time.perf_counter() - started:.1f} s")
    demo = build_app(pipeline, corpus=str(settings.corpus), concurrency=concurrency)
    url = launch(demo, host=host, port=port, concurrency=concurrency)
    if host not in ("127.0.0.1", "localhost", "::1"):
        notify(f"warning: listening on {host}: anyone who can reach this machine can use the chat")
    print(f"seedqa chat running on {url} (Ctrl+C to stop)", flush=True)
    demo.block_thread()
