"""The `farnode` parser: every command group is there with its help, bad flags exit 2 with a plain message, and an
optional part that is not installed leaves the others working."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from farnode_desktop import __version__
from farnode_desktop.cli import commands
from farnode_desktop.cli.commands import build_parser

GROUPS = {"runtime", "node", "gpus", "plan", "wallet", "earnings", "claim", "devnet", "demo", "app", "update"}


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_group_is_registered_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert set(_commands(parser)) == GROUPS
    for name in sorted(GROUPS):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args([name, "--help"])
        assert exited.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: farnode {name}")
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"farnode {__version__}"


def test_each_command_gets_its_handler() -> None:
    parser = build_parser()
    for argv, handler in ((["runtime", "check"], "cmd_check"), (["runtime", "install"], "cmd_install"),
                          (["earnings"], "cmd_earnings"), (["claim"], "cmd_claim"), (["demo"], "cmd_demo"),
                          (["app"], "run_app_cmd"), (["gpus"], "cmd_gpus")):
        assert parser.parse_args(argv).handler.__name__ == handler, argv


@pytest.mark.parametrize(("argv", "says"), [
    (["no-such-command"], "invalid choice: 'no-such-command'"),
    (["runtime"], "the following arguments are required: runtime_command"),
    (["runtime", "install", "--flavour", "cuda"], "unrecognized arguments: --flavour cuda"),
    (["earnings", "--days", "a week"], "invalid int value: 'a week'"),
    (["claim", "--wait", "later"], "invalid float value: 'later'"),
    (["demo", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_commands_and_flags_exit_2_with_a_plain_message(argv: list[str], says: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and says in err and err.startswith("usage: farnode")
    assert "Traceback" not in err


def test_a_command_module_that_is_not_installed_leaves_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "COMMAND_MODULES", ("farnode_desktop.cli.not_installed_cmd",
                                                      *commands.COMMAND_MODULES))
    assert set(_commands(build_parser())) == GROUPS


def test_a_command_module_that_is_broken_is_not_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the command module itself being absent is skipped; a missing import inside it is a fault and is raised."""
    (tmp_path / "farnode_broken_cmd.py").write_text("import farnode_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(commands, "COMMAND_MODULES", ("farnode_broken_cmd",))
    with pytest.raises(ModuleNotFoundError) as raised:
        build_parser()
    assert raised.value.name == "farnode_missing_dependency"
