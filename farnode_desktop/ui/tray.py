"""The tray icon and its menu, mirroring the TrayViewModel; where no tray exists the app opens a window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from farnode_desktop.ui.icons import tray_icon
from farnode_desktop.ui.viewmodels.tray_vm import PAUSE_CHOICES, Notice, PauseChoice, TrayViewModel
from farnode_desktop.ui.viewmodels.update_vm import UpdateViewModel
from farnode_desktop.ui.windows.style import STYLESHEET

_LEVELS = {
    "info": QSystemTrayIcon.MessageIcon.Information,
    "warning": QSystemTrayIcon.MessageIcon.Warning,
    "critical": QSystemTrayIcon.MessageIcon.Critical,
}


class Tray(QObject):
    """QSystemTrayIcon + QMenu. `open_window(name)` is called with dashboard, wallet, settings or logs."""

    def __init__(self, vm: TrayViewModel, open_window: Callable[[str], None], quit_app: Callable[[], None],
                 parent: QObject | None = None, update: UpdateViewModel | None = None,
                 restart: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.icon = QSystemTrayIcon(tray_icon(vm.state), self)
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.menu.setStyleSheet(STYLESHEET)
        self.header = self.menu.addAction("FarNode")
        self.header.setEnabled(False)
        self.menu.addSeparator()
        self.start_stop = self.menu.addAction("Start serving")
        self.start_stop.triggered.connect(vm.start_stop)
        self.pause_menu = self.menu.addMenu("Pause serving")
        self.pause_actions: dict[str, QAction] = {}
        for choice in PAUSE_CHOICES:
            action = self.pause_menu.addAction(choice.label)
            action.triggered.connect(self._pauser(choice))
            self.pause_actions[choice.key] = action
        self.resume_action = self.menu.addAction("Resume serving")
        self.resume_action.triggered.connect(vm.resume)
        self.menu.addSeparator()
        self.window_actions: dict[str, QAction] = {}
        for name, label in (("dashboard", "Dashboard"), ("wallet", "Wallet && earnings"),
                            ("settings", "Settings"), ("logs", "Logs")):
            action = self.menu.addAction(label)
            action.triggered.connect(self._opener(open_window, name))
            self.window_actions[name] = action
        self.menu.addSeparator()
        self.update_vm = update or UpdateViewModel(self)
        # the app update's download as a bar of text: desktop tray menus (StatusNotifier, Windows) show no widgets
        self.update_progress = self.menu.addAction("Downloading an update")
        self.update_progress.setEnabled(False)
        self.restart_action = self.menu.addAction("Restart to update")
        self.restart_action.triggered.connect(restart or quit_app)
        self.update_vm.changed.connect(self.refresh)
        self.update_vm.notify.connect(self.show_notice)
        self.quit_action = self.menu.addAction("Quit FarNode")
        self.quit_action.triggered.connect(quit_app)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated(open_window))
        self.menu.aboutToShow.connect(self.refresh)
        vm.changed.connect(self.refresh)
        vm.notify.connect(self.show_notice)
        self.refresh()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def refresh(self) -> None:
        vm = self.vm
        self.icon.setIcon(tray_icon(vm.state))
        self.icon.setToolTip(vm.tooltip)
        self.header.setText(vm.tooltip.splitlines()[0])
        self.start_stop.setText(vm.start_stop_label)
        self.start_stop.setEnabled(not vm.busy)
        any_nodes = bool(vm.statuses)
        self.pause_menu.setEnabled(any_nodes and not vm.busy)
        for choice in PAUSE_CHOICES:
            self.pause_actions[choice.key].setText(vm.pause_label(choice))
        self.resume_action.setVisible(vm.snoozed)
        update = self.update_vm
        self.update_progress.setVisible(update.percent is not None)
        self.update_progress.setText(update.progress_text or "Downloading an update")
        self.restart_action.setVisible(bool(update.staged))
        self.restart_action.setText(update.restart_label or "Restart to update")

    def show_notice(self, notice: Notice) -> None:
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage(notice.title, notice.message, _LEVELS.get(notice.level, _LEVELS["info"]), 8000)

    def _pauser(self, choice: PauseChoice) -> Callable[[], None]:
        return lambda: self.vm.pause(choice)

    @staticmethod
    def _opener(open_window: Callable[[str], None], name: str) -> Callable[[], None]:
        return lambda: open_window(name)

    @staticmethod
    def _activated(open_window: Callable[[str], None]) -> Callable[[QSystemTrayIcon.ActivationReason], None]:
        def on(reason: QSystemTrayIcon.ActivationReason) -> None:
            if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
                open_window("dashboard")

        return on
