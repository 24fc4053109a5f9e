"""The tray's state: one colour for the whole PC, the tooltip, the menu's labels and which changes notify."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Signal

from farnode_desktop import __version__
from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.forecast import Forecast, far_amount
from farnode_desktop.core.events import Event
from farnode_desktop.core.node.status import NodeState, NodeStatus, next_try, no_requests_for, no_requests_text
from farnode_desktop.core.pausing.rules import PAUSE_LENGTHS, pause_cost
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import CoreApi, Snapshot, take_snapshot
from farnode_desktop.ui.viewmodels.format import count, error_text, far, with_hint


class TrayState(StrEnum):
    SERVING = "serving"
    NO_REQUESTS = "serving, no requests"  # serving and healthy, but no request has reached it for a while
    STARTING = "starting"
    PAUSED = "paused"
    ATTENTION = "needs attention"
    STOPPED = "stopped"


_STARTING = (NodeState.PROVISIONING, NodeState.STARTING, NodeState.LOADING)


def overall_state(statuses: Sequence[NodeStatus]) -> TrayState:
    """The PC's state for the icon: a node that needs the provider wins, then serving, starting, paused."""
    states = {s.state for s in statuses}
    if states & {NodeState.FAILED, NodeState.BACKOFF}:
        return TrayState.ATTENTION
    if NodeState.SERVING in states:
        serving = [s for s in statuses if s.state is NodeState.SERVING]
        if all(no_requests_for(s) is not None for s in serving):
            return TrayState.NO_REQUESTS
        return TrayState.SERVING
    if states & set(_STARTING):
        return TrayState.STARTING
    if NodeState.PAUSED in states:
        return TrayState.PAUSED
    return TrayState.STOPPED


def overall_words(statuses: Sequence[NodeStatus]) -> str:
    """The PC's state in words: "Serving — no requests for 7 min" when every serving node has gone without a request
    for a while (the shortest of their waits), else the state's name ("Serving", "Paused", ...)."""
    state = overall_state(statuses)
    if state is TrayState.NO_REQUESTS:
        quiet = min((s for s in statuses if s.state is NodeState.SERVING),
                    key=lambda s: s.no_requests_for_s or 0.0)
        return f"Serving — {no_requests_text(quiet)}"
    if state is TrayState.STOPPED and any(s.state is NodeState.STOPPING for s in statuses):
        return "Stopping"  # on its way to stopped: not there yet
    return state.value.capitalize()


@dataclass(frozen=True)
class PauseChoice:
    key: str  # what AppCore.snooze takes
    label: str
    seconds: float | None


PAUSE_CHOICES = tuple(PauseChoice(p.key, p.menu_text, p.seconds) for p in PAUSE_LENGTHS)  # the core's one table


def pause_label(choice: PauseChoice, tokens_per_s: float, forecast: Forecast | None = None) -> str:
    """A pause menu item with what the pause would cost at `tokens_per_s` (the PC's, or one GPU's): in FAR at the
    settled rate per served token once a payout has settled, in served tokens until then."""
    if tokens_per_s <= 0:
        return choice.label
    cost = pause_cost(tokens_per_s, choice.seconds)
    if forecast is not None and forecast.wei_per_token > 0:
        far_cost = f"≈ {far_amount(forecast.cost_of(cost.tokens), forecast.decimals)} FAR"
        return f"{choice.label}  ({far_cost}{' per hour' if choice.seconds is None else ''})"
    if choice.seconds is None:
        return f"{choice.label}  (≈ {count(cost.tokens)} served tokens per hour)"
    return f"{choice.label}  (≈ {count(cost.tokens)} served tokens)"


@dataclass(frozen=True)
class Notice:
    title: str
    message: str
    level: str = "info"  # info | warning | critical


def today_earned(earnings: Earnings | None, now: float | None = None) -> int | None:
    """What the coordinator credited today (its days are UTC)."""
    if earnings is None:
        return None
    today = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC).strftime("%Y-%m-%d")
    return sum(d.earned for d in earnings.history if d.day == today)


def notice_for(event: Event, gpus: bool = True) -> Notice | None:
    """The notification an event deserves, or None for the many that do not matter to the provider."""
    topic, data = event.topic, event.data
    if topic == "node.state":
        state, previous = str(data.get("state", "")), str(data.get("previous", ""))
        if state == NodeState.SERVING and previous != NodeState.SERVING:
            return Notice("Serving", f"{event.source}: {event.reason}")
        if state == NodeState.FAILED:
            hint = str(data.get("hint") or "")
            text = with_hint(event.reason, hint, "\n")
            retry = data.get("retry_in_s")
            status = NodeStatus(event.source, NodeState.FAILED, event.reason,
                                retry_in_s=float(retry) if isinstance(retry, (int, float)) else None)
            if "tries again by itself" not in text:  # say whether the provider must act, and by when
                text += f"\n{next_try(status).capitalize()}."
            return Notice(f"{event.source} failed", text, "critical")
        return None
    where = ("All GPUs" if gpus else "The node") if event.source == "all" else event.source  # GPU words need a GPU
    if topic == "gpu.paused":
        return Notice("Paused", f"{where}: {event.reason}", "info")
    if topic == "gpu.resumed":
        return Notice("Resumed serving", f"{where}: {event.reason}")
    if topic == "gpu.vram_not_freed":
        return Notice("GPU memory still taken", event.reason, "warning")
    if topic == "gpu.lost":
        return Notice("GPU lost", event.reason, "critical")
    if topic == "payout.confirmed":
        tx = str(data.get("tx_hash") or "")
        return Notice("Payout confirmed", event.reason + (f"\ntx {tx[:10]}…{tx[-6:]}" if tx else ""))
    if topic in ("claim.rejected", "claim.failed"):
        return Notice("Claim not paid", event.reason, "warning")
    if topic == "settings.problem":
        return Notice("Settings were reset", event.reason, "warning")
    if topic == "ledger.problem":
        return Notice("The ledger was damaged: a new one was started", event.reason, "warning")
    if topic == "update.problem" and data.get("refused"):  # offline is not news; a forged update is
        return Notice("An update was refused", event.reason, "warning")
    return None


WARNING_REFRESH_S = 60.0  # how often the tray reads the installation's network manifest again


class TrayViewModel(QObject):
    """Follows snapshots and events; the tray widget only mirrors `state`, `tooltip` and the labels."""

    changed = Signal()
    notify = Signal(object)  # Notice

    def __init__(self, core: CoreApi, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.busy = False
        self.state = TrayState.STOPPED
        self.statuses: list[NodeStatus] = []
        self.tokens_per_s = 0.0
        self.forecast: Forecast | None = None  # prices a pause in FAR once a payout has settled
        self.earnings: Earnings | None = None
        self.snoozed = False
        self.tooltip = "FarNode: stopped"
        self.app_warning = ""  # the payout network asks for a newer FarNode: shown first, claims are refused
        self._warning_read_at = -math.inf
        self._shown = (self.state, self.tooltip, self.start_stop_label)  # what the tray and the dashboard show

    # -- inputs ---------------------------------------------------------------------------------------
    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.statuses = list(snapshot.statuses)
        self.tokens_per_s = sum(s.tokens_per_s for s in self.statuses)
        if snapshot.outlook is not None:
            self.forecast = snapshot.outlook.forecast
        # The core owns the provider's pause (it outlives node restarts); only while our own pause or resume is
        # under way does what the provider just asked for stand in for it.
        if not self.busy:
            self.snoozed = snapshot.snoozed
        if snapshot.at - self._warning_read_at >= WARNING_REFRESH_S:  # the manifest changes with an update check
            self._warning_read_at = snapshot.at
            network = self.core.networks().preferred(self.core.settings.chain_id)
            self.app_warning = (network.too_old(__version__) or "") if network is not None else ""
        self._update()

    def on_earnings(self, earnings: Earnings | None) -> None:
        self.earnings = earnings
        self._update()

    def on_event(self, event: Event) -> None:
        notice = notice_for(event, gpus=any(s.name != "cpu" for s in self.statuses))
        if notice is not None:
            self.notify.emit(notice)

    # -- what the tray shows --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the main action is Stop (something runs or wants to) rather than Start. A node the provider asked
        to stop is not running even while it still stops: Start is what the provider can do next (the node starts
        again once it has stopped)."""
        return any(s.state not in (NodeState.STOPPED, NodeState.FAILED) and not s.stop_requested
                   for s in self.statuses)

    @property
    def start_stop_label(self) -> str:
        return "Stop serving" if self.running else "Start serving"

    def pause_label(self, choice: PauseChoice) -> str:
        """The menu item with what the pause would cost at the current pace (from the last snapshot)."""
        return pause_label(choice, self.tokens_per_s, self.forecast)

    # -- actions (blocking core calls go through the task runner) -------------------------------------
    def start_stop(self) -> None:
        if self.running:
            self._run(self.core.stop_nodes, "Stopping")
        else:
            self.snoozed = False
            self._run(self.core.start_nodes, "Starting")

    def pause(self, choice: PauseChoice) -> None:
        self.snoozed = True
        self._run(lambda: self.core.snooze(choice.key), "Pausing")

    def resume(self) -> None:
        self.snoozed = False
        self._run(self.core.end_snooze, "Resuming")

    def _run(self, fn: Callable[[], object], what: str) -> None:
        def failed(exc: BaseException) -> None:
            self.busy = False
            self.notify.emit(Notice(f"{what} failed", error_text(exc, "\n"), "warning"))
            self.changed.emit()

        def fresh(snapshot: object) -> None:
            # the labels follow the nodes as they are after the action, not the snapshot taken before it
            self.busy = False
            if isinstance(snapshot, Snapshot):
                self.on_snapshot(snapshot)
            self.changed.emit()

        def done(_: object) -> None:
            if not self.tasks.submit(lambda: take_snapshot(self.core), fresh, lambda _exc: fresh(None)):
                fresh(None)

        self.busy = True
        self.tasks.submit(fn, done, failed)
        self.changed.emit()

    def _update(self) -> None:
        state = overall_state(self.statuses)
        lines = [f"FarNode: {overall_words(self.statuses).lower()}"]
        if self.app_warning:  # first, so the tray menu's header says it
            lines = ["Update FarNode to keep claiming", self.app_warning[0].upper() + self.app_warning[1:], *lines]
        if self.statuses:
            lines.append(f"Serving {count(self.tokens_per_s)} tokens/s")
        lines += [f"{s.name}: {s.state.value}, {retry}" for s in self.statuses if (retry := next_try(s))]
        if len(self.statuses) > 1:  # which node gets no work (one alone says it in the first line)
            lines += [f"{s.name}: {quiet}" for s in self.statuses if (quiet := no_requests_text(s))]
        earned = today_earned(self.earnings)
        if earned is not None and self.earnings is not None:
            lines.append(f"Today: {far(earned, self.earnings.decimals, self.earnings.symbol, 4)}")
        tooltip = "\n".join(lines)
        self.state, self.tooltip = state, tooltip
        shown = (state, tooltip, self.start_stop_label)
        if shown != self._shown:  # the main button's label too: it changes when a node stops, with nothing else
            self._shown = shown
            self.changed.emit()
