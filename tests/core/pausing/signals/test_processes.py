"""The running programs as the pause list sees them: lowercase names of real processes."""

from __future__ import annotations

import subprocess

import psutil

from farnode_desktop.core.pausing.signals.processes import RunningPrograms


def test_a_started_program_is_listed_by_its_lowercase_name() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        names = RunningPrograms()()
        assert "sleep" in names
        assert psutil.Process().name().lower() in names
        assert all(n == n.lower() for n in names)
    finally:
        proc.kill()
        proc.wait()
