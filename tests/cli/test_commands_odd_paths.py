"""Odd paths and arguments given to `farnode`: a file where FarNode's home folder should be, keystores that are
folders, FIFOs, devices, symlink loops or missing, model folders that are none of those things, amounts it cannot
read and node names with escapes. Each ends in a plain error (exit 1 or 2, never a traceback), and nothing runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from farnode_desktop.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own refusal of an argument: usage and a sentence, exit 2
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text, text
    return code, captured.err


@pytest.fixture
def odd(tmp_path: Path) -> dict[str, str]:
    """Paths of every odd kind."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("not a folder")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    return {"folder": str(tmp_path / "folder"), "file": str(tmp_path / "file"), "fifo": str(tmp_path / "fifo"),
            "loop": str(tmp_path / "loop"), "missing": str(tmp_path / "missing"), "device": "/dev/zero",
            "not utf-8": os.fsdecode(bytes(tmp_path) + b"/\xff\xfe"), "empty": ""}


@pytest.mark.parametrize("command", [["node", "status"], ["node", "stop"], ["node", "status", "--json"],
                                     ["earnings", "--json"]])
def test_a_file_where_farnode_home_should_be_is_a_plain_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    (tmp_path / "home").write_text("a file, not a folder")
    monkeypatch.setenv("FARNODE_HOME", str(tmp_path / "home" / "sub"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    code, err = _run(capsys, *command)
    assert code != 0 and err.startswith("farnode: ") and "what to do:" in err, err


@pytest.mark.parametrize("kind", ["folder", "fifo", "loop", "missing", "device", "not utf-8", "empty"])
def test_an_odd_keystore_path_is_a_plain_error(
    farnode_home: Path, odd: dict[str, str], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    code, err = _run(capsys, "wallet", "import", "--keystore", odd[kind])
    assert code == 2 and ("cannot be a keystore" in err or "cannot read the keystore file" in err), err


@pytest.mark.parametrize("kind", ["folder", "file", "fifo", "loop", "missing", "device", "not utf-8"])
def test_an_odd_model_folder_is_refused_before_anything_runs(
    farnode_home: Path, odd: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    kind: str
) -> None:
    monkeypatch.setenv("FARNODE_RUNTIME_DIR", str(farnode_home / "no-runtime"))
    code, err = _run(capsys, "node", "start", "--foreground", "--model", odd[kind])
    assert code != 0 and err.startswith("farnode: "), err
    assert not list(farnode_home.glob("**/server.pid"))  # no server was launched


@pytest.mark.parametrize("amount", ["1e999GiB", "NaNGiB", "inf", "-5GiB", "20XB", "", "0x10GiB", "9" * 400 + "GiB"])
def test_an_amount_of_vram_it_cannot_read_is_a_plain_error(
    farnode_home: Path, capsys: pytest.CaptureFixture[str], amount: str
) -> None:
    code, err = _run(capsys, "plan", "--model", "farlabs/tiny-demo", f"--vram-free={amount}")
    assert code != 0 and err.startswith("farnode: "), err


@pytest.mark.parametrize("name", ["../../x", "a\x1b[31m", "x" * 200, "", "\u202eevil", "gpu0;rm"])
@pytest.mark.parametrize("command", ["status", "stop"])
def test_an_odd_node_name_is_refused_by_the_argument_parser(
    farnode_home: Path, capsys: pytest.CaptureFixture[str], command: str, name: str
) -> None:
    code, err = _run(capsys, "node", command, "--name", name)
    assert code == 2 and "a node name is 1 to 32 letters" in err and "\x1b" not in err, err
