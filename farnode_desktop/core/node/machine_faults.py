"""Faults of the machine around a node (a full disk, an unwritable folder): plain words for an OSError, and a record
of which of FarNode's own writes fail right now, so they are shown and retried instead of killing the supervisor."""

from __future__ import annotations

import errno
from collections.abc import Callable

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_NOT_ALLOWED = (errno.EACCES, errno.EPERM, errno.EROFS)


def explain_os_error(what: str, exc: OSError) -> str:
    """`what` is what FarNode tried to do ("save the node's status file"); the OS's own words stay in brackets."""
    cause = exc.strerror or str(exc)
    if exc.errno in _FULL:
        return f"There is not enough free disk space: FarNode cannot {what} ({cause}). Free some disk space."
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno in _NOT_ALLOWED:
        return f"FarNode is not allowed to {what}: the file{where} is not writable ({cause})."
    return f"FarNode cannot {what}{' (' + str(exc.filename) + ')' if exc.filename else ''}: {cause}."


class MachineFaults:
    """Which writes fail now, each with its explanation; `on_change(text, resolved)` hears every new fault and fix."""

    def __init__(self, on_change: Callable[[str, bool], None]) -> None:
        self._on_change = on_change
        self._now: dict[str, str] = {}

    def failed(self, key: str, what: str, exc: OSError) -> None:
        text = explain_os_error(what, exc)
        if self._now.get(key) != text:
            self._now[key] = text
            self._on_change(text, False)

    def ok(self, key: str) -> None:
        text = self._now.pop(key, None)
        if text is not None:
            self._on_change(f"fixed: {text}", True)

    def attempt(self, key: str, what: str, action: Callable[[], object]) -> bool:
        """Run one write; an OSError becomes a recorded fault instead of an exception."""
        try:
            action()
        except OSError as exc:
            self.failed(key, what, exc)
            return False
        self.ok(key)
        return True

    def summary(self) -> str:
        return " ".join(dict.fromkeys(self._now.values()))
