"""The block planner and the catalog: hand arithmetic, Petals' own formula, and the real layer sizes."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.gpus.catalog import Catalog, ModelSpec, block_params
from farnode_desktop.core.gpus.planner import (
    GIB,
    MIB,
    attn_cache_bytes,
    block_bytes,
    parse_size,
    petals_auto_blocks,
    plan_blocks,
    reserve_bytes,
)
from tests.runtime_env import runtime_dir_for_tests

CATALOG = Catalog.load()
LLAMA2_70B = CATALOG.get("meta-llama/Llama-2-70b-chat-hf")
RTX4090_TOTAL = 24564 * MIB  # what NVML reports for a 24 GiB RTX 4090
RTX4090_FREE = RTX4090_TOTAL - 498 * MIB  # an idle GNOME desktop on it (fixture linux_rtx4090.json)

# Parameters of one block as `sum(p.numel() for p in layer.parameters())` counted them for the real
# transformers 4.34.1 layers (LlamaDecoderLayer, BloomBlock, FalconDecoderLayer) in the node runtime,
# built under accelerate.init_empty_weights with each model's config (see test_counts_match_real_layers).
REAL_LAYER_PARAMS = {
    "meta-llama/Llama-2-70b-chat-hf": 855_654_400,
    "meta-llama/Meta-Llama-3.1-70B-Instruct": 855_654_400,
    "meta-llama/Meta-Llama-3.1-405B-Instruct": 3_187_703_808,
    "farlabs/tiny-demo": 41_088,
    "bigscience/bloom-560m": 12_596_224,
    "tiiuae/falcon-40b": 679_510_016,
}


def test_llama_params_per_block_formula_by_hand() -> None:
    h, inter, kv_ratio = 8192, 28672, 8
    q_and_o = 2 * h * h  # 134,217,728
    k_and_v = 2 * h * h // kv_ratio  # GQA: 16,777,216
    mlp = 3 * h * inter  # gate, up, down: 704,643,072
    norms = 2 * h  # 16,384
    assert q_and_o + k_and_v + mlp + norms == 855_654_400
    assert block_params(LLAMA2_70B) == LLAMA2_70B.params_per_block == 855_654_400
    tiny = CATALOG.get("farlabs/tiny-demo")
    assert 4 * 64 * 64 + 3 * 64 * 128 + 2 * 64 == block_params(tiny) == 41_088


def test_mixtral_params_per_block_by_hand() -> None:
    h, inter, experts = 6144, 16384, 8
    attention = 2 * h * h + 2 * h * (h // 6)  # 48 heads, 8 kv heads
    moe = experts * 3 * h * inter + h * experts  # experts + router
    assert attention + moe + 2 * h == CATALOG.get("mistralai/Mixtral-8x22B-Instruct-v0.1").params_per_block


def test_catalog_numbers_match_the_real_layers() -> None:
    for name, params in REAL_LAYER_PARAMS.items():
        assert CATALOG.get(name).params_per_block == params, name


def test_a_catalog_entry_that_disagrees_with_its_architecture_is_refused(tmp_path: Path) -> None:
    raw = json.loads(Path(CATALOG_PATH()).read_text())
    raw["models"][0]["params_per_block"] += 1
    damaged = tmp_path / "models.json"
    damaged.write_text(json.dumps(raw))
    with pytest.raises(FarNodeError, match="its architecture gives"):
        Catalog.load(damaged)


def CATALOG_PATH() -> Path:
    from farnode_desktop.core.gpus.catalog import catalog_path

    return catalog_path()


def test_unreadable_catalog_is_a_plain_error(tmp_path: Path) -> None:
    bad = tmp_path / "models.json"
    bad.write_text("{not json")
    with pytest.raises(FarNodeError, match="could not be read") as info:
        Catalog.load(bad)
    assert info.value.hint == "reinstall FarNode Desktop"


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("llama-2-70b", "meta-llama/Llama-2-70b-chat-hf"),
        ("blom-560m", "bigscience/bloom-560m"),
        ("mixtral", "mistralai/Mixtral-8x22B-Instruct-v0.1"),
    ],
)
def test_unknown_model_suggests_close_names(typed: str, suggested: str) -> None:
    with pytest.raises(UserInputError, match="does not know the model") as info:
        CATALOG.get(typed)
    assert suggested in info.value.hint


def test_unknown_model_with_nothing_close_lists_the_models() -> None:
    with pytest.raises(UserInputError) as info:
        CATALOG.get("gpt-5")
    assert info.value.hint.startswith("known models: ")


def test_short_name_and_case_are_accepted() -> None:
    assert CATALOG.get("BLOOM-560M").name == "bigscience/bloom-560m"


def test_petals_formula_for_llama2_70b_nf4_on_a_24gib_card_by_hand() -> None:
    weights = round(855_654_400 * (4.25 / 8) * 1.01)  # get_block_size: nf4, eps 1%
    cache = (2 * 8192 * 16384 // 8) * 2  # 16384 tokens for GQA models, // kv groups, x bf16/fp16 bytes
    reserve = 2 * GIB / 14336 * 8192  # autograd reserve
    assert block_bytes(LLAMA2_70B, "float16", "nf4") == weights == 459_112_064
    assert attn_cache_bytes(LLAMA2_70B, "float16", 16384) == cache == 64 * MIB
    assert reserve_bytes(LLAMA2_70B) == pytest.approx(reserve)
    by_hand = math.floor((RTX4090_TOTAL - reserve) / (weights + cache))
    assert by_hand == 46
    assert petals_auto_blocks(LLAMA2_70B, RTX4090_TOTAL) == 46


def test_petals_auto_blocks_caps_at_the_model_and_floors_at_zero() -> None:
    assert petals_auto_blocks(LLAMA2_70B, 80 * GIB) == 80  # an 80 GiB card would take the whole model
    assert petals_auto_blocks(LLAMA2_70B, 1 * GIB) == 0


def test_petals_auto_blocks_without_quantisation_matches_by_hand() -> None:
    model = CATALOG.get("meta-llama/Meta-Llama-3.1-70B-Instruct")
    weights = round(855_654_400 * 2 * 1.01)
    cache = (2 * 8192 * 16384 // 8) * 2
    expected = math.floor((80 * GIB - 2 * GIB / 14336 * 8192) / (weights + cache))
    assert petals_auto_blocks(model, 80 * GIB, quant="none") == expected == 47


def test_plan_from_free_memory_on_a_4090_by_hand() -> None:
    plan = plan_blocks(LLAMA2_70B, RTX4090_FREE, total_bytes=RTX4090_TOTAL, headroom_gib=1.5)
    usable = RTX4090_FREE - 1.5 * GIB - 512 * MIB - 2 * GIB / 14336 * 8192
    assert plan.usable_bytes == pytest.approx(usable)
    assert plan.per_block_bytes == 459_112_064 + 64 * MIB
    assert plan.num_blocks == math.floor(usable / plan.per_block_bytes) == 41
    assert plan.petals_auto_blocks == 46  # Petals would take 5 more blocks, from memory the desktop uses
    assert (plan.quant, plan.dtype, plan.attn_cache_tokens) == ("nf4", "float16", 16384)
    text = "\n".join(plan.lines())
    for words in (
        "free VRAM now",
        "23.50 GiB",
        "safety headroom",
        "1.50 GiB",
        "Petals working reserve",
        "855,654,400 params x 0.53125 bytes (nf4) x 1.01",
        "16384 tokens / 8 kv groups",
        "= 41 blocks",
        "with 46 blocks",
        "=> serve 41 blocks",
    ):
        assert words in text, words


def test_headroom_changes_the_plan() -> None:
    roomy = plan_blocks(LLAMA2_70B, RTX4090_FREE, headroom_gib=0)
    careful = plan_blocks(LLAMA2_70B, RTX4090_FREE, headroom_gib=6)
    assert roomy.num_blocks - careful.num_blocks == math.floor(
        roomy.usable_bytes / roomy.per_block_bytes
    ) - math.floor((roomy.usable_bytes - 6 * GIB) / roomy.per_block_bytes)
    assert careful.num_blocks < roomy.num_blocks


def test_tiny_demo_on_cpu_serves_all_four_blocks_in_float32() -> None:
    plan = plan_blocks(CATALOG.get("farlabs/tiny-demo"), 2 * GIB, device="cpu")
    assert (plan.num_blocks, plan.fits > 4, plan.dtype, plan.quant, plan.context_bytes) == (
        4,
        True,
        "float32",
        "none",
        0,
    )
    assert plan.block_bytes == round(41_088 * 4 * 1.01)
    assert "capped at the model's 4 blocks" in "\n".join(plan.lines())


def test_not_enough_for_one_block() -> None:
    plan = plan_blocks(CATALOG.get("meta-llama/Meta-Llama-3.1-405B-Instruct"), 4 * GIB)
    assert not plan.ok and plan.num_blocks == 0
    assert plan.lines()[-1] == "  => not enough free VRAM for one block"
    assert plan.to_json()["ok"] is False


def test_blocks_chosen_in_settings_beyond_the_fit_are_served_with_a_warning() -> None:
    plan = plan_blocks(LLAMA2_70B, RTX4090_FREE, requested_blocks=60)
    assert plan.num_blocks == 60
    assert "may run out of memory" in plan.warnings[0]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"device": "cpu", "quantization": "nf4"}, "needs an NVIDIA GPU"),
        ({"device": "cpu", "dtype": "float16"}, "float16 does not run on the CPU"),
        ({"quantization": "int4"}, "quantization must be"),
        ({"dtype": "float8"}, "dtype must be"),
        ({"headroom_gib": -1}, "headroom must be"),
        ({"headroom_gib": float("nan")}, "headroom must be"),
        ({"attn_cache_tokens": 0}, "attention cache"),
        ({"requested_blocks": 0}, "blocks must be"),
    ],
)
def test_bad_planner_input_is_a_plain_error(kwargs: dict[str, object], words: str) -> None:
    model = CATALOG.get("bigscience/bloom-560m")
    with pytest.raises(UserInputError, match=words):
        plan_blocks(model, 8 * GIB, **kwargs)  # type: ignore[arg-type]


def test_big_model_on_cpu_is_refused() -> None:
    with pytest.raises(UserInputError, match="too large to serve on a CPU"):
        plan_blocks(LLAMA2_70B, 64 * GIB, device="cpu")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20GiB", 20 * GIB), ("20 GiB", 20 * GIB), ("20", 20 * GIB), ("20480MiB", 20 * GIB),
     ("24GB", 24 * 10**9), ("1.5g", int(1.5 * GIB)), ("0", 0)],
)  # fmt: skip
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [("-3GiB", "cannot be negative"), ("9000TiB", "more than any single GPU"), ("abc", "could not read"),
     ("", "could not read"), ("20 parsecs", "could not read"), ("1e9GiB", "could not read")],
)  # fmt: skip
def test_parse_size_rejects_nonsense(text: str, words: str) -> None:
    with pytest.raises(UserInputError, match=words):
        parse_size(text)


def test_negative_free_memory_is_refused_by_the_planner_too() -> None:
    with pytest.raises(UserInputError, match="cannot be negative"):
        plan_blocks(LLAMA2_70B, -1)


# the test suite's node runtime (make test installs it), so this check runs in CI rather than skipping there
RUNTIME_PYTHON = Path(os.environ.get("FARNODE_RUNTIME_PYTHON") or runtime_dir_for_tests() / "bin" / "python")
COUNT_LAYERS = """
import json
from accelerate import init_empty_weights
from transformers import BloomConfig, FalconConfig, LlamaConfig
from transformers.models.bloom.modeling_bloom import BloomBlock
from transformers.models.falcon.modeling_falcon import FalconDecoderLayer
from transformers.models.llama.modeling_llama import LlamaDecoderLayer
spec = json.loads(input())
out = {}
for m in spec:
    if m["family"] == "llama":
        layer, cfg = LlamaDecoderLayer, LlamaConfig(hidden_size=m["hidden_size"],
            intermediate_size=m["intermediate_size"], num_attention_heads=m["num_attention_heads"],
            num_key_value_heads=m["num_key_value_heads"])
    elif m["family"] == "bloom":
        layer, cfg = BloomBlock, BloomConfig(hidden_size=m["hidden_size"], n_head=m["num_attention_heads"])
    elif m["family"] == "falcon":
        layer, cfg = FalconDecoderLayer, FalconConfig(hidden_size=m["hidden_size"],
            num_attention_heads=m["num_attention_heads"], num_kv_heads=m["num_key_value_heads"],
            new_decoder_architecture=True, parallel_attn=True, bias=False)
    else:
        continue
    with init_empty_weights(include_buffers=True):
        block = layer(cfg, layer_idx=0) if m["family"] == "llama" else layer(cfg)  # 4.43 Llama asks for its index
    out[m["name"]] = sum(p.numel() for p in block.parameters())
print(json.dumps(out))
"""


@pytest.mark.runtime
@pytest.mark.skipif(
    not RUNTIME_PYTHON.exists(), reason="the node runtime (transformers) is not installed here: run `make runtime`"
)
def test_counts_match_real_layers() -> None:
    """Build each catalog model's real block in the runtime's transformers and count its parameters."""
    models = [m.to_json() for m in CATALOG.models]
    run = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", COUNT_LAYERS],
        input=json.dumps(models),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    counted = json.loads(run.stdout.strip().splitlines()[-1])
    assert counted == {k: v for k, v in REAL_LAYER_PARAMS.items()}
    for name, params in counted.items():
        assert CATALOG.get(name).params_per_block == params


def test_model_spec_check_rejects_inconsistent_kv_groups() -> None:
    raw = LLAMA2_70B.to_json() | {"kv_groups": 4}
    with pytest.raises(FarNodeError, match="kv_groups"):
        ModelSpec.from_json(raw)


def test_quantization_follows_what_the_locked_build_ships() -> None:
    from farnode_desktop.core.gpus.planner import resolve_quant
    from farnode_desktop.core.node.runtime_lock import RuntimeNeeds, runtime_needs

    # the real lock: bitsandbytes carries its CUDA 13 library, so nf4 (Petals' default) and int8 are planned
    assert runtime_needs().quant_library == "libbitsandbytes_cuda130.so"
    assert resolve_quant("auto", "cuda") == "nf4" and resolve_quant("int8", "cuda") == "int8"
    # a build whose bitsandbytes lacks a library for its CUDA (0.41.1 on CUDA 13) must not plan quantized blocks
    without = RuntimeNeeds(quant_library=None)
    assert resolve_quant("auto", "cuda", without) == "none"
    with pytest.raises(UserInputError, match=r"nf4 quantization is not available.*CUDA 13\.0") as err:
        resolve_quant("nf4", "cuda", without)
    assert "quantization none" in err.value.hint
    assert resolve_quant("auto", "cpu", without) == "none"
