"""The dashboard's state: a card per GPU (readings, its node, its own pause) and the served-tokens/s chart."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.earnings.forecast import Forecast
from farnode_desktop.core.earnings.outlook import EarningsOutlook
from farnode_desktop.core.earnings.served_work import MinutePoint
from farnode_desktop.core.gpus.nvml import GpuInfo, GpuInventory
from farnode_desktop.core.node.facts import block_range
from farnode_desktop.core.node.status import NodeState, NodeStatus, next_try, no_requests_text, state_words
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import CoreApi, Snapshot, take_snapshot
from farnode_desktop.ui.viewmodels.format import count, duration, gib, short_id, when
from farnode_desktop.ui.viewmodels.tray_vm import (
    PAUSE_CHOICES,
    TrayState,
    overall_state,
    overall_words,
    pause_label,
)

RANGES = {"hour": 3600.0, "day": 86_400.0}
RANGE_WORDS = {"hour": "in the last hour", "day": "in the last day"}
LIVE_WITHIN_S = 10.0  # a GPU reading older than this is shown as stale


@dataclass(frozen=True)
class Reading:
    label: str
    value: str
    fraction: float | None = None  # 0..1 for a bar, None for plain text


@dataclass(frozen=True)
class PauseControl:
    """A GPU card's own pause button: a menu of pauses with their cost, or Resume while the provider paused it."""

    gpu: int
    choices: tuple[tuple[str, str], ...]  # (AppCore.snooze choice, menu label with what it costs this GPU)
    paused_until: float | None  # the provider's pause of this GPU ends (wall time; inf = until resumed); None: none
    note: str  # "Paused by you until 14:32", "" when not paused
    button_text: str
    enabled: bool


@dataclass(frozen=True)
class NodeCard:
    """One card: a GPU (or the CPU demo node) and what its node is doing."""

    key: str
    title: str
    subtitle: str
    readings: tuple[Reading, ...]
    live: bool
    state: str  # a TrayState value, for the card's colour
    state_text: str
    reason: str
    hint: str
    facts: tuple[tuple[str, str], ...]  # (label, value): blocks, peer id, uptime, served
    pause: PauseControl | None = None  # only a GPU with a node: the CPU demo node and lost GPUs have none


def _state_of(status: NodeStatus | None) -> TrayState:
    return overall_state([status]) if status is not None else TrayState.STOPPED


def _gpu_readings(gpu: GpuInfo) -> tuple[Reading, ...]:
    used = max(0, gpu.total_bytes - gpu.free_bytes)
    readings = [Reading("VRAM", f"{gib(used)} / {gib(gpu.total_bytes)} GiB",
                        used / gpu.total_bytes if gpu.total_bytes else None)]
    if gpu.utilization_pct is not None:
        readings.append(Reading("Load", f"{gpu.utilization_pct} %", gpu.utilization_pct / 100))
    if gpu.temperature_c is not None:
        readings.append(Reading("Temp", f"{gpu.temperature_c} °C", min(1.0, gpu.temperature_c / 100)))
    if gpu.power_w is not None:
        limit = f" / {gpu.power_limit_w:.0f}" if gpu.power_limit_w else ""
        frac = gpu.power_w / gpu.power_limit_w if gpu.power_limit_w else None
        readings.append(Reading("Power", f"{gpu.power_w:.0f}{limit} W", frac))
    return tuple(readings)


# The words a gamer may not know, explained where they are shown (the card's tooltips).
FACT_HELP = {
    "Blocks": "A model is split into blocks (its layers); each node of the network serves some of them and is "
              "paid for the tokens that pass through its blocks. '0-3 (4 blocks)' means blocks 0 to 3.",
    "Peer id": "This node's name on the FarMesh network (its peer-to-peer address book, the DHT, lists it under "
               "this id). The coordinator pays the served work of this id to your wallet.",
    "Served": "Tokens per second passing through this node's blocks right now.",
    "Total served": "Tokens this node has served since it started.",
}


def _facts(status: NodeStatus | None, rate: float | None = None) -> tuple[tuple[str, str], ...]:
    """A card's facts; `rate` is the node's served tokens/s by the chart's route (None: the node's own rate)."""
    if status is None:
        return (("Node", "not serving on this GPU"),)
    if status.start_block is not None and status.end_block is not None:
        blocks = block_range(status.start_block, status.end_block)  # end exclusive, as Petals reports it
    else:
        blocks = "—"
    running = status.state in (NodeState.SERVING, NodeState.LOADING, NodeState.STARTING)
    return (
        ("Served", f"{count(status.tokens_per_s if rate is None else rate)} tokens/s"),
        ("Blocks", blocks),
        ("Total served", f"{count(status.served_tokens)} tokens"),
        ("Uptime", duration(status.uptime_s) if running and status.uptime_s else "—"),
        ("Peer id", short_id(status.peer_id)),
    )


def _pause_control(gpu: int, status: NodeStatus, until: float | None, busy: str | None, now: float,
                   forecast: Forecast | None = None) -> PauseControl:
    choices = tuple((c.key, pause_label(c, status.tokens_per_s, forecast)) for c in PAUSE_CHOICES)
    note = ""
    if until is not None:
        note = "Paused by you until you resume it" if math.isinf(until) else f"Paused by you until {when(until, now)}"
    if busy is not None:
        return PauseControl(gpu, choices, until, note, busy, False)
    if until is not None:
        return PauseControl(gpu, choices, until, note, f"Resume GPU {gpu}", True)
    # A stopped node has nothing to pause, and resuming it later would start what the provider stopped.
    idle = status.state in (NodeState.STOPPED, NodeState.FAILED)
    return PauseControl(gpu, choices, None, note, "Pause this GPU", not idle)


def build_cards(statuses: tuple[NodeStatus, ...], inventory: GpuInventory | None, now: float,
                snoozed_gpus: Mapping[int, float] | None = None, busy: Mapping[int, str] | None = None,
                rates: Mapping[str, float] | None = None, forecast: Forecast | None = None) -> list[NodeCard]:
    """A card per GPU the driver reports, plus one per node without a GPU (the CPU demo node).

    `snoozed_gpus` are the provider's own per-GPU pauses (AppCore.snoozed_gpus); `busy` the GPUs whose pause or
    resume is under way, with the button's text meanwhile.
    """
    snoozed_gpus = snoozed_gpus or {}
    busy = busy or {}
    by_name = {s.name: s for s in statuses}
    cards: list[NodeCard] = []
    for gpu in inventory.gpus if inventory is not None else ():
        status = by_name.pop(gpu.node_name, None)
        pause = (_pause_control(gpu.index, status, snoozed_gpus.get(gpu.index), busy.get(gpu.index), now, forecast)
                 if status is not None else None)
        cards.append(_card(gpu.node_name, f"GPU {gpu.index} · {gpu.name.removeprefix('NVIDIA ')}",
                           f"{gib(gpu.total_bytes)} GiB VRAM", _gpu_readings(gpu),
                           now - gpu.read_at <= LIVE_WITHIN_S if gpu.read_at else False, status, pause,
                           _rate(rates, status)))
    for lost in inventory.lost if inventory is not None else ():
        status = by_name.pop(f"gpu{lost.index}", None)
        cards.append(NodeCard(f"gpu{lost.index}", f"GPU {lost.index} · {lost.name or 'unknown'}", "not answering",
                              (), False, TrayState.ATTENTION.value, "GPU lost", lost.error,
                              "check the card and its driver, then restart FarNode", _facts(status)))
    for name, status in sorted(by_name.items()):
        subtitle = "demo model on the CPU" if name == "cpu" else status.model
        cards.append(_card(name, "CPU node" if name == "cpu" else name, subtitle, (), True, status,
                           rate=_rate(rates, status)))
    return cards


def _rate(rates: Mapping[str, float] | None, status: NodeStatus | None) -> float | None:
    """A node's served tokens/s by the chart's route (None: not read; the node's own rate stands)."""
    if rates is None or status is None:
        return None
    return rates.get(status.name, 0.0) if status.state is NodeState.SERVING else 0.0


def _card(key: str, title: str, subtitle: str, readings: tuple[Reading, ...], live: bool,
          status: NodeStatus | None, pause: PauseControl | None = None, rate: float | None = None) -> NodeCard:
    state = _state_of(status)
    state_text = state_words(status) if status is not None else "Not serving"  # "Serving — no requests for 7 min"
    reason = status.reason if status is not None else "this GPU is left out or cannot serve the model"
    hint = status.hint if status is not None else ""
    if status is not None and no_requests_text(status):  # up and healthy, but earning nothing: say what it means
        hint = hint or ("nothing while it is short: the network sends requests when it needs your blocks, and none "
                        "reached this node lately, so it earns nothing meanwhile. If it lasts hours, Stop and Start "
                        "serving")
    if status is not None and (retry := next_try(status)):  # when it tries again by itself, or that it will not
        state_text = retry[0].upper() + retry[1:] if status.state is NodeState.BACKOFF else f"Failed · {retry}"
    return NodeCard(key, title, subtitle, readings, live, state.value, state_text, reason, hint,
                    _facts(status, rate), pause)


class DashboardViewModel(QObject):
    """Cards follow every snapshot; the chart is read from the ledger on a worker, at most every 30 s (every 5 s
    while a serving node's chart holds under two minutes: its first minute shows live, not half a minute late).

    A GPU card's pause and resume go through the task runner; the card shows the result from a fresh snapshot.
    """

    cards_changed = Signal()
    chart_changed = Signal()
    outlook_changed = Signal()

    CHART_REFRESH_S = 30.0
    EARLY_CHART_REFRESH_S = 5.0

    def __init__(self, core: CoreApi, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.cards: list[NodeCard] = []
        self.headline = "Stopped"
        self.state = TrayState.STOPPED
        self.state_text = "Stopped"  # the header's pill: "Serving — no requests for 7 min" when no work arrives
        self.range = "hour"
        self.series: list[MinutePoint] = []  # per minute, every node added up, from the ledger
        self.outlook: EarningsOutlook | None = None  # the earnings forecast and the GPUs' electricity
        self.busy_gpus: dict[int, str] = {}  # GPU index -> "Pausing…" / "Resuming…" while the core works on it
        self._snapshot = Snapshot()
        self._chart_at = 0.0

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._render()
        if time.monotonic() - self._chart_at >= self._chart_refresh_s():
            self.refresh_chart()

    def _chart_refresh_s(self) -> float:
        serving = any(s.state is NodeState.SERVING for s in self._snapshot.statuses)
        return self.EARLY_CHART_REFRESH_S if serving and len(self.series) < 2 else self.CHART_REFRESH_S

    def _render(self) -> None:
        snapshot = self._snapshot
        outlook = snapshot.outlook
        cards = build_cards(snapshot.statuses, snapshot.inventory, snapshot.at, snapshot.snoozed_gpus, self.busy_gpus,
                            snapshot.served_rates, outlook.forecast if outlook is not None else None)
        state = overall_state(list(snapshot.statuses))
        rate = snapshot.tokens_per_s  # the throughput chart's latest minute: one route for both
        serving = sum(1 for s in snapshot.statuses if s.state is NodeState.SERVING)
        state_text = overall_words(snapshot.statuses)
        if state in (TrayState.SERVING, TrayState.NO_REQUESTS):
            headline = f"Serving on {serving} node{'s' if serving != 1 else ''} · {count(rate)} tokens/s"
        else:
            headline = state_text
        if outlook is not None and outlook != self.outlook:
            self.outlook = outlook
            self.outlook_changed.emit()
        if cards != self.cards or headline != self.headline or state_text != self.state_text:
            self.cards, self.headline, self.state, self.state_text = cards, headline, state, state_text
            self.cards_changed.emit()

    # -- one GPU's own pause --------------------------------------------------------------------------
    def pause_gpu(self, gpu: int, choice: str) -> None:
        """Pause this GPU's node ("30m", "1h", "2h", "until_resume"); the other GPUs keep serving."""
        if choice not in {c.key for c in PAUSE_CHOICES}:
            raise ValueError(f"unknown pause length {choice!r}")
        self._act(gpu, "Pausing…", lambda: self.core.snooze(choice, gpu=gpu))

    def resume_gpu(self, gpu: int) -> None:
        """End the provider's pause of this GPU."""
        self._act(gpu, "Resuming…", lambda: self.core.end_snooze(gpu=gpu))

    def _act(self, gpu: int, doing: str, fn: Callable[[], object]) -> None:
        if gpu in self.busy_gpus:
            return

        def failed(exc: BaseException) -> None:
            self.busy_gpus.pop(gpu, None)
            self._render()
            self.tasks.default_error(exc)  # the app shows it as a notification

        def fresh(snapshot: object) -> None:
            assert isinstance(snapshot, Snapshot)
            self.busy_gpus.pop(gpu, None)
            self.on_snapshot(snapshot)

        def done(_: object) -> None:
            if not self.tasks.submit(lambda: take_snapshot(self.core), fresh, failed):
                self.busy_gpus.pop(gpu, None)
                self._render()

        self.busy_gpus[gpu] = doing
        self._render()
        if not self.tasks.submit(fn, done, failed):
            self.busy_gpus.pop(gpu, None)
            self._render()

    def set_range(self, name: str) -> None:
        if name not in RANGES:
            raise ValueError(f"unknown range {name!r}")
        self.range = name
        self.refresh_chart()

    def refresh_chart(self) -> None:
        self._chart_at = time.monotonic()
        seconds = RANGES[self.range]
        self.tasks.submit(lambda: self.core.throughput_history(None, seconds), self._got_series, key="chart")

    def _got_series(self, points: object) -> None:
        assert isinstance(points, list)
        self.series = [p for p in points if isinstance(p, MinutePoint)]
        self.chart_changed.emit()

    @property
    def peak(self) -> float:
        """The chart's highest minute, in served tokens/s."""
        return max((p.tokens_per_s for p in self.series), default=0.0)

    @property
    def served_in_range(self) -> float:
        """Tokens served in the chart's range: the minutes' tokens, which add up to the ledger's."""
        return sum(p.tokens for p in self.series)

    @property
    def chart_note(self) -> str:
        if not self.series:
            return "Nothing served in this period yet: the chart fills as your nodes serve."
        return (f"From this PC's ledger, per minute · peak {self.peak:,.0f} tokens/s · "
                f"{self.served_in_range:,.0f} tokens served {RANGE_WORDS[self.range]}")


def point_text(point: MinutePoint) -> str:
    """The chart's tooltip for one minute: its rate and the tokens served in it."""
    return f"{when(point.at, point.at)} · {point.tokens_per_s:,.0f} tokens/s · {point.tokens:,.0f} tokens served"


def outlook_lines(outlook: EarningsOutlook | None) -> tuple[str, str, str]:
    """The dashboard's outlook: the expected range, its basis in words, and the GPUs' electricity."""
    if outlook is None:
        return "Not enough history yet", "the forecast is read from this PC's ledger", ""
    forecast = outlook.forecast
    basis = forecast.basis
    return forecast.range_text, basis[0].upper() + basis[1:], outlook.electricity.text
