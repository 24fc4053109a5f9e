"""AppCore with a damaged ledger: the app opens (the damaged file kept aside, a new ledger started) and the provider
is told once, through an event (tests/ui/viewmodels/test_tray_vm_ledger.py: the tray's notice)."""

from __future__ import annotations

import json
from pathlib import Path

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.events import EventLog
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from tests.core.test_app_core import FIXTURES, RecordedSupervisor


def test_a_damaged_ledger_is_set_aside_and_the_provider_told(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path).ensure()
    paths.ledger_file.write_bytes(b"\x00\xffnot a database" * 500)
    SettingsStore(paths.config_file).save(Settings(model="meta-llama/Llama-2-70b-chat-hf", serve_on_launch=False))
    nvml = FakeNvml(json.loads((FIXTURES / "linux_rtx4090_rtx3060.json").read_text()))
    core = AppCore(paths, nvml=nvml, clock=ManualClock(), supervisor_factory=RecordedSupervisor, sample_gpus=False)
    log = EventLog()
    core.bus.subscribe(log)
    try:
        core.start(serve=False)
        assert core._ledger_problem == ""  # told once, not at every start
        [event] = [e for e in log.events if e.topic == "ledger.problem"]
        assert "a new ledger was started" in event.reason
        assert [p.name for p in paths.data.iterdir() if p.name.startswith("ledger.sqlite3.bad-")]
        assert core.ledger.claims() == []
    finally:
        core.shutdown(timeout_s=1)
