"""The single-instance guard: a second start raises the first instance's window."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from farnode_desktop.ui.single_instance import SingleInstance, server_name


def test_a_second_instance_raises_the_first(qtbot: QtBot) -> None:
    name = server_name("test-" + str(id(qtbot)))
    first = SingleInstance(name)
    assert first.acquire()
    second = SingleInstance(name)
    with qtbot.waitSignal(first.raise_requested, timeout=5000):
        assert not second.acquire()
    first.release()
    third = SingleInstance(name)
    assert third.acquire()  # the first is gone: the next launch runs
    third.release()
