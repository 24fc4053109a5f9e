"""The dashboard's update line, as the app wires it: bus events from the update threads reach it through the Qt
bridge; it says a new FarNode is available and downloading (with a bar), then offers Restart to update, which quits
with the launcher's code; it follows a new node runtime from published to the node's switch, and says a failed
update in words until dismissed. Screenshots on the Xvfb 1366x768 display (artifacts/screenshots/dashboard-update-*)."""

from __future__ import annotations

import os
import threading

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.events import Event
from farnode_desktop.core.updates.app_start import RESTART_EXIT
from farnode_desktop.ui.app import FarNodeApp
from farnode_desktop.ui.windows.dashboard import DashboardWindow
from tests.ui.screen_checks import check_and_shoot


def from_update_thread(core: AppCore, *events: Event) -> None:
    """Emit as AppUpdates and RuntimeUpdater do: on a thread of their own, never the GUI's."""
    worker = threading.Thread(target=lambda: [core.bus.emit(e) for e in events])
    worker.start()
    worker.join(5)


def runtime(stage: str, reason: str, **data: object) -> Event:
    return Event("update.runtime", "updates", reason, {"stage": stage, **data})


@pytest.fixture
def app(core: AppCore, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> FarNodeApp:
    app = FarNodeApp(core, use_tray=False, shutdown=lambda: None)
    quits: list[int] = []
    monkeypatch.setattr(app, "quit", lambda: quits.append(app.exit_code))  # a real quit would end this test's Qt
    app.quits = quits  # type: ignore[attr-defined]
    return app


def dashboard(app: FarNodeApp, qtbot: QtBot) -> DashboardWindow:
    window = app.window("dashboard")
    assert isinstance(window, DashboardWindow)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    return window


def test_a_new_farnode_available_downloading_then_restart_to_update(app: FarNodeApp, core: AppCore,
                                                                    qtbot: QtBot) -> None:
    window = dashboard(app, qtbot)
    line = window.update_line
    window.show()
    assert not line.isVisible()  # nothing to say: no line at all
    from_update_thread(core, Event("update.available", "updates", "FarNode 0.3.0 is available",
                                   {"version": "0.3.0", "bytes": 47_000_000}))
    qtbot.waitUntil(line.isVisible)
    assert line.text.text() == "FarNode 0.3.0 is downloading in the background: 0%"
    assert line.progress.isVisible() and not line.restart.isVisible()
    from_update_thread(core, Event("update.progress", "updates", "37%", {"version": "0.3.0", "percent": 37}))
    qtbot.waitUntil(lambda: line.progress.value() == 37)
    from_update_thread(core, Event("update.progress", "updates", "100%", {"version": "0.3.0", "percent": 100}),
                       Event("update.staged", "updates", "ready", {"version": "0.3.0"}))
    qtbot.waitUntil(line.restart.isVisible)
    assert not line.progress.isVisible() and not line.dismiss.isVisible()
    assert line.text.text() == "FarNode 0.3.0 is ready: restart to update now, or it runs from the next start"
    assert line.restart.text() == "Restart to update to 0.3.0"
    line.restart.click()
    assert app.quits == [RESTART_EXIT]  # type: ignore[attr-defined]


def test_a_new_node_runtime_from_published_to_switched_then_dismissed(app: FarNodeApp, core: AppCore,
                                                                      qtbot: QtBot) -> None:
    window = dashboard(app, qtbot)
    line = window.update_line
    window.show()
    from_update_thread(core, runtime("published", "the demo's update server published a new node runtime",
                                     change="six 1.17.0 -> 1.17.0.post1", note="The demo updates the node runtime only"))
    qtbot.waitUntil(line.isVisible)
    assert line.note.isVisible() and line.note.text() == "The demo updates the node runtime only"
    assert line.text.text() == "Node runtime update available (six 1.17.0 -> 1.17.0.post1)"
    from_update_thread(core, runtime("preparing", "a new node runtime is available: preparing it beside the current "
                                                  "one while the nodes serve on"),
                       runtime("preparing", "preparing the new node runtime: starting a node on the new runtime to "
                                            "check it serves"))
    qtbot.waitUntil(lambda: "check it serves" in line.text.text())
    assert line.text.text() == ("Node runtime update: preparing it in the background (starting a node on the new "
                                "runtime to check it serves)")
    assert not line.progress.isVisible() and not line.restart.isVisible() and not line.dismiss.isVisible()
    from_update_thread(core, runtime("switching", "the new node runtime passed its checks"))
    qtbot.waitUntil(lambda: line.text.text().startswith("Node runtime update: your node finishes its requests"))
    from_update_thread(core, runtime("done", "the nodes run on the new node runtime", changed=["six"]))
    qtbot.waitUntil(line.dismiss.isVisible)
    assert line.text.text() == "Node runtime updated (1 package changed)"
    assert line.note.text() == "The demo updates the node runtime only"  # said until the update is over
    line.dismiss.click()
    assert not line.isVisible()


def test_a_runtime_update_that_failed_says_why_until_dismissed(app: FarNodeApp, core: AppCore, qtbot: QtBot) -> None:
    window = dashboard(app, qtbot)
    line = window.update_line
    window.show()
    from_update_thread(core, runtime("preparing", "a new node runtime is available: preparing it"),
                       Event("update.problem", "updates", "the node runtime update was not applied: not enough disk "
                                                          "space to prepare the new node runtime: 0.1 GB free",
                             {"runtime": True}))
    qtbot.waitUntil(lambda: line.text.text().startswith("The node runtime update was not applied: not enough disk"))
    assert line.dismiss.isVisible() and not line.restart.isVisible()
    # a refused update check (not a download, not the runtime) is the tray's warning, not this line's
    from_update_thread(core, Event("update.problem", "updates", "signature refused", {"refused": True}))
    line.dismiss.click()
    qtbot.wait(100)
    assert not line.isVisible()


@pytest.mark.tray  # on the X display of scripts/test-session.sh: a 1366x768 laptop screen
@pytest.mark.skipif(not (os.environ.get("FARNODE_TEST_DISPLAY") and os.environ.get("DISPLAY")),
                    reason="needs the X display of scripts/test-session.sh (Xvfb 1366x768)")
@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_screenshots_of_the_update_line(app: FarNodeApp, core: AppCore, qtbot: QtBot) -> None:
    window = app.open_window("dashboard")  # as the app opens it: its own size on this screen
    assert isinstance(window, DashboardWindow)
    qtbot.addWidget(window)
    from_update_thread(core, Event("update.available", "updates", "available", {"version": "0.3.0", "bytes": 1}),
                       Event("update.progress", "updates", "37%", {"version": "0.3.0", "percent": 37}))
    qtbot.waitUntil(lambda: window.update_line.progress.value() == 37)
    check_and_shoot(window, qtbot, "dashboard-update-downloading")
    from_update_thread(core, Event("update.staged", "updates", "ready", {"version": "0.3.0"}))
    qtbot.waitUntil(window.update_line.restart.isVisible)
    assert "Restart to update to 0.3.0" in check_and_shoot_buttons(window, qtbot, "dashboard-update-ready")
    app.update_vm.staged = None  # the provider chose to restart later; the demo's runtime update comes next
    from_update_thread(core, runtime("published", "published", change="six 1.17.0 -> 1.17.0.post1",
                                     note="The demo updates the node runtime only: FarNode itself, run from this "
                                          "source checkout, updates through git"),
                       runtime("preparing", "preparing the new node runtime: starting a node on the new runtime to "
                                            "check it serves"))
    qtbot.waitUntil(lambda: "check it serves" in window.update_line.text.text())
    check_and_shoot(window, qtbot, "dashboard-update-runtime")


def check_and_shoot_buttons(window: DashboardWindow, qtbot: QtBot, name: str) -> list[str]:
    """The picture and its checks; the primary buttons wholly on screen, by their text."""
    from tests.ui.screen_checks import primary_buttons_reachable

    check_and_shoot(window, qtbot, name)
    return primary_buttons_reachable(window)
