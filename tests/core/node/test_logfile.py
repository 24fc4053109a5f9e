"""The node's size-capped rotating log."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.node.logfile import RotatingLog


def test_rotates_at_the_cap_and_keeps_the_newest_lines(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "node.log", max_bytes=1000, backups=2)
    for i in range(300):
        log.write_line(f"line {i:04d} " + "x" * 20)
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["node.log", "node.log.1", "node.log.2"]  # older ones beyond the backups are gone
    assert all(p.stat().st_size <= 1000 + 40 for p in tmp_path.iterdir())
    assert (tmp_path / "node.log").read_text().splitlines()[-1].startswith("line 0299")
    assert RotatingLog(tmp_path / "node.log").tail(1)[0].startswith("line 0299")


def test_a_write_that_fails_is_counted_not_raised(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "node.log")
    log._fh.close()  # stands for a disk that refuses writes (ValueError/OSError from the file object)
    log._fh = open("/dev/full", "w")  # noqa: SIM115 (Linux: every write fails with ENOSPC)
    log.write_line("a line on a full disk")
    assert log.write_errors == 1
