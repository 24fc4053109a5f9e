"""Steam's running game on Linux: RunningAppID in Steam's registry.vdf (Valve's text KeyValues format)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from farnode_desktop.core.pausing.signals.reader import Reader

# Where Steam keeps its registry file: the native client, and the Flatpak one.
REGISTRY_FILES = (".steam/registry.vdf", ".var/app/com.valvesoftware.Steam/.steam/registry.vdf")
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([{}])|//[^\n]*|\S+')
KeyValues = dict[str, "str | KeyValues"]


def parse_vdf(text: str) -> KeyValues:
    """Valve KeyValues text into nested dicts with lowercased keys (Steam is not consistent about case)."""
    stack: list[KeyValues] = [{}]
    key: str | None = None
    for match in _TOKEN.finditer(text):
        quoted, brace = match.group(1), match.group(2)
        if brace == "{":
            child: KeyValues = {}
            stack[-1][(key or "").lower()] = child
            stack.append(child)
            key = None
        elif brace == "}":
            if len(stack) > 1:
                stack.pop()
            key = None
        elif quoted is not None or not match.group(0).startswith("//"):
            word = quoted if quoted is not None else match.group(0)
            if key is None:
                key = word
            else:
                stack[-1][key.lower()] = word
                key = None
    return stack[0]


def running_app_id(tree: KeyValues) -> int | None:
    node: str | KeyValues = tree
    for part in ("registry", "hkcu", "software", "valve", "steam", "runningappid"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    try:
        return int(node) if isinstance(node, str) else None
    except ValueError:
        return None


class SteamVdf(Reader[int | None]):
    """The newest of Steam's registry files here; re-read only when it changes. None: no Steam on this PC."""

    kind = "steam-registry-vdf"
    what = "Steam's RunningAppID in its registry.vdf"

    def __init__(self, home: Path, files: Sequence[str] = REGISTRY_FILES) -> None:
        self.paths = [home / f for f in files]
        self._seen: tuple[Path, int, int] | None = None
        self._value: int | None = None

    def __call__(self) -> int | None:
        found: list[tuple[int, Path, int]] = []
        for path in self.paths:
            try:
                st = path.stat()
            except OSError:
                continue
            found.append((st.st_mtime_ns, path, st.st_size))
        if not found:
            self._seen, self._value = None, None
            return None
        mtime, path, size = max(found)
        if self._seen != (path, mtime, size):
            try:
                self._value = running_app_id(parse_vdf(path.read_text(encoding="utf-8", errors="replace")))
            except OSError:
                return None
            self._seen = (path, mtime, size)
        return self._value
