"""The node's door for inference sessions: counts the open ones across Petals' handler processes and, once the node
drains, refuses new ones and announces its blocks as no longer taking sessions, so a drain cannot race a new one."""

from __future__ import annotations

import functools
import multiprocessing as mp
from typing import Any

REFUSAL = "this FarNode server is draining (it finishes its open sessions, then restarts): it takes no new session"


class SessionGate:
    """Shared memory made before Petals forks its connection handlers, so every handler sees and updates it."""

    def __init__(self) -> None:
        ctx = mp.get_context("fork")
        self._open = ctx.Value("i", 0)  # its own lock: increments and reads are ordered across processes
        self._refusing = ctx.Event()

    @property
    def open_sessions(self) -> int:
        with self._open.get_lock():
            return int(self._open.value)

    @property
    def refusing(self) -> bool:
        return self._refusing.is_set()

    def enter(self) -> bool:
        """A session opens: counted first, then let in unless the node drains (a refused one is uncounted)."""
        with self._open.get_lock():
            self._open.value += 1
        if not self._refusing.is_set():
            return True
        self.leave()
        return False

    def leave(self) -> None:
        with self._open.get_lock():
            self._open.value -= 1

    def refuse_new(self) -> None:
        """From now on no new session is let in; every session let in before is in `open_sessions`."""
        self._refusing.set()


def announce_joining(server: Any) -> None:
    """Petals' announcement of this server's blocks goes from online to joining: clients route new sessions only to
    online servers, the swarm's block balancing still counts these blocks, and the node's own health check (a
    forward to its own peer, not a session) goes on."""
    container = getattr(server, "module_container", None)
    announcer = getattr(container, "dht_announcer", None)
    if announcer is not None:
        from petals.data_structures import ServerState

        announcer.announce(ServerState.JOINING)


GATE: SessionGate | None = None


def install() -> SessionGate:
    """Wrap Petals' `rpc_inference` (in the server's main process, before the handlers fork) with the gate."""
    global GATE
    from petals.server.handler import TransformerConnectionHandler

    gate = GATE = GATE or SessionGate()
    original = TransformerConnectionHandler.rpc_inference
    if getattr(original, "_farnode_gated", False):
        return gate

    @functools.wraps(original)  # hivemind reads the request/response types from its annotations
    async def rpc_inference(self: Any, requests: Any, context: Any) -> Any:
        if not gate.enter():
            raise RuntimeError(REFUSAL)
        try:
            async for response in original(self, requests, context):
                yield response
        finally:
            gate.leave()

    rpc_inference._farnode_gated = True  # type: ignore[attr-defined]
    TransformerConnectionHandler.rpc_inference = rpc_inference
    return gate
