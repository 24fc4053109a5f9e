"""A size-capped rotating log file for a node's server output (the newest lines are always kept)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class RotatingLog:
    """Appends lines to `path`; past `max_bytes` the file moves to `.1` (older ones shift up to `backups`)."""

    def __init__(self, path: Path, max_bytes: int = 5 * 1024 * 1024, backups: int = 3) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115 (kept open)
        self.write_errors = 0

    def write_line(self, line: str) -> None:
        with self._lock:
            try:
                if self._fh.tell() >= self.max_bytes:
                    self._rotate()
                self._fh.write(line if line.endswith("\n") else line + "\n")
                self._fh.flush()
            except OSError:
                # A full disk must not stop the node: the line is still parsed for state, just not kept.
                self.write_errors += 1

    def _rotate(self) -> None:
        self._fh.close()
        for i in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115

    def close(self) -> None:
        with self._lock:
            self._fh.close()

    def tail(self, lines: int = 40) -> list[str]:
        """The last `lines` lines of the current file (for failure explanations)."""
        with self._lock:
            self._fh.flush()
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 64 * 1024))
                data = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return data.splitlines()[-lines:]
