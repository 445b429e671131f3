"""A synthetic corpus of any size, made by recombining the sentences of the seed articles.

Each file is a title line and 3-6 paragraphs of 2-4 distinct seed sentences drawn with a fixed
random seed, so a run is reproducible. The files go through the product's own reader, cleaner and
chunker when indexed; the number of files is chosen from a sample so the corpus yields about
the requested number of chunks (the exact count is whatever the chunker makes of it).

Recombined sentences make many chunks near-duplicates of each other (126 seed sentences), a
harder case for approximate nearest-neighbour recall than real news.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import SEEDS
from index.chunk import ChunkingParams, chunk_document, sentence_spans
from index.corpus import read_corpus, read_document
from index.text import normalize


def seed_sentences(seeds: Path = SEEDS) -> list[str]:
    """Every sentence of the cleaned seed articles, in corpus order."""
    documents, _ = read_corpus(seeds)
    sentences: list[str] = []
    for document in documents:
        for start, end in document.paragraphs:
            for a, b in sentence_spans(document.text, start, end):
                sentences.append(normalize(document.text[a:b]))
    return sentences


def article(rng: random.Random, sentences: list[str], number: int) -> str:
    title = f"Synthetic report {number}: " + " ".join(rng.choice(sentences).split()[:8])
    sizes = [rng.randint(2, 4) for _ in range(rng.randint(3, 6))]
    picked = rng.sample(sentences, sum(sizes))  # no sentence twice: the cleaner drops repeated lines
    paragraphs = []
    for size in sizes:
        paragraph, picked = picked[:size], picked[size:]
        # A paragraph opening "By December 2016, ..." would be taken for a byline by the cleaner
        # (and the lines above it for page header), so such a sentence never comes first.
        paragraph.sort(key=lambda sentence: sentence.lower().startswith("by "))
        paragraphs.append(" ".join(paragraph))
    return title + "\n\n" + "\n\n".join(paragraphs) + "\n"


def chunks_per_article(
    count_tokens: Callable[[str], int], params: ChunkingParams, *, sample: int = 200, seed: int = 0
) -> float:
    """Average chunks per synthetic article, measured on a sample with the real chunker."""
    import tempfile

    rng = random.Random(seed + 1)
    sentences = seed_sentences()
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(sample):
            path = Path(tmp) / f"{i:06d}.txt"
            path.write_text(article(rng, sentences, i), encoding="utf-8")
            total += len(chunk_document(read_document(path, path.name), params, count_tokens))
    return total / sample


def write_corpus(
    folder: Path,
    n_chunks: int,
    count_tokens: Callable[[str], int],
    params: ChunkingParams | None = None,
    *,
    seed: int = 0,
) -> int:
    """Write about `n_chunks` chunks' worth of articles into `folder`; returns the file count.

    Files go into subfolders of 1,000 so no directory grows huge.
    """
    per_article = chunks_per_article(count_tokens, params or ChunkingParams(), seed=seed)
    n_files = max(1, math.ceil(n_chunks / per_article))
    rng = random.Random(seed)
    sentences = seed_sentences()
    for i in range(n_files):
        path = folder / f"{i // 1000:03d}" / f"{i:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article(rng, sentences, i), encoding="utf-8")
    return n_files


def queries(n: int, *, seed: int = 0) -> list[str]:
    """`n` search queries: the reference questions first, then 6-10-word seed fragments."""
    import json

    from benchmarks.common import ROOT

    out: list[str] = []
    questions = ROOT / "evals" / "questions.jsonl"
    if questions.is_file():
        for line in questions.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    rng = random.Random(seed + 2)
    sentences = seed_sentences()
    while len(out) < n:
        words = rng.choice(sentences).split()
        size = rng.randint(6, 10)
        start = rng.randint(0, max(0, len(words) - size))
        out.append(" ".join(words[start : start + size]))
    return out[:n]
