"""The programs running on this PC (psutil), for the provider's own pause list."""

from __future__ import annotations

from farnode_desktop.core.pausing.signals.reader import Reader


class RunningPrograms(Reader[frozenset[str]]):
    """Lowercase names of the processes running on this PC, on every OS."""

    kind = "process-names"
    what = "the names of the programs running on this PC"

    def __call__(self) -> frozenset[str]:
        import psutil

        names = set()
        for proc in psutil.process_iter(["name"]):
            name = proc.info.get("name")
            if name:
                names.add(str(name).lower())
        return frozenset(names)
