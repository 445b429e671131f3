"""Focus each retrieved passage on its sentences closest to the question.

The LLM reads every prompt token before it writes anything (~110 tokens/s on 2 cores), and
a 1.5B model quotes whatever sentence is in front of it. So each passage shows the model only
its sentences whose cosine to the question is within `margin` of the passage's best sentence;
the rest stay in the index, in citations and in the UI.

Beyond its own best sentence, a passage also shows only sentences within `global_margin` of
the best sentence of all passages, so a weakly related passage contributes one sentence, not
three.

Measured offline (evals/retrieval_check.py) on the 62 reference questions whose evidence is in
the top 4 passages: margin 0.1 keeps the evidence for 60 of 62 and cuts passage text from 428
to 249 tokens per question; adding the global margin 0.15 keeps the same 60 at 199 tokens
(0.1: 182 tokens, 0.07: 58 of 62); keeping the single best sentence keeps 55; a global token
budget keeps fewer for the same length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.chunk import sentence_spans
from index.text import canonical
from index.types import Passage
from models.embedder import Embedder

# How far below the best sentence's cosine to the question a sentence may be and still be shown.
GLOBAL_MARGIN = 0.15
# ... and still be quoted as a point (key_sentences). Off-topic sentences quoted for a fresh
# article sat 0.45 and more below the best (external set, "Why did OPEC raise the price of oil
# to $5.11?"); on the analytical questions 0.15 cost point coverage 0.362 -> 0.332 of the
# quotes, 0.25 nothing.
QUOTE_MARGIN = 0.25


@dataclass(frozen=True, slots=True)
class FocusParams:
    margin: float | None = 0.1  # None shows whole passages
    min_sentences: int = 1
    # Beyond its passage's best sentences, a sentence is shown only within this much of the
    # best sentence of all passages (None: no such limit).
    global_margin: float | None = GLOBAL_MARGIN


def focus_passages(
    query_vector: np.ndarray,
    passages: Sequence[Passage],
    embedder: Embedder,
    params: FocusParams,
) -> list[Passage]:
    """The same passages, each with `focus` set to the spans (in `chunk.text`) to show."""
    if params.margin is None or not passages:
        return list(passages)
    spans = [sentence_spans(p.chunk.text, 0, len(p.chunk.text)) for p in passages]
    texts = [p.chunk.text[s:e] for p, ss in zip(passages, spans, strict=True) for s, e in ss]
    if not texts:
        return list(passages)
    unique = list(dict.fromkeys(texts))  # overlapping chunks share sentences: embed each once
    unique_scores = embedder.embed_documents(unique) @ query_vector.astype(np.float32).reshape(-1)
    position = {text: i for i, text in enumerate(unique)}
    scores = unique_scores[[position[t] for t in texts]]
    floor = float(scores.max()) - params.global_margin if params.global_margin is not None else -np.inf
    out = []
    offset = 0
    shown: set[str] = set()  # overlapping chunks share sentences: show each one once
    for passage, ss in zip(passages, spans, strict=True):
        own = scores[offset : offset + len(ss)]
        sentences = texts[offset : offset + len(ss)]
        offset += len(ss)
        if not ss:  # nothing to choose from
            out.append(passage)
            continue
        keys = [canonical(t) for t in sentences]
        fresh = [i for i, key in enumerate(keys) if key not in shown] or list(range(len(ss)))
        ranked = sorted(fresh, key=lambda i: -own[i])
        best = float(own[ranked[0]])
        keep = set(ranked[: params.min_sentences]) | {i for i in fresh if own[i] >= max(best - params.margin, floor)}
        shown.update(keys[i] for i in keep)
        if len(keep) == len(ss):
            out.append(passage)
        else:
            out.append(replace(passage, focus=tuple(ss[i] for i in sorted(keep))))
    return out


def key_sentences(
    query_vector: np.ndarray,
    passages: Sequence[Passage],
    embedder: Embedder,
    *,
    limit: int = 5,
    per_article: int = 2,
    diversity: float = 0.3,
    exclude: Sequence[str] = (),
    margin: float | None = QUOTE_MARGIN,
) -> list[tuple[int, str]]:
    """Up to `limit` sentences of the passages that answer the question between them, as
    (1-based passage number, sentence), in passage order: the extractive form of an
    analytical answer (chat/ask.py).

    Chosen by maximal marginal relevance (Carbonell and Goldstein, 1998): each next sentence
    maximizes (1 - diversity) * cosine to the question - diversity * its highest cosine to a
    sentence already chosen, so a second sentence saying the same thing loses to one that adds
    a point. Articles not yet quoted go first; at most `per_article` from one article. A
    sentence within one of `exclude` (the words an answer already quotes) is not chosen, nor
    one whose cosine to the question is more than `margin` below the best sentence's (as for
    focusing): a fresh article is no reason to quote what does not bear on the question
    ("For the 2012-13 school year annual tuition was $38,000" for why OPEC raised the price of
    oil, external set).
    """
    candidates: list[tuple[int, str, str]] = []  # (passage number, source, sentence)
    said = [canonical(text) for text in exclude]
    seen: set[str] = set()
    for n, passage in enumerate(passages, start=1):
        text = passage.chunk.text
        for s, e in sentence_spans(text, 0, len(text)):
            sentence = " ".join(text[s:e].split())
            key = canonical(sentence)
            if key not in seen and len(sentence.split()) >= 5 and not any(key in text for text in said):
                seen.add(key)
                candidates.append((n, passage.chunk.source, sentence))
    if not candidates:
        return []
    vectors = embedder.embed_documents([c[2] for c in candidates])
    relevance = vectors @ query_vector.astype(np.float32).reshape(-1)
    floor = float(relevance.max()) - margin if margin is not None else -np.inf
    chosen: list[int] = []
    while len(chosen) < limit:
        quoted = {candidates[i][1] for i in chosen}
        counts = {source: sum(candidates[i][1] == source for i in chosen) for source in quoted}
        open_ = [
            i
            for i in range(len(candidates))
            if i not in chosen and counts.get(candidates[i][1], 0) < per_article and relevance[i] >= floor
        ]
        fresh = [i for i in open_ if candidates[i][1] not in quoted]
        pool = fresh or open_
        if not pool:
            break
        redundancy = (vectors[pool] @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(pool))
        scores = (1 - diversity) * relevance[pool] - diversity * redundancy
        chosen.append(pool[int(np.argmax(scores))])
    return [(candidates[i][0], candidates[i][2]) for i in sorted(chosen)]
