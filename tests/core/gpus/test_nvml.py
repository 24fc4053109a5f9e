"""The NVML boundary: real pynvml on this machine (no driver), and snapshots replayed through FakeNvml."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pynvml
import pytest

from farnode_desktop.core.gpus.nvml import GIB, MIB, NvmlModule, read_inventory
from farnode_desktop.core.gpus.nvml_fake import FakeNvml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"


def fake(name: str) -> FakeNvml:
    return FakeNvml.from_file(FIXTURES / f"{name}.json")


def test_the_real_pynvml_module_and_the_fake_have_every_function_the_reader_calls() -> None:
    """mypy checks FakeNvml against NvmlModule; pynvml is untyped, so its side is checked here, arity included."""
    assert isinstance(pynvml, NvmlModule) and isinstance(fake("linux_rtx4090"), NvmlModule)
    for name, declared in vars(NvmlModule).items():
        if not name.startswith("nvml"):
            continue
        wanted = len(inspect.signature(declared).parameters) - 1  # without self
        params = inspect.signature(getattr(pynvml, name)).parameters.values()
        required = [p for p in params if p.default is inspect.Parameter.empty]
        assert len(required) <= wanted <= len(params), name

    class HalfNvml:
        def nvmlInit(self) -> None: ...

    assert not isinstance(HalfNvml(), NvmlModule)  # the check is not vacuous


def _real_nvml_works() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


@pytest.mark.skipif(
    _real_nvml_works(), reason="this machine has an NVIDIA driver; the no-driver path needs none"
)
def test_real_pynvml_without_driver_says_no_driver_and_what_to_do() -> None:
    inventory = read_inventory()  # the real pynvml module, the real libnvidia-ml lookup
    assert inventory.problem is not None
    assert inventory.problem.code == "no_driver"
    assert str(inventory.problem) == "no NVIDIA driver was found on this PC"
    assert "install the current NVIDIA driver" in inventory.problem.hint
    assert inventory.gpus == ()


def test_every_fixture_says_where_its_numbers_come_from() -> None:
    for path in FIXTURES.glob("*.json"):
        raw = json.loads(path.read_text())
        assert raw["source"].startswith(("RECONSTRUCTED", "RECORDED")), path.name
        for gpu in raw["gpus"]:
            m = gpu["memory"]
            assert m["free"] + m["used"] == m["total"], path.name


def test_rtx4090_reading_maps_every_field() -> None:
    inv = read_inventory(fake("linux_rtx4090"))
    assert inv.problem is None
    assert (inv.driver_version, inv.cuda_driver_version, inv.cuda_driver_text) == ("580.95.05", 13000, "13.0")
    (g,) = inv.gpus
    assert g.name == "NVIDIA GeForce RTX 4090"
    assert g.uuid.startswith("GPU-")
    assert g.total_bytes == 24564 * MIB
    assert g.used_bytes == 498 * MIB
    assert g.free_bytes == g.total_bytes - g.used_bytes
    assert g.compute_capability == (8, 9)
    assert g.temperature_c == 38
    assert (g.utilization_pct, g.memory_utilization_pct) == (2, 5)
    assert g.power_w == pytest.approx(18.634)
    assert g.power_limit_w == 450.0
    assert [p.short_name for p in g.graphics_processes] == ["Xorg", "gnome-shell", "firefox"]
    assert g.graphics_processes[0].used_bytes == 251 * MIB
    assert g.compute_processes == ()
    assert g.to_json()["compute_capability"] == "8.9"


def test_windows_wddm_reading_has_no_per_process_memory_and_keeps_names() -> None:
    inv = read_inventory(fake("windows_rtx3080_wddm"))
    (g,) = inv.gpus
    assert all(p.used_bytes is None for p in g.processes)
    assert [p.short_name for p in g.processes][:2] == ["explorer.exe", "chrome.exe"]
    json.dumps(inv.to_json())  # None fields serialise; nothing crashes


def test_readings_a_card_lacks_become_none_not_errors() -> None:
    nv = fake("linux_rtx4090")
    nv.gpu(0)["unsupported"] = ["temperature", "power", "power_limit", "utilization", "processes"]
    (g,) = read_inventory(nv).gpus
    assert (g.temperature_c, g.power_w, g.power_limit_w, g.utilization_pct, g.processes) == (
        None,
        None,
        None,
        None,
        (),
    )


def test_old_bindings_returning_bytes_are_decoded() -> None:
    class BytesNvml(FakeNvml):
        def nvmlDeviceGetName(self, handle: int) -> bytes:  # type: ignore[override]
            return super().nvmlDeviceGetName(handle).encode()

        def nvmlSystemGetDriverVersion(self) -> bytes:  # type: ignore[override]
            return super().nvmlSystemGetDriverVersion().encode()

    inv = read_inventory(BytesNvml(json.loads((FIXTURES / "linux_rtx4090.json").read_text())))
    assert inv.gpus[0].name == "NVIDIA GeForce RTX 4090"
    assert inv.driver_version == "580.95.05"


def test_process_without_a_readable_name_gets_a_placeholder() -> None:
    nv = fake("linux_rtx4090")
    nv.set_process(0, "compute", 777, "", 2 * GIB)
    g = read_inventory(nv).gpus[0]
    assert g.compute_processes[0].name == "process 777"


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("no_driver", "no_driver", "no NVIDIA driver"),
        ("driver_not_loaded", "driver_not_loaded", "not running"),
    ],
)
def test_init_failures_from_snapshots(name: str, code: str, words: str) -> None:
    inv = read_inventory(fake(name))
    assert inv.problem is not None and inv.problem.code == code
    assert words in str(inv.problem)
    assert inv.problem.hint


def test_reader_shuts_nvml_down_after_one_reading() -> None:
    nv = fake("linux_rtx4090")
    read_inventory(nv)
    assert nv.initialised == 0


def test_record_script_output_replays_through_the_fake(tmp_path: Path) -> None:
    import runpy

    module = runpy.run_path(str(Path(__file__).resolve().parents[3] / "scripts" / "record_nvml_snapshot.py"))
    snapshot = module["record"]("test")
    if snapshot["init_error"] is None:
        pytest.skip("a GPU is present; the round-trip below covers the no-driver record")
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot))
    inv = read_inventory(FakeNvml.from_file(path))
    assert inv.problem is not None and inv.problem.code == "no_driver"
    assert snapshot["source"].startswith("RECORDED")
