"""The supervisor's legal transitions (state -> the states that may follow it), and the internal error for any other."""

from __future__ import annotations

from collections.abc import Mapping

from farnode_desktop.core.node.status import NodeState

_S = NodeState

# Every change of state the supervisor makes, and no other (tests/core/node/test_transitions.py walks
# each one). LOADING -> LOADING is a new reason ("sending a test request through the node"); FAILED -> FAILED is a
# retry that failed again (a launch the OS refused, a runtime still missing).
LEGAL: Mapping[NodeState, frozenset[NodeState]] = {
    _S.STOPPED: frozenset({_S.PROVISIONING, _S.STARTING, _S.PAUSED, _S.FAILED}),
    _S.PROVISIONING: frozenset({_S.STARTING, _S.STOPPED, _S.PAUSED, _S.FAILED}),
    _S.STARTING: frozenset({_S.LOADING, _S.SERVING, _S.STOPPING}),
    _S.LOADING: frozenset({_S.LOADING, _S.SERVING, _S.STOPPING}),
    _S.SERVING: frozenset({_S.STOPPING, _S.DRAINING}),
    _S.DRAINING: frozenset({_S.STOPPING}),
    _S.STOPPING: frozenset({_S.STOPPED, _S.BACKOFF, _S.PAUSED, _S.FAILED}),
    _S.BACKOFF: frozenset({_S.STARTING, _S.STOPPED, _S.PAUSED, _S.FAILED}),
    _S.PAUSED: frozenset({_S.PROVISIONING, _S.STARTING, _S.STOPPED, _S.FAILED}),
    _S.FAILED: frozenset({_S.PROVISIONING, _S.STARTING, _S.STOPPED, _S.PAUSED, _S.FAILED}),
}


class IllegalTransition(RuntimeError):
    """A bug in the supervisor, not a fault of the machine: a change of state the table above does not allow."""


def check_transition(node: str, previous: NodeState, new: NodeState) -> None:
    """Raise IllegalTransition unless `previous -> new` is in LEGAL (supervisord's `_assertInState`)."""
    allowed = LEGAL[previous]
    if new not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise IllegalTransition(f"internal error in the supervisor of node {node}: {previous.value} -> {new.value} "
                                f"is not a legal transition (from {previous.value} only to: {names})")
