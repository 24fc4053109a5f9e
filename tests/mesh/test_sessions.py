"""The node's session door, across real forked processes as Petals' connection handlers are: every session let in is
counted where the main process reads it, and once the node refuses new sessions none gets in, while one already in
is still counted until it ends (so a drain can never take a node with a session just let in for a quiet one)."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from farnode_desktop.mesh.sessions import SessionGate


def _handler(gate: SessionGate, let_in: Any, release: Any, out: Any) -> None:
    entered = gate.enter()
    out.put(entered)
    let_in.set()
    if entered:
        release.wait(10)
        gate.leave()


def test_sessions_are_counted_across_forked_handlers_and_refused_once_the_node_drains() -> None:
    ctx = mp.get_context("fork")
    gate = SessionGate()  # made before the fork, as serve.py installs it before Petals forks its handlers
    let_in, release, out = ctx.Event(), ctx.Event(), ctx.Queue()
    handler = ctx.Process(target=_handler, args=(gate, let_in, release, out))
    handler.start()
    assert let_in.wait(10) and out.get(timeout=5) is True
    assert gate.open_sessions == 1  # the main process sees the session the handler let in

    assert not gate.refusing
    gate.refuse_new()
    assert gate.refusing
    late = ctx.Process(target=_handler, args=(gate, ctx.Event(), ctx.Event(), out))
    late.start()
    assert out.get(timeout=5) is False  # refused in its own process
    late.join(10)
    assert gate.open_sessions == 1  # the refused one left no count behind; the open one is still counted

    release.set()
    handler.join(10)
    assert gate.open_sessions == 0
