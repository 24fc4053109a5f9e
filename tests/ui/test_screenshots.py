"""Every window in a realistic state, saved to artifacts/screenshots/: earnings, claims and payouts come from a
real devnet (chain + coordinator over loopback HTTP), the wallet lives in the real Secret Service keyring, and
usage is reported the way the gateway does. GPUs are recorded readings (no GPU here), with the nodes scripted."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.earnings.ledger import ClaimState
from farnode_desktop.core.earnings.wallet import KEY_ENTRY
from farnode_desktop.core.gpus.nvml import GIB
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.settings import Settings
from farnode_desktop.devnet import Devnet
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import take_snapshot
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel
from farnode_desktop.ui.viewmodels.firstrun_vm import FirstRunViewModel
from farnode_desktop.ui.viewmodels.format import count
from farnode_desktop.ui.viewmodels.logs_vm import LogsViewModel
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.viewmodels.tray_vm import TrayViewModel
from farnode_desktop.ui.viewmodels.wallet_vm import WalletViewModel
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from farnode_desktop.ui.windows.firstrun import FirstRunWindow
from farnode_desktop.ui.windows.logs import LogsWindow
from farnode_desktop.ui.windows.settings import SettingsWindow
from farnode_desktop.ui.windows.wallet import WalletWindow
from tests.core.earnings.test_wallet import PHRASE
from tests.devnet.helpers import report_usage, secret_service
from tests.ui.conftest import tick_until
from tests.ui.fakes import BIG_MODEL, make_core
from tests.ui.screen_checks import check_and_shoot, pin_devnet, settle_qt

pytestmark = [
    pytest.mark.keyring,
    pytest.mark.tray,  # on the X display of scripts/test-session.sh: a 1366x768 laptop screen
    pytest.mark.skipif(not (os.environ.get("FARNODE_TEST_DISPLAY") and os.environ.get("DISPLAY")),
                       reason="needs the X display of scripts/test-session.sh (Xvfb 1366x768)"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]


def shoot(widget: QWidget, qtbot: QtBot, name: str) -> Path:
    """The picture, checked: fits the screen, primary buttons on screen, outlines visible, no wei."""
    return check_and_shoot(widget, qtbot, name)


def serving_readings(core: AppCore) -> None:
    """What the two cards read while serving (the recorded idle snapshot plus the node's own load)."""
    nvml = core.sampler.reader.nvml  # the recorded snapshot behind the GPU boundary
    for index, used_gib, util, temp, watts, pid in ((0, 19.6, 96, 67, 318_000, 40211), (1, 9.4, 91, 63, 151_000, 40388)):
        gpu = nvml.gpu(index)
        total = gpu["memory"]["total"]
        gpu["memory"]["used"] = int(used_gib * GIB)
        gpu["memory"]["free"] = total - int(used_gib * GIB)
        gpu["utilization"] = {"gpu": util, "memory": util - 30}
        gpu["temperature"], gpu["power"] = temp, watts
        runtime_python = "/home/me/.local/share/FarNode/runtime/bin/python"
        nvml.set_process(index, "compute", pid, runtime_python, int((used_gib - 0.6) * GIB))
    core.sampler.sample_once()



def test_screenshots_of_every_window_with_devnet_numbers(devnet: Devnet, tmp_path: Path, qtbot: QtBot) -> None:
    assert devnet.info is not None
    backend = secret_service()
    service = f"FarNode screenshots {uuid.uuid4().hex}"
    settings = Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=False, public_name="gaming-rig",
                        coordinator_url=devnet.info.coordinator_url, chain_rpc_url=devnet.info.rpc_url)
    settings.pause.programs = ["blender.exe", "DaVinciResolve.exe"]
    # a work-hours window shown in Settings, but not today: games first would otherwise pause the nodes it waits for
    today = time.localtime().tm_wday
    settings.pause.schedule = [{"days": [d for d in range(5) if d != today], "start": "09:00", "end": "17:30"}]
    core = make_core(tmp_path / "home", settings=settings, keystore=backend, wallet_service=service)
    pin_devnet(core.paths, devnet)
    tasks = TaskRunner()
    try:
        core.start()
        wallet = core.wallet()
        assert wallet is not None
        address = wallet.import_mnemonic(PHRASE)
        core.start_nodes()
        tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
        assert sorted(core.bind_nodes()) == sorted(s.peer_id for s in core.node_statuses())  # signed, over HTTP
        serving_readings(core)

        # An hour of served work in the local ledger at the nodes' pace, then the gateway's usage reports.
        now = time.time()
        for i in range(60):
            for s, wobble in zip(core.node_statuses(), (1.0, 0.9), strict=True):
                rate = s.tokens_per_s * wobble * (0.8 + 0.35 * ((i * 7) % 11) / 10)
                core.ledger.record_served_work(s.name, s.peer_id or "", period_start=now - 3600 + 60 * i,
                                               period_end=now - 3540 + 60 * i, tokens=int(rate * 60),
                                               blocks=(s.end_block or 0) - (s.start_block or 0))
        peers = [(s.peer_id, s.start_block, s.end_block) for s in core.node_statuses()]
        for i in range(12):
            peer, start, end = peers[i % 2]
            status, _ = report_usage(devnet.info, [{"peer_id": peer, "start_block": start, "end_block": end,
                                                    "tokens": 400 + 25 * i}], request_id=f"req-{i:03d}")
            assert status == 200
        claims = core.claim_service()
        record = claims.follow(claims.start(claims.quote()), timeout_s=30)
        assert record.state is ClaimState.CONFIRMED, record.reason
        for i in range(12, 18):  # served since the payout: claimable again
            peer, start, end = peers[i % 2]
            report_usage(devnet.info, [{"peer_id": peer, "start_block": start, "end_block": end, "tokens": 380}],
                         request_id=f"req-{i:03d}")
        core.tick()
        snap = take_snapshot(core)

        tray = TrayViewModel(core, tasks)
        dash_vm = DashboardViewModel(core, tasks)
        tray.on_snapshot(snap)
        dash_vm.on_snapshot(snap)
        qtbot.waitUntil(lambda: len(dash_vm.series) >= 50)
        dashboard = DashboardWindow(dash_vm, tray)
        qtbot.addWidget(dashboard)
        # the headline's rate is the throughput chart's latest minute (the ledger's last record and what the nodes
        # served since), not a second figure of its own
        assert dashboard.headline.text() == f"Serving on 2 nodes · {count(snap.tokens_per_s)} tokens/s"
        assert 1000 < snap.tokens_per_s < 1300
        shoot(dashboard, qtbot, "dashboard")

        wallet_vm = WalletViewModel(core, tasks)
        wallet_window = WalletWindow(wallet_vm)
        qtbot.addWidget(wallet_window)
        with qtbot.waitSignal(wallet_vm.changed, timeout=20_000):
            wallet_vm.refresh()
        with qtbot.waitSignal(wallet_vm.claim_changed, timeout=20_000):
            wallet_vm.request_quote()
        qtbot.waitUntil(lambda: wallet_vm.quote is not None, timeout=20_000)
        data = wallet_vm.data
        assert data is not None and data.address == address and data.earnings is not None
        assert data.earnings.paid == record.amount  # the devnet's own figure (the fee included)
        assert wallet_vm.quote is not None and wallet_vm.quote.amount == data.earnings.claimable > 0
        [payout] = data.payouts
        assert payout.tx_hash == record.tx_hash and len(payout.work) == 12
        assert wallet_window.history.topLevelItem(0).text(4).startswith(record.tx_hash[:10])  # type: ignore[union-attr]
        assert wallet_window.address_label.text() == address
        shoot(wallet_window, qtbot, "wallet")

        settings_window = SettingsWindow(SettingsViewModel(core, tasks))
        qtbot.addWidget(settings_window)
        shoot(settings_window, qtbot, "settings")

        fresh = make_core(tmp_path / "fresh")  # a first run happens on an idle PC, before any node runs
        first = FirstRunViewModel(fresh, tasks)
        first_window = FirstRunWindow(first)
        qtbot.addWidget(first_window)
        first_window.show()
        qtbot.waitUntil(lambda: first.check_result is not None, timeout=10_000)
        qtbot.waitUntil(lambda: not first.busy)
        shoot(first_window, qtbot, "firstrun")
        assert first.check_result is not None and first.check_result.ok
        fresh.ledger.close()

        (core.paths.logs / "app.log").write_text(
            "".join(f"2026-11-22 14:{m:02d}:05 INFO farnode.app: {line}\n" for m, line in enumerate([
                "tray icon shown 0.61 s after launch", "node.state gpu0: started by the provider",
                "node.state gpu1: started by the provider", f"wallet {address} bound to the nodes",
                "node.state gpu0: serving blocks 0-40", "node.state gpu1: serving blocks 12-28",
                f"claim.confirmed wallet: payout confirmed on chain (tx {record.tx_hash})"])))
        logs_vm = LogsViewModel(core, tasks)
        logs_window = LogsWindow(logs_vm)
        qtbot.addWidget(logs_window)
        logs_window.show()
        qtbot.waitUntil(lambda: len(logs_vm.lines) >= 7)
        text = logs_window.text.toPlainText()
        assert address not in text and f"{address[:6]}…{address[-4:]}" in text
        shoot(logs_window, qtbot, "logs")
    finally:
        tasks.close()
        core.shutdown(timeout_s=5)
        for entry in (KEY_ENTRY, "address"):
            with contextlib.suppress(Exception):
                backend.delete_password(service, entry)
        settle_qt()
