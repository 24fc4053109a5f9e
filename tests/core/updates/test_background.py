"""The background check: at start and every few hours on its own thread, never blocking a tick, and telling the
provider a problem or a newly installed manifest on the bus."""

from __future__ import annotations

import threading

from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.updates.background import UpdateWatch
from farnode_desktop.core.updates.client import CheckResult


def test_checks_at_start_then_once_a_period_never_two_at_once() -> None:
    release, calls, events = threading.Event(), [], []
    bus = EventBus()
    bus.subscribe(events.append, "update.")

    def check() -> CheckResult:
        calls.append(threading.current_thread().name)
        release.wait(10)
        return CheckResult(True, "installed network/manifest.json (release 2)", 0.0, ["network/manifest.json"])

    watch = UpdateWatch(check, bus, period_s=100.0)
    assert watch.tick(0.0)  # the first tick is the check at start
    assert not watch.tick(500.0)  # one still running: no second one, and tick() did not wait for it
    release.set()
    watch.join(5)
    assert calls == ["update-check"] and watch.last is not None
    assert [e.topic for e in events] == ["update.installed"]
    assert not watch.tick(50.0)  # not due yet
    assert watch.tick(100.0)
    watch.join(5)
    assert len(calls) == 2


def test_a_failed_check_and_a_crashing_check_are_told() -> None:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append, "update.")
    watch = UpdateWatch(lambda: CheckResult(False, "the update server's signed metadata has expired", 0.0,
                                            refused=True), bus)
    watch.tick(0.0)
    watch.join(5)

    def broken() -> CheckResult:
        raise RuntimeError("a bug")

    crashing = UpdateWatch(broken, bus)
    crashing.tick(0.0)
    crashing.join(5)
    assert [(e.topic, e.reason) for e in events] == [
        ("update.problem", "the update server's signed metadata has expired"),
        ("update.problem", "the update check failed: a bug")]
    assert events[0].data == {"refused": True}


def test_check_soon_makes_the_next_tick_check_whenever_the_last_one_was() -> None:
    calls: list[float] = []
    watch = UpdateWatch(lambda: calls.append(1.0) or CheckResult(True, "nothing new", 0.0), EventBus(), period_s=100.0)
    assert watch.tick(0.0)
    watch.join(5)
    assert not watch.tick(10.0)  # not due for another 90 s
    watch.check_soon()  # the demo just published a release
    assert watch.tick(11.0)
    watch.join(5)
    assert len(calls) == 2 and not watch.tick(12.0)  # then the period counts again from that check
