"""A first-time user's session, seen: the real app (FarNodeApp, its tray and windows) on an X display of a
1366x768 laptop (Xvfb in `make test`), a real devnet (chain + coordinator over loopback HTTP) and the real Secret
Service keyring; GPUs are recorded readings with scripted nodes. First run (a new wallet, its words written down
and typed back), serve, pause and resume, stop and start, a claim paid on chain, settings applied, quit. Every
window is saved to artifacts/screenshots/walk-*.png and checked: it fits the screen, its primary buttons are on
screen, its check boxes and radio buttons have visible outlines, and no text says "wei"."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from farnode_desktop.core.earnings.ledger import ClaimState
from farnode_desktop.core.earnings.wallet import ADDRESS_ENTRY, KEY_ENTRY
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.settings import Settings
from farnode_desktop.devnet import Devnet
from farnode_desktop.ui.app import FarNodeApp, setup_logging
from farnode_desktop.ui.viewmodels.tray_vm import PAUSE_CHOICES, TrayState
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from farnode_desktop.ui.windows.firstrun import FirstRunWindow
from farnode_desktop.ui.windows.settings import SettingsWindow
from farnode_desktop.ui.windows.wallet import WalletWindow
from tests.devnet.helpers import report_usage, secret_service
from tests.ui.fakes import BIG_MODEL, make_core
from tests.ui.screen_checks import SCREEN, check_and_shoot, pin_devnet, visible_texts

pytestmark = [
    pytest.mark.tray,
    pytest.mark.keyring,
    pytest.mark.slow,
    pytest.mark.skipif(not (os.environ.get("FARNODE_TEST_DISPLAY") and os.environ.get("DISPLAY")),
                       reason="needs the X display of scripts/test-session.sh (Xvfb 1366x768 with a tray host)"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]


def test_a_first_time_user_walks_every_window_on_a_1366x768_screen(devnet: Devnet, tmp_path: Path,
                                                                   qtbot: QtBot) -> None:
    geometry = QGuiApplication.primaryScreen().geometry()
    assert (geometry.width(), geometry.height()) == SCREEN, "scripts/test-session.sh runs Xvfb at 1366x768"
    assert devnet.info is not None
    backend = secret_service()
    service = f"FarNode walkthrough {uuid.uuid4().hex}"
    settings = Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=True, public_name="gaming-rig",
                        coordinator_url=devnet.info.coordinator_url, chain_rpc_url=devnet.info.rpc_url)
    core = make_core(tmp_path / "home", settings=settings, keystore=backend, wallet_service=service)
    pin_devnet(core.paths, devnet)
    setup_logging(core.paths, "DEBUG")  # the app's own log, as run_app sets it up: the phrase must not reach it
    app = FarNodeApp(core, use_tray=True)
    try:
        app.launch(start_core=False)  # a first run: the core starts when the wizard is done
        first = app.open_window("firstrun")
        assert isinstance(first, FirstRunWindow)
        vm = first.vm
        qtbot.waitUntil(lambda: vm.check_result is not None and not vm.busy, timeout=15_000)
        check_and_shoot(first, qtbot, "walk-01-firstrun-check")

        vm.step = 2  # the runtime step installs the real runtime (tests/integration/ does that)
        vm.enter()
        qtbot.waitUntil(lambda: not vm.wallet_setup.busy, timeout=10_000)
        panel = first.wallet_panel
        check_and_shoot(first, qtbot, "walk-02-firstrun-wallet")
        panel.create_button.click()
        words = dict(enumerate(vm.wallet_setup.words(), start=1))
        assert len(words) == 12
        check_and_shoot(first, qtbot, "walk-03-firstrun-phrase")
        panel.written_button.click()
        for edit, position in zip(panel.quiz_edits, vm.wallet_setup.quiz_positions, strict=True):
            edit.setText(words[position])
        check_and_shoot(first, qtbot, "walk-04-firstrun-words-back")
        panel.confirm_button.click()
        qtbot.waitUntil(lambda: vm.address is not None, timeout=15_000)
        assert vm.address == core.wallet_address()
        check_and_shoot(first, qtbot, "walk-05-firstrun-wallet-ready")
        first.next_button.click()
        check_and_shoot(first, qtbot, "walk-06-firstrun-start")
        phrase = " ".join(words[i] for i in range(1, 13))
        first.next_button.click()  # "Start serving": the core starts, the dashboard opens

        dashboard = app.window("dashboard")
        assert isinstance(dashboard, DashboardWindow)
        qtbot.waitUntil(lambda: app.tray_vm.state is TrayState.SERVING, timeout=30_000)

        def cards_say(state: TrayState) -> None:  # the tray and every card of the dashboard
            qtbot.waitUntil(lambda: app.tray_vm.state is state and bool(app.dashboard_vm.cards)
                            and all(c.state == state.value for c in app.dashboard_vm.cards), timeout=20_000)

        cards_say(TrayState.SERVING)
        check_and_shoot(dashboard, qtbot, "walk-07-dashboard-serving")
        app.tray_vm.pause(PAUSE_CHOICES[0])
        cards_say(TrayState.PAUSED)
        check_and_shoot(dashboard, qtbot, "walk-08-dashboard-paused")
        app.tray_vm.resume()
        cards_say(TrayState.SERVING)
        app.tray_vm.start_stop()
        cards_say(TrayState.STOPPED)
        check_and_shoot(dashboard, qtbot, "walk-09-dashboard-stopped")
        app.tray_vm.start_stop()
        cards_say(TrayState.SERVING)

        # Served work the gateway reports for the bound nodes, then a claim made from the wallet window.
        statuses = core.node_statuses()
        assert sorted(core.bind_nodes()) == sorted(s.peer_id for s in statuses)
        for i in range(12):
            s = statuses[i % len(statuses)]
            status, _ = report_usage(devnet.info, [{"peer_id": s.peer_id, "start_block": s.start_block,
                                                    "end_block": s.end_block, "tokens": 400 + 25 * i}],
                                     request_id=f"walk-{i:03d}")
            assert status == 200
        wallet = app.open_window("wallet")
        assert isinstance(wallet, WalletWindow)
        qtbot.waitUntil(lambda: app.wallet_vm.data is not None and app.wallet_vm.data.earnings is not None
                        and app.wallet_vm.data.earnings.claimable > 0, timeout=20_000)
        wallet.review_button.click()
        qtbot.waitUntil(lambda: app.wallet_vm.quote is not None, timeout=20_000)
        assert wallet.confirm_button.isEnabled(), wallet.claim_message.text()
        check_and_shoot(wallet, qtbot, "walk-10-wallet-review")
        wallet.confirm_button.click()
        qtbot.waitUntil(lambda: app.wallet_vm.claim_state is ClaimState.CONFIRMED, timeout=90_000)
        qtbot.waitUntil(lambda: app.wallet_vm.data is not None and len(app.wallet_vm.data.payouts) == 1,
                        timeout=20_000)
        check_and_shoot(wallet, qtbot, "walk-11-wallet-paid")

        settings_window = app.open_window("settings")
        assert isinstance(settings_window, SettingsWindow)
        check_and_shoot(settings_window, qtbot, "walk-12-settings")
        settings_window.apply_button.click()
        qtbot.waitUntil(lambda: not settings_window.vm.busy, timeout=20_000)

        logs = app.open_window("logs")
        qtbot.waitUntil(lambda: bool(logs.vm.lines), timeout=10_000)  # type: ignore[attr-defined]
        check_and_shoot(logs, qtbot, "walk-13-logs")
        for window in app.windows.values():
            assert not any(phrase in t or words[1] + " " + words[2] + " " + words[3] in t
                           for t in visible_texts(window))  # the words were shown once, and only there

        app.quit()
        qtbot.waitUntil(lambda: all(s.state is NodeState.STOPPED for s in core.node_statuses()), timeout=15_000)
        assert not any(w.isVisible() for w in app.windows.values())
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert (core.paths.logs / "app.log").stat().st_size > 0
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert phrase.encode() not in path.read_bytes(), path
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "farnode", False)]:
            root.removeHandler(handler)
            handler.close()
        for entry in (KEY_ENTRY, ADDRESS_ENTRY):
            with contextlib.suppress(Exception):
                backend.delete_password(service, entry)


def test_a_pc_without_a_gpu_is_told_it_serves_on_the_cpu(tmp_path: Path, qtbot: QtBot) -> None:
    """The demo on a PC with no NVIDIA driver: no GPU words, the planner box says the CPU serves."""
    from farnode_desktop.core.node.factory import TINY_DEMO
    from farnode_desktop.devnet.demo import MemoryKeyring
    from farnode_desktop.ui.viewmodels.tray_vm import Notice

    core = make_core(tmp_path / "home", fixture="no_driver.json", keystore=MemoryKeyring(),
                     settings=Settings(model=TINY_DEMO, new_swarm=True, serve_on_launch=True))
    app = FarNodeApp(core, use_tray=True)
    notices: list[Notice] = []
    app.tray_vm.notify.connect(notices.append)
    try:
        app.launch()
        qtbot.waitUntil(lambda: app.tray_vm.state is TrayState.SERVING, timeout=30_000)
        assert [s.name for s in core.node_statuses()] == ["cpu"]
        dashboard = app.open_window("dashboard")
        qtbot.waitUntil(lambda: bool(app.dashboard_vm.cards), timeout=10_000)
        check_and_shoot(dashboard, qtbot, "walk-cpu-dashboard")
        settings_window = app.open_window("settings")
        assert isinstance(settings_window, SettingsWindow)
        check_and_shoot(settings_window, qtbot, "walk-cpu-settings")
        plan = settings_window.plan.toPlainText()
        assert "on the CPU" in plan and "no NVIDIA driver" not in plan, plan
        app.tray_vm.pause(PAUSE_CHOICES[0])
        qtbot.waitUntil(lambda: any(n.title == "Paused" for n in notices), timeout=15_000)
        texts = [n.message for n in notices] + [t for w in app.windows.values() for t in visible_texts(w)]
        assert not any("All GPUs" in t for t in texts), texts
        app.quit()
        qtbot.waitUntil(lambda: all(s.state is NodeState.STOPPED for s in core.node_statuses()), timeout=15_000)
    finally:
        core.ledger.close()
