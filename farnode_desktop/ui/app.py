"""The desktop app: QApplication, one instance per user, the core ticked off the GUI thread, tray and windows."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.app_start import RESTART_EXIT
from farnode_desktop.ui.bridge import CoreBridge
from farnode_desktop.ui.heartbeat import Heartbeat
from farnode_desktop.ui.icons import app_icon
from farnode_desktop.ui.single_instance import SingleInstance, server_name
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.tray import Tray
from farnode_desktop.ui.viewmodels.core_api import CoreApi
from farnode_desktop.ui.viewmodels.dashboard_vm import DashboardViewModel
from farnode_desktop.ui.viewmodels.format import error_text
from farnode_desktop.ui.viewmodels.tray_vm import Notice, TrayViewModel
from farnode_desktop.ui.viewmodels.update_vm import UpdateViewModel
from farnode_desktop.ui.viewmodels.wallet_vm import WalletViewModel

log = logging.getLogger("farnode.app")
EARNINGS_REFRESH_MS = 60_000
# Quit waits this long for the nodes to stop and their served work to be recorded, then the app ends anyway: each
# node's server ends its own process group when the app is gone (its lifeline), and whatever else is in flight
# (a keyring prompt, a chain or coordinator call) runs on daemon threads that are let go.
QUIT_DEADLINE_S = 10.0
APP_LOG = "app.log"
LAUNCHED_AT = time.monotonic()


def setup_logging(paths: AppPaths, level: str = "INFO") -> None:
    """The app's own log (app.log, rotated); the Logs window and diagnostics read it."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(paths.logs / APP_LOG, maxBytes=1_000_000, backupCount=3,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "farnode", False)]:
        root.removeHandler(old)
    handler.farnode = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))


def shut_down_within(shutdown: Callable[[], None], deadline_s: float, done: Callable[[], None]) -> threading.Thread:
    """Run `shutdown` on a daemon thread (never the task runner's: its workers may all be stuck) and call `done` from
    that thread when it returns or fails; the caller's own timer covers `deadline_s`."""

    def run() -> None:
        try:
            shutdown()
        except Exception:
            log.exception("the shutdown failed; quitting anyway")
        finally:
            done()

    thread = threading.Thread(target=run, name=f"farnode-quit-{deadline_s:.0f}s", daemon=True)
    thread.start()
    return thread


class FarNodeApp(QObject):
    """Wires the core to the UI: bridge, task runner, heartbeat, tray, view-models and lazily built windows."""

    _shut_down = Signal()  # emitted by the quit thread; delivered on the GUI thread

    def __init__(self, core: CoreApi, *, use_tray: bool | None = None, core_started: bool = False,
                 shutdown: Callable[[], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = TaskRunner(parent=self)
        self.bridge = CoreBridge(core.bus, self)
        self.heartbeat = Heartbeat(core, self.tasks, parent=self)
        self.tray_vm = TrayViewModel(core, self.tasks, self)
        self.update_vm = UpdateViewModel(self)  # the app update's download and Restart to update
        self.exit_code = 0  # RESTART_EXIT after Restart to update: the launcher starts FarNode again
        self.dashboard_vm = DashboardViewModel(core, self.tasks, self)
        self.wallet_vm = WalletViewModel(core, self.tasks, self)
        self.windows: dict[str, QWidget] = {}
        self.use_tray = Tray.available() if use_tray is None else use_tray
        self.tray: Tray | None = None
        self._core_started = core_started
        self._shutdown = shutdown or core.shutdown
        self._quitting = False
        self._finished_once = False
        self.quit_took_s: float | None = None
        self._shut_down.connect(self._finished)
        self.heartbeat.snapshot.connect(self.tray_vm.on_snapshot)
        self.heartbeat.snapshot.connect(self.dashboard_vm.on_snapshot)
        self.bridge.any_event.connect(self.tray_vm.on_event)
        self.bridge.any_event.connect(self.update_vm.on_event)
        self.bridge.any_event.connect(self._log_event)
        self.bridge.claim.connect(self.wallet_vm.on_event)
        self.bridge.claim.connect(lambda _e: self.refresh_earnings())
        self.tasks.failed.connect(self._task_failed)
        self._earnings_timer = QTimer(self)
        self._earnings_timer.setInterval(EARNINGS_REFRESH_MS)
        self._earnings_timer.timeout.connect(self.refresh_earnings)

    # -- lifecycle ------------------------------------------------------------------------------------
    def launch(self, start_core: bool = True) -> None:
        """Show the tray (or the dashboard where no tray exists) at once; start the core on a worker."""
        if self.use_tray:
            self.tray = Tray(self.tray_vm, self.show_window, self.quit, self, self.update_vm, self.restart_to_update)
            self.tray.show()
            log.info("tray icon shown %.2f s after launch", time.monotonic() - LAUNCHED_AT)
        else:
            self.open_window("dashboard")
            log.info("no system tray here: the dashboard is the main window (%.2f s after launch)",
                     time.monotonic() - LAUNCHED_AT)
        if self._core_started:
            self._started(None)
        elif start_core:
            self._core_started = True
            self.tasks.submit(self.core.start, self._started, self._start_failed)

    def _started(self, _: object) -> None:
        self.heartbeat.start()
        self._earnings_timer.start()
        self.refresh_earnings()

    def _start_failed(self, exc: BaseException) -> None:
        log.error("the core did not start: %s", error_text(exc))
        self.tray_vm.notify.emit(Notice("FarNode could not start", error_text(exc, "\n"), "critical"))
        self.open_window("firstrun")

    def refresh_earnings(self) -> None:
        self.tasks.submit(self.core.earnings, self.tray_vm.on_earnings, lambda exc: None, key="earnings")

    def quit(self, deadline_s: float = QUIT_DEADLINE_S) -> None:
        """Stop every node and leave the event loop within `deadline_s`, whatever is in flight: keyring calls still
        waiting are let go at once, the core's shutdown gets `deadline_s`, then the app ends anyway."""
        if self._quitting:
            return
        self._quitting = True
        self._quit_started = time.monotonic()
        log.info("quitting (at most %.0f s)", deadline_s)
        self.core.let_go_of_waits()
        self.heartbeat.stop()
        self._earnings_timer.stop()
        for window in self.windows.values():
            window.hide()
        if self.tray is not None:
            self.tray.hide()
        QTimer.singleShot(int(deadline_s * 1000), self._deadline_passed)
        shut_down_within(self._shutdown, deadline_s, self._shut_down.emit)

    def restart_to_update(self) -> None:
        """Quit as the Quit item does, with the exit code that has the launcher apply the update and start again."""
        self.exit_code = RESTART_EXIT
        self.quit()

    def _deadline_passed(self) -> None:
        if not self._finished_once:
            log.warning("the shutdown did not finish within the quit deadline: quitting anyway (each node's server "
                        "ends its own processes when the app is gone)")
            self._finished()

    def _finished(self, _: object = None) -> None:
        if self._finished_once:
            return
        self._finished_once = True
        self.quit_took_s = time.monotonic() - self._quit_started
        log.info("quit after %.1f s", self.quit_took_s)
        self.tasks.close(timeout_ms=0)  # nothing more is delivered; jobs still running are let go
        self.bridge.close()
        app = QApplication.instance()
        if app is not None:
            app.exit(self.exit_code)

    # -- windows --------------------------------------------------------------------------------------
    def window(self, name: str) -> QWidget:
        if name not in self.windows:
            self.windows[name] = self._build(name)
        return self.windows[name]

    def show_window(self, name: str) -> None:
        self.open_window(name)

    def open_window(self, name: str) -> QWidget:
        window = self.window(name)
        if name == "wallet":
            self.wallet_vm.refresh()
        if name == "dashboard":
            self.dashboard_vm.refresh_chart()
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _build(self, name: str) -> QWidget:
        if name == "dashboard":
            from farnode_desktop.ui.windows.dashboard import DashboardWindow

            dashboard = DashboardWindow(self.dashboard_vm, self.tray_vm, update=self.update_vm,
                                        restart=self.restart_to_update)
            if not self.use_tray:
                dashboard.closing.connect(self.quit)  # no tray to live in: closing the window quits
            return dashboard
        if name == "wallet":
            from farnode_desktop.ui.windows.wallet import WalletWindow

            return WalletWindow(self.wallet_vm)
        if name == "settings":
            from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
            from farnode_desktop.ui.windows.settings import SettingsWindow

            return SettingsWindow(SettingsViewModel(self.core, self.tasks, self))
        if name == "logs":
            from farnode_desktop.ui.viewmodels.logs_vm import LogsViewModel
            from farnode_desktop.ui.windows.logs import LogsWindow

            logs_vm = LogsViewModel(self.core, self.tasks, self)
            self.bridge.any_event.connect(logs_vm.on_event)
            return LogsWindow(logs_vm)
        if name == "firstrun":
            from farnode_desktop.ui.viewmodels.firstrun_vm import FirstRunViewModel
            from farnode_desktop.ui.windows.firstrun import FirstRunWindow

            firstrun_vm = FirstRunViewModel(self.core, self.tasks, self)
            firstrun_vm.finished.connect(self._first_run_done)
            return FirstRunWindow(firstrun_vm)
        raise ValueError(f"no window named {name!r}")

    def _first_run_done(self) -> None:
        if not self._core_started:
            self._core_started = True
            self.tasks.submit(self.core.start, self._started, self._start_failed)
        self.open_window("dashboard")

    # -- reporting ------------------------------------------------------------------------------------
    def _log_event(self, event: Event) -> None:
        if event.topic != "gpu.telemetry":
            log.info("%s %s: %s", event.topic, event.source, event.reason)

    def _task_failed(self, exc: BaseException) -> None:
        if isinstance(exc, FarNodeError):
            self.tray_vm.notify.emit(Notice("FarNode", error_text(exc, "\n"), "warning"))


def make_qapp(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    qapp = QApplication(argv or sys.argv[:1])
    qapp.setApplicationName("FarNode")
    qapp.setOrganizationName("FarLabs")
    qapp.setApplicationDisplayName("FarNode")
    qapp.setQuitOnLastWindowClosed(False)
    qapp.setWindowIcon(app_icon())
    return qapp


def quit_on_signals(quit_fn: Callable[[], None]) -> QTimer:
    """Ctrl-C and SIGTERM quit the way the Quit item does (nodes stopped, within QUIT_DEADLINE_S) instead of being
    swallowed by Qt's event loop; a second one ends the process at once (the nodes end themselves by their lifeline).

    Python runs signal handlers only between bytecodes, so a short no-op timer keeps it waking up.
    """
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        if len(received) > 1:
            log.warning("%s again while quitting: ending now", signal.Signals(signum).name)
            logging.shutdown()
            os._exit(128 + signum)
        log.info("%s: quitting", signal.Signals(signum).name)
        QTimer.singleShot(0, quit_fn)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    waker = QTimer()
    waker.timeout.connect(lambda: None)
    waker.start(300)
    return waker


def run_app(args: argparse.Namespace | None = None) -> int:
    """`farnode` / `farnode app`: the tray app. A second launch raises the running one and exits."""
    qapp = make_qapp()
    instance = SingleInstance()
    if not instance.acquire():
        print("FarNode is already running: showing it", file=sys.stderr)
        return 0
    from farnode_desktop.core.app_core import AppCore
    from farnode_desktop.core.settings import SettingsStore

    paths = AppPaths.default().ensure()
    try:
        level = SettingsStore(paths.config_file).load().log_level
    except FarNodeError:
        level = "INFO"
    setup_logging(paths, level)
    core = AppCore(paths)
    app = FarNodeApp(core)
    instance.raise_requested.connect(lambda: app.open_window("dashboard"))
    first_run = not first_run_done(paths)
    app.launch(start_core=not first_run)
    if first_run:
        app.open_window("firstrun")
    waker = quit_on_signals(app.quit)
    code = int(qapp.exec())
    waker.stop()
    instance.release()
    return code


class _Lines(QObject):
    """Carries the demo's progress lines from its worker to the splash on the GUI thread."""

    line = Signal(str)


def run_demo_app(args: argparse.Namespace) -> int:
    """`farnode demo` / `farnode app --demo`: the whole network on loopback, shown in the tray app."""
    from PySide6.QtWidgets import QLabel, QVBoxLayout

    from farnode_desktop.core.node.runtime import NodeRuntime
    from farnode_desktop.devnet.demo import DemoNetwork, demo_paths, update_after
    from farnode_desktop.ui.windows.style import STYLESHEET

    qapp = make_qapp()
    instance = SingleInstance(server_name("demo"))
    if not instance.acquire():
        print("the FarNode demo is already running: showing it", file=sys.stderr)
        return 0
    real = AppPaths.default().ensure()
    paths = demo_paths(real, say=lambda text: log.info("demo: %s", text))
    setup_logging(paths.ensure())
    lines = _Lines()
    demo = DemoNetwork(paths, NodeRuntime(real.runtime), on_line=lines.line.emit,
                       runtime_update_after_s=update_after(args))  # then the node switches runtimes, on screen
    splash = QWidget()
    splash.setWindowTitle("FarNode demo")
    splash.setStyleSheet(STYLESHEET)
    layout = QVBoxLayout(splash)
    layout.addWidget(QLabel("Starting the demo network on this PC: chain, coordinator, gateway and a node…"))
    progress = QLabel("")
    progress.setObjectName("muted")
    progress.setWordWrap(True)
    layout.addWidget(progress)
    splash.resize(560, 140)
    splash.show()
    lines.line.connect(progress.setText)
    lines.line.connect(lambda text: log.info("demo: %s", text))
    tasks = TaskRunner()
    holder: dict[str, FarNodeApp] = {}

    def started(core: object) -> None:
        splash.hide()
        app = FarNodeApp(demo.core, core_started=True, shutdown=demo.stop)  # type: ignore[arg-type]
        holder["app"] = app
        instance.raise_requested.connect(lambda: app.open_window("dashboard"))
        app.launch()
        app.open_window("dashboard")
        claim_every = float(getattr(args, "claim_every", 45) or 45)
        timer = QTimer(app)
        timer.setInterval(int(claim_every * 1000))
        timer.timeout.connect(lambda: app.tasks.submit(demo.claim, lambda _r: app.wallet_vm.refresh(),
                                                       lambda exc: None, key="demo-claim"))
        timer.start()
        duration = float(getattr(args, "duration", 0) or 0)
        if duration:
            QTimer.singleShot(int(duration * 1000), app.quit)

    def failed(exc: BaseException) -> None:
        progress.setText("The demo could not start: " + error_text(exc, "\n"))
        log.error("demo failed: %s", exc)
        tasks.submit(demo.stop, lambda _r: None, lambda _e: None)

    cancel = threading.Event()

    def quit_demo() -> None:
        if "app" in holder:
            holder["app"].quit()  # stops the node, gateway and devnet, then leaves the event loop
        else:
            cancel.set()  # still starting: the start gives up, and the network is stopped below
            qapp.quit()

    tasks.submit(lambda: demo.start(cancelled=cancel.is_set), started, failed)
    waker = quit_on_signals(quit_demo)
    code = int(qapp.exec())
    waker.stop()
    tasks.close(timeout_ms=int(QUIT_DEADLINE_S * 1000))  # a start that was cancelled gives up within seconds
    if "app" not in holder:
        outcome: list[BaseException] = []

        def stop() -> None:
            try:
                demo.stop()
            except FarNodeError as exc:
                outcome.append(exc)

        stopper = shut_down_within(stop, QUIT_DEADLINE_S, lambda: None)
        stopper.join(QUIT_DEADLINE_S)
        if outcome or stopper.is_alive():
            log.error("the demo did not stop cleanly: %s", outcome[0] if outcome else "it took too long")
            code = code or 1
    instance.release()
    return code


def first_run_done(paths: AppPaths) -> bool:
    from farnode_desktop.ui.viewmodels.firstrun_vm import marker

    return marker(paths).exists()
