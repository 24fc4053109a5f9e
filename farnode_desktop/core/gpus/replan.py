"""A newly verified catalog changes the plan: a node whose launch changes drains, then relaunches onto the new plan."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.fleet import Fleet, Supervisor, plan_changes
from farnode_desktop.core.node.draining import DRAIN_DEADLINE_S, DRAINED
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import RUNNING_STATES, NodeState

Plan = Callable[[Catalog, bool], list[NodeSpec]]  # the nodes the settings ask for under a catalog (True: remember)
Launch = Callable[[Supervisor, bool], None]  # start (or pause, when a pause holds it) a node the fleet just added
CHANGED = "the network's new model catalog changes this node's plan"
_DONE = (NodeState.STOPPED, NodeState.FAILED, NodeState.PAUSED)


@dataclass
class _Draining:
    spec: NodeSpec | None  # what it relaunches as; None: the new plan leaves it out


class CatalogReplan:
    """`changed(old)` (any thread: the update check's) marks the plan for a look; `tick()` (the app's tick, under its
    lock) compares the plans under the old and the new catalog and drains each node whose launch changes, with
    `drain(relaunch=False)`: its open inference sessions finish (bounded by `deadline_s`), it stops gracefully, and
    only then does the fleet retire it for its new spec. A node that is not serving is retired at once. A model the
    new catalog no longer offers: its nodes drain and stay stopped, and the provider is told to choose another."""

    def __init__(self, fleet: Fleet, bus: EventBus, plan: Plan, launch: Launch, current: Callable[[], Catalog],
                 model: Callable[[], str], deadline_s: float = DRAIN_DEADLINE_S) -> None:
        self.fleet, self.bus, self.plan, self.launch = fleet, bus, plan, launch
        self.current, self.model = current, model
        self.deadline_s = deadline_s
        self.draining: dict[str, _Draining] = {}
        self._old: Catalog | None = None
        self._lock = threading.Lock()

    def changed(self, old: Catalog) -> None:
        """A new catalog replaced `old` (two updates before a tick: the plan is compared with the older one)."""
        with self._lock:
            self._old = self._old or old

    def tick(self) -> None:
        with self._lock:
            old, self._old = self._old, None
        if old is not None:
            self._replan(old)
        for name, pending in list(self.draining.items()):
            node = self.fleet.nodes.get(name)
            if node is None or name in self.fleet.retiring:  # the provider's own change took it over
                del self.draining[name]
                continue
            status = node.status()
            if status.state not in _DONE:
                continue
            del self.draining[name]
            # run again unless the provider stopped it meanwhile (a pause is kept: the successor starts paused)
            run = status.state is NodeState.PAUSED or (status.state is NodeState.STOPPED
                                                       and status.reason.startswith(DRAINED))
            self.fleet.retire(name, pending.spec, run=run)

    def _replan(self, old: Catalog) -> None:
        try:
            before = self.plan(old, False)
        except FarNodeError:
            before = []
        try:
            after = self.plan(self.current(), True)
            why = CHANGED
        except FarNodeError:
            after = []
            why = f"the network's new model catalog no longer offers {self.model()}"
            self.bus.emit(Event("node.problem", "app", f"{why}: the nodes serving it finish their inference "
                                f"sessions and stop", {"hint": "choose another model in Settings"}))
        running = {name: s.spec for name, s in self.fleet.active().items() if name not in self.draining}
        changes = plan_changes(running, before, after)
        for name, spec in [*changes.restart.items(), *((n, None) for n in changes.remove)]:
            node = self.fleet.nodes[name]
            state = node.status().state
            drain = getattr(node, "drain", None)
            if state in RUNNING_STATES and drain is not None:
                self.draining[name] = _Draining(spec)
                drain(why, self.deadline_s, False)
            else:
                self.fleet.retire(name, spec, run=state not in (NodeState.STOPPED, NodeState.FAILED))
        wants_running = any(s.status().state not in (NodeState.STOPPED, NodeState.FAILED)
                            for s in self.fleet.active().values())
        for spec in changes.add:
            self.launch(self.fleet.add(spec), wants_running)
