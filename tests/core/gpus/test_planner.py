"""The block planner and the catalog: hand arithmetic, Petals' own formula, and the real layer sizes."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.gpus.catalog import MOE_FAMILIES, Catalog, ModelSpec, block_params, runtime_problem
from farnode_desktop.core.gpus.planner import (
    BLOCK_OVERHEAD,
    GIB,
    MIB,
    attn_cache_bytes,
    block_bytes,
    parse_size,
    petals_auto_blocks,
    plan_blocks,
    reserve_bytes,
)
from farnode_desktop.core.node.runtime_lock import version_tuple
from tests.runtime_env import runtime_dir_for_tests

CATALOG = Catalog.load()
LLAMA2_70B = CATALOG.get("meta-llama/Llama-2-70b-chat-hf")
RTX4090_TOTAL = 24564 * MIB  # what NVML reports for a 24 GiB RTX 4090
RTX4090_FREE = RTX4090_TOTAL - 498 * MIB  # an idle GNOME desktop on it (fixture linux_rtx4090.json)

# Parameters of one block as `sum(p.numel() for p in layer.parameters())` counted them for the real transformers
# layers (LlamaDecoderLayer, MixtralDecoderLayer, FalconDecoderLayer, BloomBlock: 4.43.1 and 5.25.0;
# Qwen3DecoderLayer, Qwen3MoeDecoderLayer: 5.25.0) built on the meta device with each model's published config
# (see test_counts_match_real_layers).
REAL_LAYER_PARAMS = {
    "meta-llama/Llama-2-70b-chat-hf": 855_654_400,
    "meta-llama/Meta-Llama-3.1-70B-Instruct": 855_654_400,
    "meta-llama/Llama-3.3-70B-Instruct": 855_654_400,
    "meta-llama/Meta-Llama-3.1-8B-Instruct": 218_112_000,
    "meta-llama/Meta-Llama-3.1-405B-Instruct": 3_187_703_808,
    "mistralai/Mixtral-8x22B-Instruct-v0.1": 2_504_060_928,
    "Qwen/Qwen3-8B": 192_946_432,
    "Qwen/Qwen3-14B": 330_311_936,
    "Qwen/Qwen3-32B": 487_598_336,
    "Qwen/Qwen3-30B-A3B": 623_120_640,
    "Qwen/Qwen3-235B-A22B": 2_487_755_008,
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
        "2 x 8 kv heads x 128 x 16384 tokens x 2 bytes (8 kv groups)",
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
# a node runtime on transformers 5 (the Qwen3 families), where the test runtime is older: e.g. a t5-runtime checkout's
NEWER_RUNTIME_PYTHON = os.environ.get("FARNODE_RUNTIME5_PYTHON", "")
COUNT_LAYERS = """
import importlib, inspect, json, sys
import torch, transformers
sys.path.insert(0, REPO)
LAYERS = {"llama": ("LlamaConfig", "llama", "LlamaDecoderLayer"),
          "mixtral": ("MixtralConfig", "mixtral", "MixtralDecoderLayer"),
          "falcon": ("FalconConfig", "falcon", "FalconDecoderLayer"), "bloom": ("BloomConfig", "bloom", "BloomBlock"),
          "qwen3": ("Qwen3Config", "qwen3", "Qwen3DecoderLayer"),
          "qwen3_moe": ("Qwen3MoeConfig", "qwen3_moe", "Qwen3MoeDecoderLayer")}
out = {"transformers": transformers.__version__, "blocks": {}}
for m in json.loads(input()):
    config_name, module, layer_name = LAYERS[m["family"]]
    if not hasattr(transformers, config_name):
        continue
    config_class = getattr(transformers, config_name)
    h, heads, kv = m["hidden_size"], m["num_attention_heads"], m["num_key_value_heads"]
    if m["family"] == "bloom":
        config = config_class(hidden_size=h, n_head=heads)
    elif m["family"] == "falcon":
        config = config_class(hidden_size=h, num_attention_heads=heads, num_kv_heads=kv,
                              new_decoder_architecture=True, parallel_attn=True, bias=False)
    else:
        keys = dict(hidden_size=h, intermediate_size=m["intermediate_size"], num_attention_heads=heads,
                    num_key_value_heads=kv)
        if m["family"] == "mixtral":
            keys.update(num_local_experts=m["num_experts"])
        if m["family"].startswith("qwen3"):
            keys.update(head_dim=m["head_dim"])
        if m["family"] == "qwen3_moe":  # every layer sparse, as the published configs have it
            keys.update(num_experts=m["num_experts"], moe_intermediate_size=m["moe_intermediate_size"],
                        decoder_sparse_step=1, mlp_only_layers=[])
        config = config_class(**keys)
    layer = getattr(importlib.import_module(f"transformers.models.{module}.modeling_{module}"), layer_name)
    with torch.device("meta"):
        takes_index = "layer_idx" in inspect.signature(layer.__init__).parameters
        block = layer(config, layer_idx=0) if takes_index else layer(config)
        moe = getattr(block, "mlp", None) or getattr(block, "block_sparse_moe", None)  # 4.43's Mixtral: the latter
        if m["family"] in ("mixtral", "qwen3_moe") and not isinstance(moe.experts, torch.nn.ModuleList):
            # transformers 5's fused experts: FarMesh's served block holds them as Linear layers instead
            from farnode_desktop.mesh.models.experts import LinearExperts
            inter = getattr(config, "moe_intermediate_size", config.intermediate_size)
            moe.experts = LinearExperts(m["num_experts"], h, inter, config.hidden_act)
    total = sum(p.numel() for p in block.parameters())
    in_linear = sum(p.numel() for sub in block.modules() if isinstance(sub, torch.nn.Linear)
                    for p in sub.parameters(recurse=False))
    out["blocks"][m["name"]] = {"params": total, "outside_linear": total - in_linear}
print(json.dumps(out))
"""


def count_real_layers(python: Path) -> tuple[str, dict[str, dict[str, int]]]:
    """Build every catalog model's block in that Python's transformers; its version and each block's counts."""
    script = COUNT_LAYERS.replace("REPO", repr(str(Path(__file__).resolve().parents[3])))
    run = subprocess.run([str(python), "-c", script], input=json.dumps([m.to_json() for m in CATALOG.models]),
                         capture_output=True, text=True, timeout=300, check=True)
    out = json.loads(run.stdout.strip().splitlines()[-1])
    return out["transformers"], out["blocks"]


def check_counts(transformers: str, counted: dict[str, dict[str, int]], models: list[ModelSpec]) -> None:
    for model in models:
        real = counted[model.name]
        assert real["params"] == model.params_per_block == REAL_LAYER_PARAMS[model.name], model.name
        # what nf4/int8 leave in the serving dtype (the planner's 1% margin covers it): the norms, and a MoE block's
        # router where transformers holds it as a plain tensor (5.x); every expert is in a Linear layer
        moe = model.family in MOE_FAMILIES
        router = model.hidden_size * model.num_experts if moe else 0
        assert real["outside_linear"] <= 4 * model.hidden_size + 2 * model.attention_head_dim + router, model.name
        # a MoE block's: its bytes in bfloat16 fit in the 1% Petals adds to an nf4 block (QUANT_BYTES["nf4"] = 4.25 / 8)
        if moe:
            assert real["outside_linear"] * 2 < model.params_per_block * 4.25 / 8 * BLOCK_OVERHEAD, model.name


@pytest.mark.runtime
@pytest.mark.skipif(
    not RUNTIME_PYTHON.exists(), reason="the node runtime (transformers) is not installed here: run `make runtime`"
)
def test_counts_match_real_layers() -> None:
    """Build each catalog model's real block in the runtime's transformers and count its parameters: every model
    this runtime serves is counted (one it cannot build is one that names a newer runtime)."""
    transformers, counted = count_real_layers(RUNTIME_PYTHON)
    served = CATALOG.offered(transformers)
    assert {m.name for m in served} <= set(counted)
    check_counts(transformers, counted, served)
    later = [m.name for m in CATALOG.models if m not in served]
    assert all(runtime_problem(CATALOG.get(n), transformers) for n in later)


@pytest.mark.runtime
def test_counts_match_real_layers_on_the_newer_runtime() -> None:
    """The models that need a newer runtime (Qwen3, Qwen3-MoE on transformers 5) against its real layers."""
    python = Path(NEWER_RUNTIME_PYTHON) if NEWER_RUNTIME_PYTHON else RUNTIME_PYTHON
    if not python.exists():
        pytest.skip("no node runtime installed here: run `make runtime`")
    transformers, counted = count_real_layers(python)
    later = [m for m in CATALOG.models if runtime_problem(m, transformers) is None
             and version_tuple(m.min_transformers or "0") >= (5,)]
    if not later:
        pytest.skip(f"the node runtime here has transformers {transformers}, older than the Qwen3 models need: set "
                    "FARNODE_RUNTIME5_PYTHON to a transformers 5 runtime's python to count them")
    check_counts(transformers, counted, later)
    assert {m.family for m in later} == {"qwen3", "qwen3_moe"}


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
