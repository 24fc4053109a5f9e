"""Atomic writes: the new bytes with the asked mode bits, and on a failure mid-write the old file stays whole and no
temp file is left behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from farnode_desktop.core import atomic
from farnode_desktop.core.atomic import write_atomic


def test_writes_text_or_bytes_with_private_mode_bits_by_default(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "settings.json"  # missing folders are made
    write_atomic(path, "héllo")
    assert path.read_bytes() == "héllo".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_atomic(path, b"\x00\x01", mode=0o644)
    assert path.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(path.parent) == ["settings.json"]


def test_a_full_disk_at_fsync_leaves_the_old_file_and_no_temp_file(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    write_atomic(path, "old")

    def disk_full(fd: int) -> None:  # the OS boundary: the disk fills up after the bytes went to the temp file
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, "new" * 1000)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_target_that_cannot_be_replaced_is_untouched_and_no_temp_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "ledger"
    target.mkdir()
    (target / "inside.txt").write_text("kept")
    with pytest.raises(OSError):  # a real os.replace failure: a file cannot replace a non-empty folder
        write_atomic(target, "new")
    assert (target / "inside.txt").read_text() == "kept"
    assert sorted(os.listdir(tmp_path)) == ["ledger"]


def test_an_interrupt_mid_write_cleans_up_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.json"
    path.write_text("old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["config.json"]
