"""`farnode demo`'s own parts that need no node: when it counts as having a display, its flags, the status line
before the network is up, and its plain errors. The whole demo as a real process: tests/integration/test_demo_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.cli.commands import build_parser
from farnode_desktop.cli.demo_cmd import _print_error, _status_line, has_display
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet.demo import DemoNetwork, update_after


@pytest.mark.parametrize(("env", "shown"), [({}, False), ({"DISPLAY": ":0"}, True), ({"WAYLAND_DISPLAY": "w-0"}, True),
                                            ({"QT_QPA_PLATFORM": "offscreen"}, False)])
def test_a_display_is_an_x_or_wayland_one(env: dict[str, str], shown: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert has_display() is shown  # offscreen Qt shows nothing: the demo runs headless


def test_demo_flags() -> None:
    args = build_parser().parse_args(["demo"])
    assert (args.headless, args.duration, args.claim_every) == (False, 0, 45)
    args = build_parser().parse_args(["demo", "--headless", "--duration", "90", "--claim-every", "10"])
    assert (args.headless, args.duration, args.claim_every) == (True, 90.0, 10.0)
    # the demo's node-runtime release: 20 s after the first served request by default, never with -1
    assert update_after(build_parser().parse_args(["demo"])) == 20.0
    assert update_after(build_parser().parse_args(["demo", "--update-after", "0"])) == 0.0
    assert update_after(build_parser().parse_args(["demo", "--update-after", "-1"])) is None


def test_the_status_line_before_the_network_is_up(tmp_path: Path) -> None:
    demo = DemoNetwork(AppPaths.under(tmp_path / "demo"), NodeRuntime(tmp_path / "runtime"))
    assert demo.core is None
    assert _status_line(demo) == "demo: not started"


def test_errors_are_two_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    _print_error(FarNodeError("the node did not start serving in time", hint="see `farnode node status`"))
    _print_error(FarNodeError("stopped"))
    assert capsys.readouterr().err.splitlines() == ["farnode demo: the node did not start serving in time",
                                                    "  what to do: see `farnode node status`",
                                                    "farnode demo: stopped"]
