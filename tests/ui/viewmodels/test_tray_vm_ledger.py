"""The tray's notice when the core kept a damaged ledger aside and started a new one."""

from __future__ import annotations

from farnode_desktop.core.events import Event
from farnode_desktop.ui.viewmodels.tray_vm import notice_for


def test_a_damaged_ledger_is_a_warning_notice_with_the_reason() -> None:
    reason = "the ledger could not be read (...); it was kept as /x/ledger.sqlite3.bad-1 and a new ledger was started"
    notice = notice_for(Event("ledger.problem", "wallet", reason))
    assert notice is not None
    assert (notice.title, notice.message, notice.level) == (
        "The ledger was damaged: a new one was started", reason, "warning")
