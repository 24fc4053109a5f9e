"""Settings: a draft of the provider's settings, the planner's explanation, and applying without a restart."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.gpus.eligibility import assess
from farnode_desktop.core.gpus.fleet import FleetOptions, gpu_spec
from farnode_desktop.core.node.runtime_lock import runtime_needs
from farnode_desktop.core.pausing.rules import DAYS, parse_schedule
from farnode_desktop.core.settings import Setting, Settings
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import CoreApi
from farnode_desktop.ui.viewmodels.format import error_text
from farnode_desktop.ui.viewmodels.network_vm import PinnedView, pinned_view

_SCHEDULE_LINE = re.compile(r"^\s*([A-Za-z,\- ]+?)\s+(\d{1,2}:\d{2})\s*[--]\s*(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class GpuChoice:
    uuid: str
    label: str
    included: bool


def schedule_text(schedule: list[dict[str, object]]) -> str:
    """Settings' schedule as lines the provider edits: `Mon-Fri 09:00-17:30`."""
    return "\n".join(w.describe().replace(", ", ",") for w in parse_schedule(schedule))


def parse_schedule_text(text: str) -> list[dict[str, object]]:
    """`Mon-Fri 09:00-17:30` or `Sat,Sun 22:00-08:00`, one window a line, into settings' entries."""
    entries: list[dict[str, object]] = []
    for n, line in enumerate((ln for ln in text.splitlines() if ln.strip()), 1):
        match = _SCHEDULE_LINE.match(line)
        if match is None:
            raise UserInputError(f"schedule line {n} ({line.strip()!r}) is not like 'Mon-Fri 09:00-17:30'")
        days: set[int] = set()
        for part in match.group(1).replace(" ", "").split(","):
            ends = [_day(d, n) for d in part.split("-")]
            if len(ends) == 2:
                a, b = ends
                days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
            else:
                days.add(ends[0])
        entries.append({"days": sorted(days), "start": match.group(2).zfill(5), "end": match.group(3).zfill(5)})
    parse_schedule(entries)  # same checks the core applies
    return entries


def _day(name: str, line: int) -> int:
    key = name[:3].capitalize()
    if key not in DAYS:
        raise UserInputError(f"schedule line {line}: {name!r} is not a day (Mon, Tue, … Sun)")
    return DAYS.index(key)


class SettingsViewModel(QObject):
    """Edits a draft; `apply()` saves it through the core (on the task runner), which restarts only the nodes
    that must and does not wait for them to stop."""

    changed = Signal()
    applied = Signal(str)
    error = Signal(str)

    def __init__(self, core: CoreApi, tasks: TaskRunner, parent: QObject | None = None,
                 autostart: Autostart | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.autostart = autostart or Autostart()
        self.draft = Settings.from_json(core.settings.to_json())
        self.schedule = schedule_text(self.draft.pause.schedule)
        self.programs = "\n".join(self.draft.pause.programs)
        self.busy = False
        self.message = ""
        self.idle_problem: str | None = None  # why the idle rule cannot work on this desktop; None until read
        tasks.submit(core.idle_rule_problem, self._idle_read, key="idle-rule")

    def pinned(self) -> PinnedView:
        """The FAR token and payout contract this installation pins for the draft's chain (read-only here)."""
        return pinned_view(self.core.networks(), self.draft.chain_id)

    @property
    def models(self) -> list[str]:
        """The models this FarNode's node runtime can serve (a model that needs a newer runtime is not offered),
        and the one chosen now even if it needs one: the plan then says why it does not start."""
        offered = [m.name for m in self.core.catalog.offered(runtime_needs().transformers)]
        chosen = self.draft.model
        return offered if chosen in offered or chosen not in self.core.catalog.names() else [*offered, chosen]

    def value(self, setting: Setting) -> object:
        """The draft's value of one declared setting (what a widget shows)."""
        return setting.read(self.draft)

    def set_value(self, setting: Setting, value: object) -> None:
        """Put a widget's value into the draft, type-checked against the declaration (ranges: on apply)."""
        setting.write(self.draft, value)

    def gpus(self) -> list[GpuChoice]:
        inventory = self.core.gpu_inventory()
        return [GpuChoice(g.uuid, f"GPU {g.index} · {g.name}", g.uuid not in self.draft.excluded_gpus)
                for g in (inventory.gpus if inventory else ())]

    def set_gpu(self, uuid: str, included: bool) -> None:
        excluded = [u for u in self.draft.excluded_gpus if u != uuid]
        self.draft.excluded_gpus = excluded if included else [*excluded, uuid]
        self.changed.emit()

    def set_model(self, model: str) -> None:
        self.draft.model = model
        self.changed.emit()

    def set_programs(self, text: str) -> None:
        """The programs to pause for, one a line as the provider types them (read back by `build`)."""
        self.programs = text

    def set_schedule(self, text: str) -> None:
        """The pause schedule as the provider types it, `Mon-Fri 09:00-17:30` a line (read back by `build`)."""
        self.schedule = text

    def set_blocks(self, blocks: int | None) -> None:
        self.draft.blocks = blocks
        self.changed.emit()

    def plan_text(self) -> str:
        """The planner's arithmetic for each GPU with the draft's model, blocks and headroom."""
        inventory = self.core.planning_inventory()
        if inventory is None:
            return "GPUs not read yet."
        try:
            model = self.core.catalog.get(self.draft.model)
        except FarNodeError as exc:
            return str(exc)
        verdicts = assess(inventory, model, self.draft)
        out: list[str] = []
        for v in verdicts.gpus:
            if v.plan is not None and v.ok:
                out += v.plan.lines()
                if self.draft.blocks is not None:  # what the fleet will launch on this GPU with a manual choice
                    serve = gpu_spec(v, model, self.draft, FleetOptions()).num_blocks
                    out.append(f"  manual: you chose {self.draft.blocks} blocks in Settings: this GPU serves {serve}")
                out.append("")
            else:
                out.append(f"GPU {v.index} ({v.name}): {v.state} — {v.reason}")
        if not verdicts.gpus and model.cpu_ok:  # the demo model on a PC without an NVIDIA GPU: it serves, on the CPU
            out.append(f"No NVIDIA GPU serves here, so FarNode serves {model.display} on the CPU: all of its "
                       f"{model.num_layers} blocks (a block is one layer of the model; the network splits a model "
                       "into blocks and each node serves some of them).")
        elif not verdicts.gpus:
            out.append(verdicts.reason + (f" ({verdicts.what_to_do})" if verdicts.what_to_do else ""))
        return "\n".join(out)

    def build(self) -> Settings:
        """The draft with the text fields read back; raises UserInputError with what to fix."""
        new = Settings.from_json(self.draft.to_json())
        new.pause.schedule = parse_schedule_text(self.schedule)
        new.pause.programs = [p.strip() for p in re.split(r"[\n,]", self.programs) if p.strip()]
        new.validate()
        return new

    def apply(self) -> None:
        try:
            new = self.build()
        except FarNodeError as exc:
            self.message = error_text(exc)
            self.error.emit(self.message)
            return
        self.busy = True
        self.message = "Saving…"
        self.changed.emit()

        def save() -> list[str]:
            restarted = self.core.apply_settings(new)
            if self.autostart.is_enabled() != new.start_at_login:
                self.autostart.set_enabled(new.start_at_login)
            return restarted

        self.tasks.submit(save, self._saved, self._failed, key="settings")

    def _idle_read(self, problem: object) -> None:
        self.idle_problem = str(problem)
        self.changed.emit()

    def _saved(self, restarted: object) -> None:
        assert isinstance(restarted, list)
        self.busy = False
        # the core only begins the restarts (each node stops, then relaunches): the dashboard shows them go by
        self.message = (f"Saved. Restarting {', '.join(restarted)} to apply the change." if restarted
                        else "Saved. Applied without restarting any node.")
        self.applied.emit(self.message)
        self.changed.emit()

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.message = f"Not saved: {error_text(exc)}"
        self.error.emit(self.message)
        self.changed.emit()
