"""The Windows installer script compiles with makensis and agrees with the app on names, paths and commands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from farnode_desktop.cli.commands import build_parser
from farnode_desktop.core import autostart, paths
from farnode_desktop.core.node.spec import WslBackend
from tests.installer.conftest import INSTALLER, need_tools

NSI = INSTALLER / "nsis" / "farnode.nsi"


def _define(name: str) -> str:
    match = re.search(rf'^!define {name} "(.*)"$', NSI.read_text(), re.M)
    assert match, f"{name} is not defined in farnode.nsi"
    return match.group(1)


def test_makensis_builds_the_installer_from_a_staged_tree(tmp_path: Path) -> None:
    need_tools("makensis")
    output = tmp_path / "FarNode-Setup.exe"
    result = subprocess.run([str(INSTALLER / "build_nsis.sh"), "", str(output)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    data = output.read_bytes()
    assert data[:2] == b"MZ"  # a Windows executable
    assert b"Nullsoft" in data or b"NullsoftInst" in data
    pe = int.from_bytes(data[0x3C:0x40], "little")  # the PE header: a 64-bit (x86-64) installer, Target amd64-unicode
    assert data[pe:pe + 4] == b"PE\0\0" and int.from_bytes(data[pe + 4:pe + 6], "little") == 0x8664


def test_makensis_refuses_to_build_without_the_frozen_app(tmp_path: Path) -> None:
    need_tools("makensis")
    result = subprocess.run(["makensis", "-V2", f"-DOUTFILE={tmp_path / 'x.exe'}", str(NSI)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "STAGE_DIR" in result.stdout + result.stderr
    assert not (tmp_path / "x.exe").exists()


def test_start_at_login_uses_the_same_run_value_as_the_app() -> None:
    assert _define("RUN_KEY") == autostart.RUN_KEY
    assert _define("RUN_VALUE") == autostart.VALUE_NAME


def test_uninstaller_removes_the_runtime_where_the_app_keeps_it() -> None:
    assert _define("DATA_DIR") == rf"$LOCALAPPDATA\{paths.APP_AUTHOR}\{paths.APP_NAME}"
    assert _define("WSL_DISTRIBUTION") == WslBackend().distribution
    text = NSI.read_text()
    assert r'RMDir /r "${DATA_DIR}\runtime"' in text
    assert "--unregister ${WSL_DISTRIBUTION}" in text


def test_uninstaller_wallet_commands_are_real_cli_commands() -> None:
    text = NSI.read_text()
    assert '"$INSTDIR\\${CLI_EXE}" wallet address' in text
    delete = re.search(r'"\$INSTDIR\\\$\{CLI_EXE\}" (wallet delete --confirm-address) \$1', text)
    assert delete, "the uninstaller must delete the wallet with the address it read"
    address = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    args = build_parser().parse_args([*delete.group(1).split(), address])
    assert args.handler.__name__ == "cmd_delete" and args.confirm_address == address
    assert build_parser().parse_args(["wallet", "address"]).handler.__name__ == "cmd_address"
    # The wallet section is opt-in (/o): unticked unless the user asks.
    assert re.search(r'^Section /o "un\.Also delete my wallet key"', text, re.M)
