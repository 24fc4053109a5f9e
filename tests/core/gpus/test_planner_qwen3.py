"""Today's models in the planner: Qwen3's explicit head_dim and q/k norms, mixture-of-experts blocks that hold every
expert, the attention cache from kv heads x head_dim, and a model offered only where the node runtime serves it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.gpus.catalog import Catalog, ModelSpec, block_params, expert_params
from farnode_desktop.core.gpus.eligibility import SystemState, assess
from farnode_desktop.core.gpus.nvml import read_inventory
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.gpus.planner import GIB, MIB, attn_cache_bytes, block_bytes, plan_blocks, reserve_bytes
from farnode_desktop.core.node.runtime_lock import RuntimeNeeds, runtime_needs
from farnode_desktop.core.settings import Settings

CATALOG = Catalog.load()
QWEN3_32B = CATALOG.get("Qwen/Qwen3-32B")
QWEN3_30B_A3B = CATALOG.get("Qwen/Qwen3-30B-A3B")
QWEN3_235B = CATALOG.get("Qwen/Qwen3-235B-A22B")
MIXTRAL = CATALOG.get("mistralai/Mixtral-8x22B-Instruct-v0.1")
OLD = RuntimeNeeds(transformers="4.43.1")  # main's node runtime today
NEW = RuntimeNeeds(transformers="5.25.0")  # the transformers 5 runtime FarMesh's Qwen3 families are written for
RTX4090_TOTAL = 24564 * MIB
RTX4090_FREE = RTX4090_TOTAL - 498 * MIB
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"


def test_qwen3_32b_block_by_hand() -> None:
    """Published config: hidden 5120, 64 heads x head_dim 128 (= 8192, not 5120), 8 kv heads, MLP 25600."""
    h, heads, kv, d, inter = 5120, 64, 8, 128, 25600
    q_and_o = 2 * h * heads * d  # 83,886,080: heads x head_dim, not hidden
    k_and_v = 2 * h * kv * d  # 10,485,760
    q_k_norms = 2 * d  # Qwen3's RMSNorm on each head's q and k
    mlp = 3 * h * inter
    assert q_and_o + k_and_v + q_k_norms + mlp + 2 * h == 487_598_336 == block_params(QWEN3_32B)
    assert (QWEN3_32B.num_layers, QWEN3_32B.kv_groups, QWEN3_32B.attention_head_dim) == (64, 8, 128)


def test_qwen3_30b_a3b_block_holds_all_128_experts_by_hand() -> None:
    """Published config: hidden 2048, 32 heads x 128, 4 kv heads, 128 experts of width 768 (8 used per token)."""
    h, heads, kv, d, experts, width = 2048, 32, 4, 128, 128, 768
    attention = 2 * h * heads * d + 2 * h * kv * d + 2 * d
    all_experts = experts * 3 * h * width  # every expert lives in the block's memory
    router = h * experts
    assert all_experts == expert_params(QWEN3_30B_A3B) == 603_979_776
    assert attention + all_experts + router + 2 * h == 623_120_640 == QWEN3_30B_A3B.params_per_block
    assert QWEN3_30B_A3B.num_layers == 48


def test_the_attention_cache_counts_kv_heads_times_head_dim() -> None:
    """Qwen3-32B keeps 8 kv heads x 128 per token: 1.6x what Petals' `2 x hidden / kv groups` gives it."""
    assert attn_cache_bytes(QWEN3_32B, "bfloat16", 16384) == 2 * 8 * 128 * 16384 * 2 == 64 * MIB
    assert 2 * QWEN3_32B.hidden_size * 16384 // QWEN3_32B.kv_groups * 2 == 40 * MIB
    llama = CATALOG.get("meta-llama/Llama-2-70b-chat-hf")  # heads x head_dim = hidden: the same number as Petals'
    assert attn_cache_bytes(llama, "float16", 16384) == 2 * 8192 * 16384 // 8 * 2


def test_nf4_reaches_the_experts_on_transformers_5() -> None:
    """FarMesh serves MoE experts as Linear layers on transformers 5 too (`mesh/models/experts.py`; tests/mesh/models/
    test_experts.py quantizes them with Petals' own convert_block), so the whole block is planned in nf4 as on 4.43:
    Mixtral-8x22B gets the 15 blocks on a 24 GiB card the 4.43 runtime gave it, not the 4 of bfloat16 experts."""
    assert block_bytes(QWEN3_30B_A3B, "bfloat16", "nf4") == round(623_120_640 * 4.25 / 8 * 1.01)
    assert block_bytes(QWEN3_30B_A3B, "bfloat16", "none") == round(623_120_640 * 2 * 1.01)
    assert block_bytes(MIXTRAL, "bfloat16", "nf4") == round(2_504_060_928 * 4.25 / 8 * 1.01)
    old = plan_blocks(MIXTRAL, RTX4090_FREE, total_bytes=RTX4090_TOTAL, needs=OLD)
    new = plan_blocks(MIXTRAL, RTX4090_FREE, total_bytes=RTX4090_TOTAL, needs=NEW)
    assert old.num_blocks == new.num_blocks == 15
    assert "expert params" not in "\n".join(new.lines())


def test_qwen3_30b_a3b_on_a_4090_by_hand() -> None:
    plan = plan_blocks(QWEN3_30B_A3B, RTX4090_FREE, total_bytes=RTX4090_TOTAL, needs=NEW)
    usable = RTX4090_FREE - 1.5 * GIB - 512 * MIB - reserve_bytes(QWEN3_30B_A3B)
    per_block = round(623_120_640 * 4.25 / 8 * 1.01) + 2 * 4 * 128 * 16384 * 2
    assert plan.per_block_bytes == per_block
    assert math.floor(usable / per_block) == 61 and plan.num_blocks == 48  # all 48 fit, capped
    text = "\n".join(plan.lines())
    assert "one block: 623,120,640 params x 0.53125 bytes (nf4) x 1.01" in text
    assert "2 x 4 kv heads x 128 x 16384 tokens x 2 bytes (8 kv groups) = 32.00 MiB" in text
    assert plan.warnings == ()


def test_qwen3_235b_a22b_on_24_and_8_gib_cards() -> None:
    """1.24 GiB a block in nf4 (all 128 experts of each block included): a 24 GiB card holds 16 of its 94 blocks,
    an 8 GiB card 3, so one copy of the model needs about 6 such 24 GiB cards in the swarm."""
    plan = plan_blocks(QWEN3_235B, RTX4090_FREE, total_bytes=RTX4090_TOTAL, needs=NEW)
    assert plan.block_bytes == round(2_487_755_008 * 4.25 / 8 * 1.01)
    assert (plan.num_blocks, plan.model_layers) == (16, 94)
    assert plan_blocks(QWEN3_235B, 8 * GIB - 400 * MIB, needs=NEW).num_blocks == 3
    assert plan_blocks(QWEN3_235B, 6 * GIB, needs=NEW).num_blocks == 2


def test_qwen3_is_not_offered_by_todays_runtime_and_is_once_the_newer_one_lands() -> None:
    qwen = {m.name for m in CATALOG.models if m.family in ("qwen3", "qwen3_moe")}
    assert qwen == {"Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-235B-A22B"}
    offered_now = {m.name for m in CATALOG.offered(OLD.transformers)}
    assert offered_now == set(CATALOG.names()) - qwen  # nothing that serves today is dropped
    assert {m.name for m in CATALOG.offered(NEW.transformers)} == set(CATALOG.names())
    inventory = read_inventory(FakeNvml.from_file(FIXTURES / "linux_rtx4090.json"))
    refused = assess(inventory, QWEN3_32B, Settings(), OLD)
    assert refused.state is SystemState.MODEL_NOT_SERVABLE and refused.gpus == ()
    assert refused.reason == ("Qwen/Qwen3-32B needs the newer node runtime: FarMesh serves it on transformers 5.0.0 "
                              "or newer, and this FarNode's runtime has 4.43.1")
    assert "update FarNode" in refused.what_to_do
    ready = assess(inventory, QWEN3_32B, Settings(), NEW)
    assert ready.state is SystemState.READY and ready.gpus[0].plan is not None
    plan = plan_blocks(QWEN3_32B, RTX4090_FREE, needs=OLD)  # `farnode plan` still shows the arithmetic, and why not
    assert plan.warnings[0].endswith("the node does not start it until FarNode is updated")


def test_the_shipped_runtime_decides_what_is_offered() -> None:
    """The lock's own metadata names the runtime's transformers (today 4.43.1: no Qwen3; after the 5.x lock: all)."""
    transformers = runtime_needs().transformers
    offered = CATALOG.offered(transformers)
    assert all(m.family in ("qwen3", "qwen3_moe") for m in CATALOG.models if m not in offered)
    assert len(offered) >= 9


@pytest.mark.parametrize(("change", "words"), [
    ({"head_dim": 0}, "needs its config's head_dim"),
    ({"moe_intermediate_size": 0}, "needs its config's moe_intermediate_size"),
    ({"num_experts": 1}, "needs num_experts"),
    ({"head_dim": -128}, "cannot be negative"),
    ({"head_dim": 64}, "its architecture gives"),
])
def test_a_qwen3_entry_missing_its_shape_is_refused(change: dict[str, int], words: str, tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [QWEN3_30B_A3B.to_json() | change]}), encoding="utf-8")
    with pytest.raises(FarNodeError, match=words):
        Catalog.load(path)


def test_an_old_catalog_entry_without_the_new_fields_still_reads() -> None:
    raw = {k: v for k, v in CATALOG.get("meta-llama/Llama-2-70b-chat-hf").to_json().items()
           if k not in ("head_dim", "moe_intermediate_size")}
    spec = ModelSpec.from_json(raw)
    assert (spec.head_dim, spec.attention_head_dim, spec.moe_intermediate_size) == (0, 128, 0)
