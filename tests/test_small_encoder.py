"""Which embedder folders the query-time NumPy encoder accepts (it must reproduce them exactly)."""

from __future__ import annotations

import json

import pytest

from models.small_encoder import supported

MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
]
MEAN = {"word_embedding_dimension": 384, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}


def _folder(tmp_path, *, modules=MODULES, pooling=MEAN, model_type="bert", act="gelu"):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type, "hidden_act": act}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "tokenizer.json").write_text("{}")
    return tmp_path


def test_a_mean_pooled_normalized_bert_is_supported(tmp_path):
    assert supported(_folder(tmp_path))


@pytest.mark.parametrize(
    "change",
    [
        {"pooling": {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}},
        {"pooling": {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}},
        {"modules": MODULES[:2]},  # not normalized
        {"model_type": "xlm-roberta"},
        {"act": "gelu_new"},
    ],
)
def test_anything_else_falls_back_to_sentence_transformers(tmp_path, change):
    assert not supported(_folder(tmp_path, **change))


def test_a_folder_without_config_is_not_supported(tmp_path):
    assert not supported(tmp_path)


def test_unreadable_weights_end_in_the_embedders_one_line_error(tmp_path):
    from models.embedder import SentenceTransformerEmbedder
    from models.errors import ModelLoadError

    folder = _folder(tmp_path)  # supported on paper, but model.safetensors is empty
    with pytest.raises(ModelLoadError, match="could not load the embedder"):
        SentenceTransformerEmbedder(folder).embed_query("why?")
