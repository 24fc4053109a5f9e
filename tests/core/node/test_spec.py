"""A node's spec turned into its server's command: Petals' arguments exactly as chosen, the native backend's
environment (GPU numbering that matches NVML, offline for a local model) and the WSL2 backend's translated paths."""

from __future__ import annotations

import shlex
from pathlib import Path

from farnode_desktop.core.node.spec import ENDPOINT_FILE, IDENTITY_FILE, NativeBackend, NodeSpec, WslBackend


def test_a_bare_spec_asks_for_little_and_every_choice_becomes_its_flag() -> None:
    ident = Path("/n/identity.key")
    assert NodeSpec("n", "bigscience/bloom-560m").petals_args(ident) == [
        "bigscience/bloom-560m", "--device", "cpu", "--torch_dtype", "auto", "--host_maddrs", "/ip4/0.0.0.0/tcp/0",
        "--identity_path", "/n/identity.key"]
    full = NodeSpec("n", "m", dht_prefix="m-far", initial_peers=["/ip4/1.2.3.4/tcp/31337/p2p/Qm"], port=31330,
                    announce_host="5.6.7.8", device="cuda", torch_dtype="float16", num_blocks=4, quant_type="nf4",
                    attn_cache_tokens=8192, throughput="12.5", public_name="rig", num_handlers=8, extra_args=["--x"])
    args = full.petals_args(ident)
    for flag, value in [("--dht_prefix", "m-far"), ("--initial_peers", "/ip4/1.2.3.4/tcp/31337/p2p/Qm"),
                        ("--host_maddrs", "/ip4/0.0.0.0/tcp/31330"), ("--announce_maddrs", "/ip4/5.6.7.8/tcp/31330"),
                        ("--device", "cuda"), ("--torch_dtype", "float16"), ("--num_blocks", "4"),
                        ("--quant_type", "nf4"), ("--attn_cache_tokens", "8192"), ("--throughput", "12.5"),
                        ("--public_name", "rig"), ("--num_handlers", "8")]:
        assert args[args.index(flag) + 1] == value
    assert args[-1] == "--x"


def test_a_new_swarm_ignores_initial_peers_and_block_indices_win_over_a_count() -> None:
    args = NodeSpec("n", "m", new_swarm=True, initial_peers=["/ip4/1.2.3.4/tcp/1"], num_blocks=4,
                    block_indices="0:4").petals_args(Path("i"))
    assert "--new_swarm" in args and "--initial_peers" not in args
    assert args[args.index("--block_indices") + 1] == "0:4" and "--num_blocks" not in args


def test_the_native_command_runs_the_mesh_server_with_a_minimal_environment(tmp_path: Path) -> None:
    backend = NativeBackend(Path("/rt/bin/python"), Path("/app"))
    hub = backend.command(NodeSpec("n", "bigscience/bloom-560m", cuda_visible_devices="1"), tmp_path)
    assert hub.argv[:5] == ["/rt/bin/python", "-m", "farnode_desktop.mesh.serve", "--endpoint-file",
                            str(tmp_path / ENDPOINT_FILE)]
    assert hub.argv[hub.argv.index("--identity_path") + 1] == str(tmp_path / IDENTITY_FILE)
    assert hub.cwd == tmp_path
    assert (hub.env["PYTHONPATH"], hub.env["CUDA_VISIBLE_DEVICES"], hub.env["CUDA_DEVICE_ORDER"]) == (
        "/app", "1", "PCI_BUS_ID")
    assert "HF_HUB_OFFLINE" not in hub.env
    local = tmp_path / "models" / "tiny"
    local.mkdir(parents=True)
    offline = backend.command(NodeSpec("n", str(local)), tmp_path)
    assert offline.env["HF_HUB_OFFLINE"] == "1" and "CUDA_VISIBLE_DEVICES" not in offline.env


def test_the_wsl_command_translates_windows_paths_and_quotes_the_inner_command() -> None:
    assert WslBackend.to_wsl_path("C:\\Users\\Ann\\FarNode") == "/mnt/c/Users/Ann/FarNode"
    assert WslBackend.to_wsl_path("/already/linux") == "/already/linux"
    command = WslBackend().command(NodeSpec("n", "m", public_name="Ann's rig", cuda_visible_devices="0"),
                                   Path("C:\\Users\\Ann\\node"))
    assert command.argv[:6] == ["wsl.exe", "-d", "FarNode", "--cd", "/mnt/c/Users/Ann/node", "--exec"]
    inner = shlex.split(command.argv[-1].removeprefix("exec "))
    assert inner[inner.index("--public_name") + 1] == "Ann's rig"
    assert "CUDA_VISIBLE_DEVICES=0" in inner and inner[inner.index("--endpoint-file") + 1] == (
        f"/mnt/c/Users/Ann/node/{ENDPOINT_FILE}")
