"""The one place node specs are built: the rules for a GPU node, a CPU node and a private swarm, and that the
fleet (the app) and `farnode node start` (the CLI) get the same launch from it."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.eligibility import assess
from farnode_desktop.core.gpus.fleet import FleetOptions, build_specs
from farnode_desktop.core.gpus.nvml import read_inventory
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.gpus.planner import plan_blocks
from farnode_desktop.core.node.factory import Swarm, local_spec, node_spec
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
CATALOG = Catalog.load()
LLAMA70 = CATALOG.get("meta-llama/Llama-2-70b-chat-hf")


def test_a_gpu_node_serves_its_plan_on_that_gpu_only() -> None:
    plan = plan_blocks(LLAMA70, 23 * 1024**3, total_bytes=24 * 1024**3)
    spec = node_spec("gpu1", LLAMA70.name, Swarm(False, ("/ip4/1.2.3.4/tcp/1/p2p/QmPeer",)), gpu=1, plan=plan)
    assert (spec.device, spec.cuda_visible_devices, spec.num_blocks) == ("cuda", "1", plan.num_blocks)
    assert (spec.torch_dtype, spec.quant_type, spec.attn_cache_tokens) == (plan.dtype, plan.quant,
                                                                            plan.attn_cache_tokens)
    assert (spec.listen_host, spec.throughput, spec.num_handlers) == ("0.0.0.0", "auto", None)
    # the provider's own number of blocks never goes past what fits
    assert node_spec("gpu1", LLAMA70.name, Swarm(True), gpu=1, plan=plan, blocks=2).num_blocks == 2
    assert node_spec("gpu1", LLAMA70.name, Swarm(True), gpu=1, plan=plan, blocks=999).num_blocks == plan.num_blocks


def test_a_cpu_node_in_a_private_swarm_stays_on_loopback_with_fixed_throughput() -> None:
    spec = node_spec("cpu", "/data/tiny", Swarm(True), blocks=4, dht_prefix="tiny-demo-hf")
    assert (spec.device, spec.cuda_visible_devices, spec.num_blocks, spec.torch_dtype) == ("cpu", None, 4, "float32")
    assert (spec.listen_host, spec.throughput, spec.num_handlers) == ("127.0.0.1", "1.0", 2)
    assert spec.quant_type is None and spec.attn_cache_tokens is None


def test_the_fleet_and_the_cli_build_the_same_launch(tmp_path: Path) -> None:
    """The app's fleet used to patch loopback and CPU throughput in afterwards; the CLI had its own rules."""
    tiny = CATALOG.get("farlabs/tiny-demo")
    folder = tmp_path / "tiny-demo"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama", "num_hidden_layers": 4}')
    inventory = read_inventory(FakeNvml.from_file(FIXTURES / "no_driver.json"))
    settings = Settings(model=tiny.name, new_swarm=True)
    [app] = build_specs(assess(inventory, tiny, settings), tiny, settings,
                        FleetOptions(model_source=str(folder), dht_prefix="tiny-demo-hf"))
    cli = local_spec("cpu", str(folder), AppPaths.under(tmp_path), NodeRuntime(tmp_path / "runtime"),
                     new_swarm=True, initial_peers=[])
    assert app == cli
    assert (app.listen_host, app.throughput, app.num_handlers) == ("127.0.0.1", "1.0", 2)
