"""`farnode app` and plain `farnode` where there is no display: a plain refusal, or the help; no Qt is loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from farnode_desktop.cli import main

NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NO_DISPLAY:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_display")
@pytest.mark.parametrize("argv", [["app"], ["app", "--demo"], ["app", "--minimized"]])
def test_app_without_a_display_is_refused_in_plain_words(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no display to show the app on" in err and "farnode demo --headless" in err


@pytest.mark.usefixtures("no_display")
def test_plain_farnode_without_a_display_shows_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    import farnode_desktop.cli.app_cmd  # noqa: F401  (installed: the default is the app, where there is a display)

    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: farnode") and "open the desktop app in the tray" in out


def test_app_flags_are_parsed_and_bad_ones_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from farnode_desktop.cli.commands import build_parser

    args = build_parser().parse_args(["app", "--demo", "--duration", "5", "--claim-every", "7"])
    assert (args.demo, args.minimized, args.duration, args.claim_every) == (True, False, 5.0, 7.0)
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["app", "--duration", "soon"])
    assert exited.value.code == 2 and "invalid float value: 'soon'" in capsys.readouterr().err


def test_the_commands_never_load_qt_without_the_app_command() -> None:
    code = ("import sys; from farnode_desktop.cli.commands import build_parser; build_parser(); "
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
