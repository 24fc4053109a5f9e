"""The tiny models' shapes keep each catalog model's published distinctive config keys."""

from __future__ import annotations

from farnode_desktop.mesh.tinymodel import SHAPES


def test_tiny_shapes_keep_the_published_distinctive_keys() -> None:
    llama31 = SHAPES["meta-llama/Meta-Llama-3.1-405B-Instruct"]
    assert llama31["rope_scaling"] == {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    assert llama31["rope_theta"] == 500000.0
    assert llama31["num_attention_heads"] // llama31["num_key_value_heads"] == 16  # 128 / 8 published
    mixtral = SHAPES["mistralai/Mixtral-8x22B-Instruct-v0.1"]
    assert (mixtral["num_local_experts"], mixtral["num_experts_per_tok"]) == (8, 2)
    falcon = SHAPES["tiiuae/falcon-40b"]
    assert falcon["new_decoder_architecture"] and not falcon["alibi"]
    assert falcon["num_attention_heads"] // falcon["num_kv_heads"] == 16  # 128 / 8 published
    for shape in SHAPES.values():
        assert shape["hidden_size"] == 64 and shape.get("num_hidden_layers", shape.get("n_layer")) == 4
