"""`farnode` itself (cli.main): a provider's error is two plain lines and its exit code, Ctrl-C is 130, and the
sub-command's own exit code is returned."""

from __future__ import annotations

import argparse
import sys

import pytest

import farnode_desktop.cli as cli
from farnode_desktop.core.errors import FarNodeError, UserInputError


def _parser_running(handler: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="farnode")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("go").set_defaults(handler=handler)
    sub.add_parser("nothing")
    return parser


def _main_with(handler: object, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(cli, "build_parser", lambda: _parser_running(handler))
    return cli.main(argv)


def test_a_provider_error_is_printed_plainly_with_its_hint(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def fails(args: argparse.Namespace) -> int:
        raise FarNodeError("the coordinator could not be reached", hint="check your internet connection")

    assert _main_with(fails, ["go"], monkeypatch) == 1
    assert capsys.readouterr().err.splitlines() == ["farnode: the coordinator could not be reached",
                                                    "  what to do: check your internet connection"]

    def bad_input(args: argparse.Namespace) -> int:
        raise UserInputError("-3 is not a number of blocks")

    assert _main_with(bad_input, ["go"], monkeypatch) == 2
    assert capsys.readouterr().err.splitlines() == ["farnode: -3 is not a number of blocks"]  # no empty hint line


def test_ctrl_c_is_a_plain_interrupted_and_130(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert _main_with(interrupted, ["go"], monkeypatch) == 130
    assert capsys.readouterr().err == "farnode: interrupted\n"


def test_the_handlers_exit_code_is_returned_and_other_faults_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _main_with(lambda args: 3, ["go"], monkeypatch) == 3

    def crashes(args: argparse.Namespace) -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        _main_with(crashes, ["go"], monkeypatch)


def test_a_command_without_a_handler_shows_the_help(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delitem(sys.modules, "farnode_desktop.cli.app_cmd", raising=False)
    assert _main_with(lambda args: 0, ["nothing"], monkeypatch) == 0
    assert capsys.readouterr().out.startswith("usage: farnode")
