"""First run: can this PC serve (with reasons) -> install the node runtime (with progress) -> create or import
the payout wallet -> start serving."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.gpus.eligibility import assess, detect_wsl
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.busy import run_busy
from farnode_desktop.ui.viewmodels.core_api import CoreApi
from farnode_desktop.ui.viewmodels.format import gib
from farnode_desktop.ui.viewmodels.wallet_setup_vm import WalletSetupViewModel

STEPS = ("Check this PC", "Node runtime", "Wallet and its backup", "Start serving")
MARKER = "first-run-done"


def marker(paths: AppPaths) -> Path:
    return paths.config / MARKER


@dataclass(frozen=True)
class CheckRow:
    title: str
    ok: bool
    reason: str
    what_to_do: str


@dataclass(frozen=True)
class CheckResult:
    headline: str
    ok: bool  # this PC can serve the chosen model (on a GPU, or on the CPU for the demo model)
    rows: tuple[CheckRow, ...]
    notes: tuple[str, ...]


class FirstRunViewModel(QObject):
    """One step at a time; each blocking step (NVML, pip, keyring) runs on the task runner."""

    changed = Signal()
    progress = Signal(str, int, int)  # message, done, total (emitted from the installing worker)
    finished = Signal()

    def __init__(self, core: CoreApi, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.step = 0
        self.busy = False
        self.error = ""
        self.check_result: CheckResult | None = None
        self.runtime_ready = False
        self.runtime_line = ""
        self.runtime_done, self.runtime_total = 0, 0
        self.wallet_setup = WalletSetupViewModel(core, tasks, self)
        self.wallet_setup.changed.connect(self.changed)
        self.progress.connect(self._on_progress)

    # -- navigation -----------------------------------------------------------------------------------
    def can_continue(self) -> bool:
        if self.busy or self.wallet_setup.busy:
            return False
        if self.step == 0:
            return self.check_result is not None and self.check_result.ok
        if self.step == 1:
            return self.runtime_ready
        if self.step == 2:
            return self.address is not None
        return True

    def next(self) -> None:
        if not self.can_continue():
            return
        if self.step == len(STEPS) - 1:
            self.finish()
            return
        self.step += 1
        self.error = ""
        self.changed.emit()
        self.enter()

    def back(self) -> None:
        if self.step > 0 and not self.busy:
            if self.step == 2 and self.wallet_setup.address is None:
                self.wallet_setup.cancel()  # words shown but not confirmed are dropped; nothing was stored
            self.step -= 1
            self.changed.emit()

    def enter(self) -> None:
        """Start what the current step needs (the check, or looking for an installed runtime / wallet)."""
        if self.step == 0:
            self.check()
        elif self.step == 1:
            run_busy(self, self.core.runtime.is_installed, self._runtime_checked)
        elif self.step == 2:
            self.wallet_setup.load()

    # -- step 1: eligibility --------------------------------------------------------------------------
    def check(self) -> None:
        run_busy(self, self._assess, self._checked)

    def _assess(self) -> CheckResult:
        inventory = self.core.sampler.sample_once()
        settings = SettingsStore(self.core.paths.config_file).load()  # the core may not have started yet
        model = self.core.catalog.get(settings.model)
        verdict = assess(inventory, model, settings, wsl=detect_wsl())
        rows = [CheckRow(f"GPU {v.index} · {v.name}", v.ok, v.reason, v.what_to_do) for v in verdict.gpus]
        if inventory.driver_version:
            rows.insert(0, CheckRow("NVIDIA driver", True, f"driver {inventory.driver_version}, CUDA "
                                    f"{inventory.cuda_driver_text}", ""))
        for g in inventory.gpus:
            rows = [r if r.title != f"GPU {g.index} · {g.name}" else
                    CheckRow(r.title + f" ({gib(g.total_bytes)} GiB)", r.ok, r.reason, r.what_to_do) for r in rows]
        ok = bool(verdict.eligible) or model.cpu_ok
        headline = verdict.reason
        if not verdict.eligible and model.cpu_ok:
            headline = f"{verdict.reason}; the demo model ({model.name}) runs on the CPU, so you can still try FarNode"
            rows.append(CheckRow("CPU", True, "the demo model is small enough for the CPU", ""))
        elif not ok and verdict.what_to_do:
            headline = f"{verdict.reason}: {verdict.what_to_do}"
        return CheckResult(headline, ok, tuple(rows), verdict.notes)

    def _checked(self, result: object) -> None:
        assert isinstance(result, CheckResult)
        self.check_result = result

    # -- step 2: the node runtime ---------------------------------------------------------------------
    def _runtime_checked(self, installed: object) -> None:
        self.runtime_ready = bool(installed)
        if self.runtime_ready:
            self.runtime_line = "The node runtime is installed and checked."

    def install_runtime(self) -> None:
        self.runtime_line = "Starting the install…"
        run_busy(self, lambda: self.core.runtime.install(progress=self.progress.emit), self._installed)

    def _on_progress(self, message: str, done: int, total: int) -> None:
        self.runtime_line, self.runtime_done, self.runtime_total = message, done, total
        self.changed.emit()

    def _installed(self, _: object) -> None:
        self.runtime_ready = True
        self.runtime_line = "The node runtime is installed."

    # -- step 3: the wallet (backed up before it holds anything: wallet_setup_vm) ----------------------
    @property
    def address(self) -> str | None:
        return self.wallet_setup.address

    # -- step 4 ---------------------------------------------------------------------------------------
    def finish(self) -> None:
        write_atomic(marker(self.core.paths), "done\n", mode=0o644)
        self.finished.emit()
