"""`farnode node start --gpu N`: the GPU is read through NVML (a recorded snapshot here) and judged before anything is
spawned, and the launch is the one the app's fleet runs on that GPU (checked on the command the supervisor would run;
no CUDA server is started on this GPU-less machine)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from farnode_desktop.cli import main
from farnode_desktop.cli.commands import build_parser
from farnode_desktop.cli.gpu_cmd import nvml_source
from farnode_desktop.cli.node_args import serving_gpu
from farnode_desktop.cli.node_cmd import background_argv, gpu_plan, start_spec
from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.fleet import FleetOptions, gpu_spec
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
from farnode_desktop.core.node.spec import NativeBackend
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"
LLAMA70 = "meta-llama/Llama-2-70b-chat-hf"


def use_gpus(monkeypatch: pytest.MonkeyPatch, fixture: str) -> None:
    monkeypatch.setenv("FARNODE_NVML_FIXTURE", str(FIXTURES / f"{fixture}.json"))


def nothing_spawned(home: Path) -> bool:
    return not list(home.rglob("service-*.log")) and not list(home.rglob("state.json"))


@pytest.mark.parametrize(
    ("fixture", "gpu", "code", "says", "hint"),
    [
        ("linux_rtx4090_rtx3060", 5, 2, "there is no GPU 5 on this PC", "GPUs found: 0, 1"),
        ("linux_gtx1060", 0, 1, "has compute capability 6.1", "this card cannot serve with FarNode"),
        ("linux_rtx2080ti_driver470", 0, 1, "driver 470.256.02 is too old", "update the NVIDIA driver to 580"),
        ("no_driver", 0, 1, "cannot serve on GPU 0: no NVIDIA driver was found", "install the current NVIDIA driver"),
    ],
)
def test_a_gpu_that_is_missing_or_cannot_serve_is_refused_before_anything_is_spawned(
    farnode_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    fixture: str, gpu: int, code: int, says: str, hint: str,
) -> None:
    use_gpus(monkeypatch, fixture)
    assert main(["node", "start", "--new-swarm", "--model", LLAMA70, "--gpu", str(gpu)]) == code
    err = capsys.readouterr().err
    assert says in err and hint in err and "Traceback" not in err, err
    assert nothing_spawned(farnode_home)


def test_a_gpu_left_out_in_settings_is_refused(farnode_home: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from farnode_desktop.core.settings import SettingsStore

    use_gpus(monkeypatch, "linux_rtx4090_rtx3060")
    SettingsStore(AppPaths.default().config_file).save(
        Settings(excluded_gpus=["GPU-0e7f2a41-3b6d-4f8a-a1c2-9d5e6b7c8a93"]))
    assert main(["node", "start", "--new-swarm", "--model", LLAMA70, "--gpu", "1"]) == 1
    assert "is left out in your settings" in capsys.readouterr().err
    assert nothing_spawned(farnode_home)


def test_more_blocks_than_the_gpu_fits_is_refused(farnode_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    use_gpus(monkeypatch, "linux_rtx4090_rtx3060")
    assert main(["node", "start", "--new-swarm", "--model", LLAMA70, "--gpu", "1", "--num-blocks", "18"]) == 2
    assert f"GPU 1 has room for 17 blocks of {LLAMA70}; cannot serve 18" in capsys.readouterr().err
    assert nothing_spawned(farnode_home)


def test_a_folder_outside_the_catalog_cannot_be_planned_for_a_gpu(
        farnode_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_gpus(monkeypatch, "linux_rtx4090")
    folder = tmp_path / "my-own-llama"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 64, '
                                        '"num_attention_heads": 4}')
    assert main(["node", "start", "--new-swarm", "--model", str(folder), "--gpu", "0"]) == 2
    err = capsys.readouterr().err
    assert "FarNode plans GPU blocks for the models in its catalog" in err and "without --gpu" in err
    assert nothing_spawned(farnode_home)


def parsed(*flags: str) -> argparse.Namespace:
    args = build_parser().parse_args(["node", "start", *flags])
    args.name = args.name or (f"gpu{args.gpu}" if args.gpu is not None else "cpu")
    return args


def test_the_gpu_node_is_the_one_the_app_runs_on_that_gpu(farnode_home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    use_gpus(monkeypatch, "linux_rtx4090_rtx3060")
    paths = AppPaths.default().ensure()
    settings = Settings(model=LLAMA70, new_swarm=True)
    runtime = NodeRuntime(paths.runtime)
    args = parsed("--new-swarm", "--model", LLAMA70, "--gpu", "1")
    spec = start_spec(args, paths, settings, runtime, gpu_plan(args, settings))
    model = Catalog.load().get(LLAMA70)
    assert spec == gpu_spec(serving_gpu(1, model, settings, nvml_source()), model, settings, FleetOptions())
    command = NativeBackend(runtime.python, mesh_source_root()).command(spec, paths.node_dir(spec.name))
    argv = command.argv
    assert argv[argv.index("--device") + 1] == "cuda" and argv[argv.index("--num_blocks") + 1] == "17"
    assert argv[argv.index("--quant_type") + 1] == "nf4" and argv[argv.index("--torch_dtype") + 1] == "float16"
    assert command.env["CUDA_VISIBLE_DEVICES"] == "1" and command.env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert command.cwd == paths.node_dir("gpu1")
    # --num-blocks chooses fewer blocks than the plan; without --gpu it stays a CPU node
    fewer = parsed("--new-swarm", "--model", LLAMA70, "--gpu", "1", "--num-blocks", "5")
    assert start_spec(fewer, paths, settings, runtime, gpu_plan(fewer, settings)).num_blocks == 5
    cpu = parsed("--new-swarm", "--model", LLAMA70)
    assert gpu_plan(cpu, settings) is None
    cpu_spec = start_spec(cpu, paths, settings, runtime, None)
    assert (cpu_spec.name, cpu_spec.device, cpu_spec.cuda_visible_devices) == ("cpu", "cpu", None)


def test_the_background_service_is_told_the_gpu() -> None:
    argv = background_argv(parsed("--new-swarm", "--model", LLAMA70, "--gpu", "1"))
    assert argv[argv.index("--gpu") + 1] == "1" and argv[argv.index("--name") + 1] == "gpu1"
    assert "--gpu" not in background_argv(parsed("--new-swarm", "--model", LLAMA70))


def test_node_status_says_a_serving_node_has_had_no_requests_and_for_how_long(
        farnode_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import os
    import time

    import psutil

    from farnode_desktop.core.node.service import SERVICE_PID_FILE
    from farnode_desktop.core.node.status import NodeState, NodeStatus

    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    # the running service is this test process (alive, its start time matches)
    (node_dir / SERVICE_PID_FILE).write_text(json.dumps({"pid": os.getpid(),
                                                         "create_time": psutil.Process().create_time()}))
    status = NodeStatus("cpu", NodeState.SERVING, "serving blocks 0-3 of tiny", start_block=0, end_block=4,
                        no_requests_for_s=400.0, updated_at=time.time() - 30)  # written 30 s ago: 7 min 10 s now
    (node_dir / "state.json").write_text(json.dumps(status.to_json()))
    assert main(["node", "status"]) == 0
    assert "node cpu: serving — no requests for 7 min (serving blocks 0-3 of tiny)" in capsys.readouterr().out
    assert main(["node", "status", "--json", "--name", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["no_requests"] == "no requests for 7 min"
    (node_dir / "state.json").write_text(json.dumps({**status.to_json(), "no_requests_for_s": 20.0,
                                                     "updated_at": time.time()}))
    assert main(["node", "status"]) == 0
    assert "node cpu: serving (serving blocks 0-3 of tiny)" in capsys.readouterr().out  # requests arrive: plain
