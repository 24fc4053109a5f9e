"""The tray tells the provider when the update channel refused what a server offered, and stays quiet when the
server merely could not be reached."""

from __future__ import annotations

from farnode_desktop.core.events import Event
from farnode_desktop.ui.viewmodels.tray_vm import notice_for


def test_a_refused_update_is_a_warning_and_an_offline_check_is_quiet() -> None:
    reason = "the update server's signed metadata has expired (...); nothing installed was changed"
    notice = notice_for(Event("update.problem", "updates", reason, {"refused": True}))
    assert notice is not None and (notice.title, notice.message, notice.level) == (
        "An update was refused", reason, "warning")
    assert notice_for(Event("update.problem", "updates", "the update server cannot be reached", {"refused": False})) \
        is None
