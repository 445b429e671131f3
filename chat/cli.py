"""The `seedqa` command: index a corpus, ask a question, serve the web UI, run the evaluation.

Heavy libraries (torch, faiss, llama_cpp, gradio) are imported inside the commands that need
them, so `seedqa --help` answers at once.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from chat import version
from chat.errors import EXPECTED
from index.text import printable


def _quiet_libraries(verbose: bool) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _notify(message: str) -> None:
    click.echo(message, err=True)


def run_or_exit(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except EXPECTED as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def _path_option(flag: str, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A path flag that defaults to None: the settings then take the environment, else their default."""
    return click.option(flag, type=click.Path(path_type=Path), default=None, help=help)


corpus_option = _path_option(
    "--corpus", "Folder of articles: .txt, .md, .html, .pdf [env SEEDQA_CORPUS; default ./seeds]."
)
data_option = _path_option(
    "--data-dir", "Where indexes and the assembled model live [env SEEDQA_DATA_DIR; default ~/.local/share/seedqa]."
)
embedder_option = _path_option(
    "--embedder", "A sentence-transformers model folder [env SEEDQA_EMBEDDER; default: packaged all-MiniLM-L6-v2]."
)
gguf_option = _path_option(
    "--gguf", "A GGUF chat model file [env SEEDQA_GGUF; default: Qwen2.5-Coder-1.5B-Instruct assembled from PyPI]."
)


threads_option = click.option("--threads", type=int, default=None, help="CPU threads for the LLM [env SEEDQA_THREADS].")
# A model server instead of the in-process model (docs/SERVER.md). Its API key is read from
# SEEDQA_LLM_API_KEY only: a flag would show it in the process list and the shell history.
llm_url_option = click.option(
    "--llm-url", default=None, metavar="URL",
    help="An OpenAI-compatible model server (vLLM, llama-server, Ollama) to answer with instead of the "
    "in-process model, e.g. http://127.0.0.1:8080/v1 [env SEEDQA_LLM_URL; API key from SEEDQA_LLM_API_KEY].",
)  # fmt: skip
llm_model_option = click.option(
    "--llm-model", default=None, metavar="NAME",
    help="The model the server should use [env SEEDQA_LLM_MODEL; default: the one it lists].",
)  # fmt: skip


def model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--corpus, --data-dir, --embedder, --gguf, --threads, --llm-url and --llm-model, passed on as `**flags`."""
    for option in (
        llm_model_option, llm_url_option, threads_option, gguf_option, embedder_option, data_option, corpus_option,
    ):  # fmt: skip
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version(), "--version", prog_name="seedqa")
@click.option("-v", "--verbose", is_flag=True, help="Show library logs and progress details.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Ask questions about a folder of news articles; answers cite the exact source words.

    \b
    Example:
      seedqa ask "why did Erdogan pivot after 2016?"
    """
    _quiet_libraries(verbose)
    ctx.obj = {"verbose": verbose}


@main.command()
@corpus_option
@data_option
@embedder_option
def index(corpus: Path | None, data_dir: Path | None, embedder: Path | None) -> None:
    """Build (or refresh) the search index of a corpus folder.

    Only chunks whose text changed are embedded again.

    \b
    Example:
      seedqa index --corpus ~/articles
    """
    from chat.settings import Settings

    def action() -> None:
        from chat.app import build_embedder, build_sparse, index_dir
        from index.store import IndexSpec, build_index

        settings = Settings.load(corpus=corpus, data_dir=data_dir, embedder=embedder)
        target = index_dir(settings)
        spec = IndexSpec(settings.corpus, target, build_embedder(settings), settings.chunking, build_sparse(settings))
        report = build_index(spec, progress=True, notify=_notify)
        for skip in report.skipped:
            _notify(f"warning: skipped {printable(skip.source)}: {skip.reason}")
        click.echo(
            f"indexed {report.n_documents} articles into {report.n_chunks} chunks "
            f"({report.n_embedded} embedded) in {report.seconds:.1f} s -> {target}"
        )

    run_or_exit(action)


@main.command()
@click.argument("question")
@click.option("-k", type=int, default=None, help="Passages given to the model [env SEEDQA_K; default 4].")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object (docs/JSON.md).")
@click.option("-v", "--verbose", "explain", is_flag=True, help="Also print every answer check's verdict.")
@model_options
def ask(question: str, k: int | None, as_json: bool, explain: bool, **flags: Any) -> None:
    """Answer QUESTION from the articles, with [n] citations and their sources.

    The index is built on first use and refreshed when the articles change. With -v, each
    answer check's verdict follows the sources, so a refusal says why.

    \b
    Examples:
      seedqa ask "why did Erdogan pivot after 2016?"
      seedqa ask -v "What did Emmanuel Macron say at the Istanbul Summit?"
      seedqa ask --json -k 6 "How many Turkish soldiers died in Idlib?"
    """
    from chat.settings import Settings

    def action() -> None:
        from chat.app import build_pipeline
        from chat.ask import check_question
        from chat.serialize import answer_to_dict

        settings = Settings.load(k=k, **flags)
        check_question(question, settings.answering.max_question_chars)  # before anything loads
        pipeline = build_pipeline(settings, notify=_notify, progress=True)
        stream = pipeline.stream(question)
        if as_json:
            answer = stream.answer()
            # Which backend and model answered: "llama.cpp:<file>" or "openai:<url>:<model>".
            shown = answer_to_dict(answer) | {"generator": pipeline.generator.model_id}
            click.echo(json.dumps(shown, ensure_ascii=False, indent=2))
            return
        for piece in stream:
            click.echo(piece, nl=False)
        answer = stream.answer()
        click.echo()
        click.echo(format_sources(answer))
        if explain:
            click.echo(format_verdicts(answer))

    run_or_exit(action)


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind (keep 127.0.0.1 unless you mean to share)."
)
@click.option("--port", type=int, default=7860, show_default=True, help="Port to listen on (0 = any free port).")
@model_options
def serve(host: str, port: int, **flags: Any) -> None:
    """Chat with the articles in a browser (Gradio web UI on a local address).

    \b
    Example:
      seedqa serve --port 7860     # then open http://127.0.0.1:7860
    """
    from chat.settings import Settings

    def action() -> None:
        from chat.web import serve as serve_web

        settings = Settings.load(**flags)
        serve_web(settings, host=host, port=port, notify=_notify)

    run_or_exit(action)


@main.command(name="eval")
@click.argument("questions", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write one JSON line per question here.",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write summary.json, report.md and a chart here.",
)
@click.option("-k", type=int, default=None, help="Passages given to the model [env SEEDQA_K].")
@click.option("--limit", type=int, default=None, help="Only the first N questions (a quick check).")
@model_options
def evaluate(
    questions: Path, out: Path | None, report: Path | None, k: int | None, limit: int | None, **flags: Any
) -> None:
    """Run reference QUESTIONS (JSONL) through ask() and report quality and latency.

    \b
    Example:
      seedqa eval evals/questions.jsonl --out results.jsonl --report evals/baseline
    """
    from chat.settings import Settings

    def action() -> None:
        from chat.eval.run import run_cli

        settings = Settings.load(k=k, **flags)
        run_cli(settings, questions, out=out, report=report, limit=limit, notify=_notify)

    run_or_exit(action)


def format_verdicts(answer: Any) -> str:
    """Each answer check's verdict, one line each: why an answer was kept or refused."""
    if not answer.verdicts:
        why = "the model itself replied that the articles do not say" if answer.refused else "no checks ran"
        return f"\nChecks: {why}."
    lines = ["", "Checks:"]
    for v in answer.verdicts:
        mark = "pass" if v.ok else ("FAIL" if v.binding else "flag")  # a flag is weighed, not decisive
        lines.append(f"  {mark}  {v.check}: {v.reason}")
    if answer.second_pass:
        lines.append("  (this is the model's second answer; it was asked again without the option to refuse)")
    if answer.quoted:
        lines.append("  (the passages did not back the model's words; this quotes one of their sentences)")
    return "\n".join(lines)


def format_sources(answer: Any) -> str:
    """The checked answer (when checking changed it) and its sources, for a terminal.

    Each source shows the exact supporting words and their character offsets in the file,
    so `file_text[start:end]` is what the answer rests on.
    """
    lines: list[str] = []
    if answer.text != answer.raw_text.strip():
        lines += ["", f"Checked answer: {answer.text}"]
    if answer.refused:
        return "\n".join([*lines, "", "(no sources: the articles do not contain the answer)"])
    lines += ["", "Sources:"]
    for c in answer.citations:
        spans = [s for s in answer.sentences if s.passage == c.n and s.start is not None]
        lines.append(f"[{c.n}] {c.title} ({printable(c.source)})")
        if c.also_in:  # syndicated copies of the same words, shown once
            lines.append(f"    also in: {', '.join(printable(s) for s in c.also_in)}")
        for span in spans or [None]:
            start, end, quote = (span.start, span.end, span.quote) if span else (c.start, c.end, c.text)
            lines.append(f'    chars {start}-{end}: "{" ".join(quote.split())}"')
    if not answer.citations:
        lines.append("    (the answer cites no passage; treat it with care)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
