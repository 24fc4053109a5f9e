"""The task runner runs work off the GUI thread and reports back on it."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from farnode_desktop.ui.tasks import TaskRunner


def gui_thread() -> QThread:
    app = QApplication.instance()
    assert app is not None
    return app.thread()


def test_work_runs_off_the_gui_thread_and_results_come_back_on_it(qtbot: QtBot) -> None:
    runner = TaskRunner()
    where: dict[str, object] = {}

    def work() -> int:
        where["work_on_gui"] = QThread.currentThread() is gui_thread()
        return 42

    def done(value: object) -> None:
        where["value"] = value
        where["done_on_gui"] = QThread.currentThread() is gui_thread()

    runner.submit(work, done)
    qtbot.waitUntil(lambda: "value" in where)
    assert where == {"work_on_gui": False, "value": 42, "done_on_gui": True}
    runner.close()


def test_errors_reach_the_error_callback_and_a_keyed_job_never_stacks(qtbot: QtBot) -> None:
    runner = TaskRunner()
    errors: list[BaseException] = []
    runner.submit(lambda: 1 / 0, None, errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], ZeroDivisionError)

    release = threading.Event()
    assert runner.submit(lambda: release.wait(5), key="tick")
    assert not runner.submit(lambda: None, key="tick")  # the first is still running
    release.set()
    qtbot.waitUntil(lambda: not runner.busy("tick"))
    assert runner.submit(lambda: None, key="tick")
    unhandled: list[object] = []
    runner.failed.connect(unhandled.append)
    runner.submit(lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    qtbot.waitUntil(lambda: bool(unhandled))
    assert str(unhandled[0]) == "boom"
    assert runner.close()


def test_the_gui_thread_stays_responsive_while_a_slow_job_runs(qtbot: QtBot) -> None:
    runner = TaskRunner()
    finished: list[object] = []
    runner.submit(lambda: time.sleep(1.0), finished.append)
    started = time.monotonic()
    ticks: list[float] = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    timer.stop()
    assert len(ticks) >= 10, "the event loop did not turn while the job ran"
    assert max(b - a for a, b in zip([started, *ticks], ticks, strict=False)) < 0.5
    runner.close()


def test_a_job_that_never_returns_is_let_go_at_close_and_never_holds_the_process(tmp_path: object) -> None:
    """In a real child process: a QApplication, the runner, a job blocked forever (a keyring prompt nobody sees).
    close() gives up on it after its timeout, and the process exits at once (a QThreadPool waits for it forever)."""
    import subprocess
    import sys

    code = """
import threading, time
from PySide6.QtCore import QCoreApplication
from farnode_desktop.ui.tasks import TaskRunner
app = QCoreApplication([])
runner = TaskRunner(parent=app)
started = threading.Event()
runner.submit(lambda: (started.set(), threading.Event().wait()))
started.wait(5)
t0 = time.monotonic()
print("closed in time:", runner.close(timeout_ms=300), round(time.monotonic() - t0, 1), flush=True)
"""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "closed in time: False 0.3" in done.stdout
    assert took < 30, f"the process took {took:.1f} s to exit"  # it hangs forever if a worker holds it


def test_the_pool_grows_to_its_cap_and_a_blocked_worker_does_not_stop_the_others(qtbot: QtBot) -> None:
    runner = TaskRunner(max_threads=2)
    release = threading.Event()
    runner.submit(release.wait)  # one worker blocked
    results: list[object] = []
    for i in range(5):
        runner.submit(lambda i=i: i, results.append)
    qtbot.waitUntil(lambda: len(results) == 5)
    assert sorted(results) == [0, 1, 2, 3, 4]  # (mypy: ints)
    assert runner._workers == 2
    assert not runner.close(timeout_ms=50)  # the blocked one still runs
    release.set()
