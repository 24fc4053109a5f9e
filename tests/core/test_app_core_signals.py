"""AppCore wires every signal reader of this desktop into games first: the readers it passes are exactly the ones
chosen for the session (so a reader chosen but not passed, or a slot left empty, fails here), and each one moves a
node for real: a full-screen window under Xvfb, Steam's registry.vdf, and real input against the idle rule."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.pausing.signals.choose import PcSignals, Session, for_this_pc
from farnode_desktop.core.pausing.signals.reader import Unknown
from farnode_desktop.core.pausing.signals.x11 import X11Fullscreen
from farnode_desktop.core.settings import PauseRules, Settings, SettingsStore
from tests.core.pausing.signals.xdesktop import XDesktop, have_tools, x_desktop
from tests.core.test_app_core import FIXTURES, RecordedSupervisor

pytestmark = pytest.mark.skipif(bool(have_tools()), reason=have_tools() or "")
STEAM = Path(__file__).resolve().parent.parent / "fixtures" / "steam"
SETTINGS = Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"])


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[XDesktop]:
    """An X11 desktop session as FarNode would find it at login: DISPLAY, XDG session type, a home."""
    with x_desktop() as d:
        monkeypatch.setenv("DISPLAY", d.display)
        monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.setenv("XDG_CURRENT_DESKTOP", "")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        yield d


def make_core(tmp_path: Path, settings: Settings, signals: PcSignals | None = None) -> tuple[AppCore, Any]:
    paths = AppPaths.under(tmp_path / "app")
    SettingsStore(paths.ensure().config_file).save(settings)
    made: dict[str, RecordedSupervisor] = {}

    def factory(spec: NodeSpec) -> Any:
        made[spec.name] = RecordedSupervisor(spec)
        return made[spec.name]

    nvml = FakeNvml(json.loads((FIXTURES / "linux_rtx4090.json").read_text()))
    core = AppCore(paths, nvml=nvml, clock=ManualClock(), supervisor_factory=factory, sample_gpus=False,
                   signals=signals)
    core.start()
    return core, made


def games_first_tick(core: AppCore) -> None:
    assert isinstance(core.clock, ManualClock)
    core.clock.advance(2.0)
    core.tick()


def test_appcore_passes_every_reader_chosen_for_this_desktop_to_games_first(desk: XDesktop, tmp_path: Path) -> None:
    core, _ = make_core(tmp_path, SETTINGS)
    given = core.games_first.readers()
    assert not [slot for slot, reader in given.items() if isinstance(reader, Unknown)]  # X11: every slot filled
    chosen = for_this_pc(Session.read(), Path.home())
    assert {slot: [p.kind for p in r.parts()] for slot, r in given.items()} == {
        slot: [p.kind for p in r.parts()] for slot, r in chosen.readers().items()}
    assert core.games_first.signals.kinds() == chosen.kinds() == {
        "x11-screensaver", "freedesktop-screensaver", "steam-registry-vdf", "x11-fullscreen", "process-names"}
    assert core.idle_rule_problem() == ""  # X11's extension answers


def test_a_full_screen_game_window_pauses_the_node_through_appcore(desk: XDesktop, tmp_path: Path) -> None:
    core, made = make_core(tmp_path, SETTINGS)
    games_first_tick(core)
    assert made["gpu0"].calls == ["start"]
    with desk.window("StandInGame", fullscreen=True):
        games_first_tick(core)
    assert made["gpu0"].calls == ["start", "pause: StandInGame is full screen in front"]


def test_steams_running_game_in_registry_vdf_pauses_the_node_through_appcore(desk: XDesktop, tmp_path: Path) -> None:
    core, made = make_core(tmp_path, SETTINGS)
    games_first_tick(core)
    vdf = Path.home() / ".steam" / "registry.vdf"
    vdf.parent.mkdir(parents=True)
    shutil.copy(STEAM / "registry_playing.vdf", vdf)
    games_first_tick(core)
    assert made["gpu0"].calls == ["start", "pause: Steam game running (app 1245620)"]


def test_real_input_keeps_an_idle_only_node_paused_until_the_pc_is_left_alone(desk: XDesktop, tmp_path: Path) -> None:
    settings = Settings.from_json(SETTINGS.to_json())
    settings.pause = PauseRules(only_when_idle=True, idle_minutes=1)
    core, made = make_core(tmp_path, settings)
    desk.xdotool("mousemove", "50", "60")
    games_first_tick(core)
    assert made["gpu0"].calls[-1] == "pause: You are using the PC; serving starts after 1 min idle"
    time.sleep(1.2)
    idle = core.games_first.signals.idle()
    assert idle is not None and 1.0 <= idle < 60  # the real idle time: rising, still under a minute


def test_the_idle_rule_problem_is_said_where_no_reader_answers(tmp_path: Path) -> None:
    core, _ = make_core(tmp_path, SETTINGS, signals=for_this_pc(Session("darwin")))
    assert core.idle_rule_problem() == ("Not available: FarNode cannot tell how long you have been away on "
                                        "macOS, so it cannot serve only while you are away")


def test_shutdown_closes_the_readers_connections(desk: XDesktop, tmp_path: Path) -> None:
    core, _ = make_core(tmp_path, SETTINGS)
    games_first_tick(core)  # the readers connect on their first reading
    fullscreen = core.games_first.signals.fullscreen
    assert isinstance(fullscreen, X11Fullscreen) and fullscreen.display.connected
    core.shutdown(timeout_s=5)
    assert not fullscreen.display.connected
