"""Shared fixtures: fakes for plumbing tests, real models (loaded once) for quality tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from chat.ask import AnswerParams, Pipeline
from index.chunk import ChunkingParams
from index.search import HybridSearcher, RetrievalParams
from index.store import IndexSpec, build_index, load_index
from models.fakes import HashingEmbedder, ScriptedGenerator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"


def passage_number(pipeline: Pipeline, question: str, words: str) -> int:
    """Which [n] the pipeline gives to the passage holding `words` (fakes rank by word overlap)."""
    passages = pipeline.retrieve(question)
    return next(i for i, p in enumerate(passages, start=1) if words in p.chunk.text)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the tiny test corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(DATA / "corpus", target)
    return target


@pytest.fixture
def make_pipeline(tmp_path: Path) -> Callable[..., tuple[Pipeline, ScriptedGenerator]]:
    """Build a pipeline over a corpus on fakes; returns it and its scripted generator."""

    def make(corpus: Path, replies: Sequence[str] = ("The articles do not say.",), k: int = 3):
        embedder = HashingEmbedder()
        index_dir = tmp_path / "index"
        build_index(IndexSpec(corpus, index_dir, embedder, ChunkingParams(max_tokens=64)))
        generator = ScriptedGenerator(replies)
        pipeline = Pipeline(
            HybridSearcher(load_index(index_dir), embedder),
            generator,
            retrieval=RetrievalParams(k=k),
            answering=AnswerParams(),
        )
        return pipeline, generator

    return make


# Real models: loaded once per test session.


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory):
    from chat.settings import Settings

    # Indexes go to a fresh folder; the assembled GGUF is shared with the user's data dir
    # (1.1 GB, assembled once) unless SEEDQA_GGUF points elsewhere.
    settings = Settings.load(corpus=str(SEEDS))
    return settings, tmp_path_factory.mktemp("real-index")


@pytest.fixture(scope="session")
def real_embedder():
    from models.embedder import SentenceTransformerEmbedder, default_embedder_path

    embedder = SentenceTransformerEmbedder(default_embedder_path())
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def real_sparse():
    from models.splade import SpladeEncoder, default_sparse_path

    return SpladeEncoder(default_sparse_path())


@pytest.fixture(scope="session")
def real_searcher(real_settings, real_embedder, real_sparse) -> HybridSearcher:
    """The searcher as chat/app.py builds it: dense, BM25 and SPLADE lists."""
    settings, index_dir = real_settings
    build_index(IndexSpec(SEEDS, index_dir, real_embedder, settings.chunking, real_sparse))
    return HybridSearcher(load_index(index_dir), real_embedder, real_sparse)


@pytest.fixture(scope="session")
def real_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the real pipeline's generator saves its prompt-prefix state (empty at first)."""
    return tmp_path_factory.mktemp("llm-state")


@pytest.fixture(scope="session")
def real_generator_factory(real_settings, real_state_dir) -> Callable[[], object]:
    """Makes a primed LlamaGenerator as chat/app.py does, sharing one state dir."""
    from chat.prompt import OPENINGS, PREFIX
    from models.gguf import resolve_gguf
    from models.llama import LlamaGenerator

    settings, _ = real_settings
    gguf = resolve_gguf(settings.generator.gguf, settings.data_dir)

    def make() -> LlamaGenerator:
        generator = LlamaGenerator(
            gguf, n_ctx=settings.generator.n_ctx, n_threads=settings.generator.n_threads, state_dir=real_state_dir
        )
        generator.primed_how = generator.prime(PREFIX, OPENINGS)  # type: ignore[attr-defined]
        return generator

    return make


@pytest.fixture(scope="session")
def real_pipeline(real_settings, real_searcher, real_generator_factory) -> Pipeline:
    settings, _ = real_settings
    generator = real_generator_factory()
    return Pipeline(real_searcher, generator, retrieval=settings.retrieval, answering=settings.answering)
