"""Closing a Petals client's server session from inside hivemind's client event loop, without a deadlock.

Petals' `_ServerInferenceSession.close()` (2.2 and main alike) runs its closing coroutine on hivemind's
`RemoteExpertWorker` loop and blocks until it is done. When the garbage collector finalises a forgotten session on
that loop's own thread (its `__del__` calls `close()`), the thread waits for itself for ever: the client hangs (seen
in Petals main's own test_full_model, where generate() calls leave sessions for the collector). `install()` makes
`close()` on that thread (or while that loop is still starting) schedule the closing coroutine instead of waiting.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from typing import Any

_installed = False
_closing: set[asyncio.Task[None]] = set()  # closings scheduled on the worker's loop, kept until done


def _on_worker_thread(worker: Any) -> bool:
    """Whether this thread is the worker's event-loop thread of this process (where blocking on it deadlocks)."""
    return worker._pid == os.getpid() and threading.current_thread() is worker._event_thread


def close_without_waiting_on_own_loop(session: Any, worker: Any, original_close: Any) -> None:
    """Petals' close(), except on the worker's own thread: there the closing coroutine is scheduled, not awaited."""
    if session._outputs_stream is None:
        return  # already closed
    if not _on_worker_thread(worker):
        original_close(session)
        return
    future = worker._event_loop_fut
    if future is not None and future.done() and not future.exception():
        task = future.result().create_task(_close(session))  # runs once the code that collected it returns
        _closing.add(task)
        task.add_done_callback(_closing.discard)
        session.closed = True
        return
    # The loop is still starting on this thread (the collector ran during its start): nothing can run on it yet;
    # dropping the stream ends the session on the server's side as a dropped connection does.
    session._outputs_stream = session._inputs_queue = None
    session.closed = True


async def _close(session: Any) -> None:
    try:
        await session._aclose_stream()
    finally:
        session._outputs_stream = session._inputs_queue = None


def install() -> None:
    """Put the deadlock-free close() on Petals' `_ServerInferenceSession` in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from hivemind.moe.client.remote_expert_worker import RemoteExpertWorker
    from petals.client import inference_session

    session_class = inference_session._ServerInferenceSession
    original_close = session_class.close

    @functools.wraps(original_close)  # Petals' own close() stays reachable as close.__wrapped__
    def close(self: Any) -> None:
        close_without_waiting_on_own_loop(self, RemoteExpertWorker, original_close)

    session_class.close = close
    _installed = True
