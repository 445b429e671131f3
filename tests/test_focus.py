"""Passage focusing: which sentences of each retrieved passage the model is shown."""

from __future__ import annotations

import numpy as np

from index.focus import FocusParams, focus_passages
from index.types import Chunk, Passage

AXES = ("bridge", "cost", "mayor", "weather")


class AxisEmbedder:
    """One dimension per topic word: a text's vector counts the topic words it contains."""

    model_id, dim, max_tokens = "axes", len(AXES), 256

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_documents(self, texts, *, progress=False):
        rows = np.array([[t.lower().count(a) for a in AXES] for t in texts], dtype=np.float32) + 0.01
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def _passage(text: str, start: int = 0, rank: int = 1) -> Passage:
    chunk = Chunk(f"a.txt:{start}-{start + len(text)}", "a.txt", "T", None, start, start + len(text), text)
    return Passage(chunk, rank, 0.1, None, None)


TEXT = "The bridge will cost 40 million. The mayor praised the bridge. The weather was bad all week."


def test_only_sentences_near_the_best_one_are_shown_with_cuts_marked():
    embedder = AxisEmbedder()
    (focused,) = focus_passages(embedder.embed_query("bridge cost"), [_passage(TEXT)], embedder, FocusParams(0.1))
    assert focused.shown_text == "The bridge will cost 40 million. …"
    assert focused.chunk == _passage(TEXT).chunk  # citations still use the whole chunk


def test_a_wider_margin_keeps_more_and_none_keeps_everything():
    embedder = AxisEmbedder()
    query = embedder.embed_query("bridge cost")
    (wide,) = focus_passages(query, [_passage(TEXT)], embedder, FocusParams(0.5, global_margin=None))
    assert wide.shown_text == "The bridge will cost 40 million. The mayor praised the bridge. …"
    (whole,) = focus_passages(query, [_passage(TEXT)], embedder, FocusParams(None))
    assert whole.focus is None and whole.shown_text == TEXT


def test_a_sentence_shared_by_overlapping_chunks_is_shown_once():
    embedder = AxisEmbedder()
    first = _passage("The weather was bad all week. The bridge will cost 40 million.", 0, 1)
    second = _passage("The bridge will cost 40 million. The mayor praised the bridge.", 20, 2)
    a, b = focus_passages(embedder.embed_query("bridge cost"), [first, second], embedder, FocusParams(0.1))
    assert a.shown_text == "… The bridge will cost 40 million."
    assert b.shown_text == "… The mayor praised the bridge."


def test_a_passage_without_sentences_is_left_alone():
    embedder = AxisEmbedder()
    blank, full = focus_passages(
        embedder.embed_query("bridge"), [_passage("   "), _passage(TEXT, 100, 2)], embedder, FocusParams(0.1)
    )
    assert blank.focus is None
    assert full.focus is not None


def test_a_sentence_shared_by_overlapping_chunks_is_embedded_once():
    embedded: list[str] = []

    class Recording(AxisEmbedder):
        def embed_documents(self, texts, *, progress=False):
            embedded.extend(texts)
            return super().embed_documents(texts)

    embedder = Recording()
    first = _passage("The weather was bad all week. The bridge will cost 40 million.", 0, 1)
    second = _passage("The bridge will cost 40 million. The mayor praised the bridge.", 20, 2)
    focus_passages(AxisEmbedder().embed_query("bridge cost"), [first, second], embedder, FocusParams(0.1))
    assert sorted(embedded) == sorted(
        ["The weather was bad all week.", "The bridge will cost 40 million.", "The mayor praised the bridge."]
    )


def test_sentences_far_below_the_best_of_all_passages_are_left_out_but_each_passage_keeps_its_best():
    embedder = AxisEmbedder()
    query = embedder.embed_query("bridge cost")
    strong = _passage("The bridge will cost 40 million.", 0, 1)
    # Cosines to the query: 1.0 (strong); 0.82, 0.51, 0.02 (weak's three sentences).
    weak = _passage("The bridge cost was set by the mayor. The mayor praised the bridge. The weather was bad.", 100, 2)
    _, b = focus_passages(query, [strong, weak], embedder, FocusParams(0.5, global_margin=None))
    assert b.shown_text == "The bridge cost was set by the mayor. The mayor praised the bridge. …"
    _, b = focus_passages(query, [strong, weak], embedder, FocusParams(0.5, global_margin=0.15))
    assert b.shown_text == "The bridge cost was set by the mayor. …"


def test_key_sentences_leave_out_what_an_answer_already_quotes():
    from index.focus import key_sentences

    embedder = AxisEmbedder()
    text = (
        "The bridge will cost 40 million euros. The mayor praised the new bridge today. The weather was bad all week."
    )
    query = embedder.embed_query("bridge cost")
    chosen = key_sentences(query, [_passage(text)], embedder, limit=1, per_article=2)
    assert chosen == [(1, "The bridge will cost 40 million euros.")]
    quoted = "The bridge will cost 40 million euros. The mayor praised the new bridge today."
    again = key_sentences(query, [_passage(text)], embedder, limit=1, per_article=2, exclude=[quoted])
    assert again == [(1, "The weather was bad all week.")]  # both others are within the quote


def test_key_sentences_quote_no_sentence_far_below_the_best_for_a_fresh_article():
    from index.focus import key_sentences

    embedder = AxisEmbedder()
    query = embedder.embed_query("bridge cost")
    on_topic = _passage("The bridge will cost 40 million euros. The bridge cost rose again in May.")
    other = Passage(
        Chunk("b.txt:0-30", "b.txt", "T", None, 0, 30, "The weather was bad all week long."), 2, 0.1, None, None
    )
    chosen = key_sentences(query, [on_topic, other], embedder, limit=3, per_article=2)
    assert [n for n, _ in chosen] == [1, 1]  # the other article's sentence does not bear on the question
    loose = key_sentences(query, [on_topic, other], embedder, limit=3, per_article=2, margin=None)
    assert 2 in [n for n, _ in loose]
