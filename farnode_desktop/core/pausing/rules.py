"""Games first: the rules that decide when a GPU's node steps aside, as a pure policy with hysteresis."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.gpus.nvml import MIB, GpuInfo, GpuProcess
from farnode_desktop.core.settings import PauseRules

# Graphics processes that are always there and are not games: desktops, shells, browsers, launchers.
DESKTOP_PROGRAMS = frozenset(
    n.lower()
    for n in (
        "Xorg", "Xwayland", "gnome-shell", "kwin_x11", "kwin_wayland", "plasmashell", "mutter", "sway",
        "Hyprland", "picom", "compiz", "cinnamon", "xfwm4", "firefox", "chrome", "chromium", "code",
        "dwm.exe", "explorer.exe", "SearchHost.exe", "SearchApp.exe", "TextInputHost.exe",
        "ShellExperienceHost.exe", "StartMenuExperienceHost.exe", "ApplicationFrameHost.exe", "LockApp.exe",
        "Widgets.exe", "SystemSettings.exe", "PhoneExperienceHost.exe", "chrome.exe", "msedge.exe",
        "msedgewebview2.exe", "firefox.exe", "brave.exe", "opera.exe", "steamwebhelper.exe", "steam.exe",
        "steam", "EpicGamesLauncher.exe", "Discord.exe", "Discord", "slack.exe", "Teams.exe", "ms-teams.exe",
        "Code.exe", "NVIDIA Share.exe", "NVIDIA Overlay.exe", "nvcontainer.exe", "NVIDIA app.exe",
        "GameBar.exe", "farnode", "farnode.exe", "FarNode Desktop.exe",
    )
)  # fmt: skip
GAME_MIN_BYTES = 512 * MIB  # a graphics process smaller than this is a window, not a game
OTHER_COMPUTE_MIN_BYTES = 1024 * MIB
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Why a node was paused; the resume delay applies to the ones a game can flicker in and out of.
SLOW_RESUME = frozenset({"game", "gpu_busy", "steam", "program", "fullscreen"})


@dataclass(frozen=True)
class PauseInputs:
    """What the policy sees for one GPU at one moment (all read elsewhere, through boundaries)."""

    gpu: GpuInfo | None
    own_pids: frozenset[int] = frozenset()  # the node's own processes on this GPU: never a "game"
    running_programs: frozenset[str] = frozenset()  # lowercase names of processes running on the PC
    steam_app_id: int | None = None  # Steam's RunningAppID (Windows registry, Linux registry.vdf); None = unknown
    idle_s: float | None = None  # seconds since the provider last touched keyboard or mouse; None = unknown
    fullscreen_app: str | None = None  # the program full screen in front (a game, most likely); None = none/unknown


@dataclass(frozen=True)
class Decision:
    """Paused or serving, and why, in words the tray can show as they are."""

    paused: bool
    reason: str = ""
    code: str = ""  # snooze | schedule | temperature | steam | fullscreen | program | game | gpu_busy | not_idle


@dataclass(frozen=True)
class PauseLength:
    """One of the provider's pause lengths: the one table the core, the tray and the dashboard read."""

    key: str  # what AppCore.snooze takes
    label: str  # "30 min", "until restart"
    seconds: float | None  # None: until the provider resumes (or FarNode restarts)

    @property
    def menu_text(self) -> str:
        return "Pause until I resume" if self.seconds is None else f"Pause for {self.label}"

    @property
    def reason(self) -> str:
        """Why the node is paused, in the provider's words."""
        return "paused by you until you resume" if self.seconds is None else f"paused by you for {self.label}"


PAUSE_LENGTHS = (
    PauseLength("30m", "30 min", 1800.0),
    PauseLength("1h", "1 h", 3600.0),
    PauseLength("2h", "2 h", 7200.0),
    PauseLength("until_resume", "until restart", None),
)


def pause_length(choice: str) -> PauseLength:
    """A pause length by its key ("2h") or its label ("2 h"); a plain error for anything else."""
    for length in PAUSE_LENGTHS:
        if choice in (length.key, length.label):
            return length
    keys = ", ".join(p.key for p in PAUSE_LENGTHS)
    raise UserInputError(f"unknown pause length {choice!r}: snooze must be one of {keys}", hint=f"choose {keys}")


@dataclass(frozen=True)
class Snooze:
    """The provider's "pause for a while": until a wall-clock time, or until FarNode restarts."""

    until: float | None = None
    until_restart: bool = False
    reason: str = ""  # what the node said when the pause began

    CHOICES = {p.label: p.seconds for p in PAUSE_LENGTHS}

    @classmethod
    def choose(cls, choice: str, now_wall: float) -> Snooze:
        length = pause_length(choice)
        if length.seconds is None:
            return cls(until_restart=True, reason=length.reason)
        return cls(until=now_wall + length.seconds, reason=length.reason)

    @property
    def ends_at(self) -> float:
        """Wall time the pause ends (inf: until resumed)."""
        return math.inf if self.until_restart or self.until is None else self.until

    def active(self, now_wall: float) -> bool:
        return self.until_restart or (self.until is not None and now_wall < self.until)

    def describe(self, tz: dt.tzinfo | None = None) -> str:
        if self.until_restart or self.until is None:
            return "Snoozed until FarNode restarts"
        return "Snoozed until " + dt.datetime.fromtimestamp(self.until, tz).strftime("%H:%M")


class Snoozes:
    """The one owner of the provider's own pauses (all GPUs, or one GPU), kept by AppCore for the app's life.

    Nodes are restarted and rebuilt under it (a settings change); the pauses stay, and whoever starts a node asks
    `active_for` first.
    """

    def __init__(self) -> None:
        self._by_gpu: dict[int | None, Snooze] = {}  # None = every node

    def set(self, choice: str, now_wall: float, gpu: int | None = None) -> Snooze:
        snooze = self._by_gpu[gpu] = Snooze.choose(choice, now_wall)
        return snooze

    def end(self, gpu: int | None = None) -> None:
        """End one GPU's own pause, or (gpu None) the pause of every node; the other pauses stay."""
        self._by_gpu.pop(gpu, None)

    def end_all(self) -> None:
        self._by_gpu.clear()

    def get(self, gpu: int | None) -> Snooze | None:
        return self._by_gpu.get(gpu)

    def active_for(self, gpu: int | None, now_wall: float) -> Snooze | None:
        """The pause in force for this GPU's node (gpu None: a node without a GPU, such as the CPU demo node)."""
        for key in (gpu, None) if gpu is not None else (None,):
            s = self._by_gpu.get(key)
            if s is not None and s.active(now_wall):
                return s
        return None

    def whole(self, now_wall: float) -> Snooze | None:
        """The pause of every node, while in force."""
        s = self._by_gpu.get(None)
        return s if s is not None and s.active(now_wall) else None

    def gpus(self) -> dict[int, float]:
        """GPU index -> when its own pause ends (wall time; inf = until resumed)."""
        return {k: s.ends_at for k, s in self._by_gpu.items() if k is not None}

    def expired(self, now_wall: float) -> list[int | None]:
        """The pauses whose time is up (not yet ended)."""
        return [k for k, s in self._by_gpu.items() if not s.active(now_wall)]


@dataclass(frozen=True)
class ScheduleWindow:
    """A weekly pause window: on `days` (0 = Monday) from `start` to `end`; end < start crosses midnight."""

    days: tuple[int, ...]
    start: dt.time
    end: dt.time

    def contains(self, now: dt.datetime) -> bool:
        t, day = now.time(), now.weekday()
        if self.start <= self.end:
            return day in self.days and self.start <= t < self.end
        # Over midnight: the evening part belongs to the listed day, the morning part to the day after.
        return (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days and t < self.end)

    def describe(self) -> str:
        days = ", ".join(DAYS[d] for d in self.days)
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


def parse_schedule(raw: Iterable[dict[str, Any]]) -> list[ScheduleWindow]:
    """Settings' schedule entries into windows; a malformed entry is a plain error naming it."""
    windows = []
    for i, entry in enumerate(raw, 1):
        try:
            days = tuple(sorted({int(d) for d in entry["days"]}))
            start = dt.time.fromisoformat(str(entry["start"]))
            end = dt.time.fromisoformat(str(entry["end"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserInputError(
                f"schedule entry {i} could not be read ({exc})",
                'write it like {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30"} (0 = Monday)',
            ) from exc
        if not days or any(not 0 <= d <= 6 for d in days) or start == end:
            raise UserInputError(f"schedule entry {i} needs days 0-6 (0 = Monday) and a start unlike its end")
        windows.append(ScheduleWindow(days, start, end))
    return windows


def _matches(program: str, names: Iterable[str]) -> bool:
    p = program.lower().removesuffix(".exe")
    return any(n.lower().removesuffix(".exe") == p for n in names)


@dataclass
class PausePolicy:
    """Decides pause/serve for one GPU. No I/O and no clock: time comes in as `now`.

    Hysteresis: GPU-use signals must last `pause_after_s` before pausing; after a game-like pause every
    signal must stay clear for `resume_after_s` before serving again; heat resumes `temp_margin_c` below
    the limit. The provider's own choices (snooze, schedule, a listed program) act at once.
    """

    gpu_index: int
    pause_after_s: float = 5.0
    resume_after_s: float = 60.0
    temp_margin_c: int = 5
    busy_util_pct: int = 40
    _paused: Decision | None = None
    _pending_since: float | None = None
    _clear_since: float | None = None
    _schedule_cache: tuple[str, list[ScheduleWindow]] = field(default=("", []))

    @property
    def paused(self) -> Decision | None:
        return self._paused

    def decide(
        self, now: dt.datetime, telemetry: PauseInputs, rules: PauseRules, snooze: Snooze | None
    ) -> Decision:
        t = now.timestamp()
        immediate, delayed = self._signals(now, telemetry, rules, snooze)
        if self._paused is not None:
            active = immediate + delayed
            if active:
                self._clear_since = None
                self._paused = active[0]
                return active[0]
            self._clear_since = t if self._clear_since is None else self._clear_since
            wait = self.resume_after_s if self._paused.code in SLOW_RESUME else 0.0
            if t - self._clear_since < wait:
                return self._paused
            ended = self._paused
            self._paused = None
            self._clear_since = self._pending_since = None
            return Decision(False, _ended(ended))
        if immediate:
            self._paused = immediate[0]
            self._pending_since = None
            return immediate[0]
        if delayed:
            self._pending_since = t if self._pending_since is None else self._pending_since
            if t - self._pending_since >= self.pause_after_s:
                self._paused = delayed[0]
                self._pending_since = None
                return delayed[0]
            return Decision(False, "")
        self._pending_since = None
        return Decision(False, "")

    def _signals(
        self, now: dt.datetime, inputs: PauseInputs, rules: PauseRules, snooze: Snooze | None
    ) -> tuple[list[Decision], list[Decision]]:
        immediate: list[Decision] = []
        delayed: list[Decision] = []
        gpu = inputs.gpu
        where = f"GPU {self.gpu_index}"
        if snooze is not None and snooze.active(now.timestamp()):
            immediate.append(Decision(True, snooze.describe(now.tzinfo), "snooze"))
        for window in self._windows(rules):
            if window.contains(now):
                immediate.append(Decision(True, f"Paused by your schedule ({window.describe()})", "schedule"))
                break
        if gpu is not None and gpu.temperature_c is not None:
            limit = rules.temperature_limit_c
            hot = gpu.temperature_c >= limit
            cooling = self._paused is not None and self._paused.code == "temperature"
            if hot or (cooling and gpu.temperature_c > limit - self.temp_margin_c):
                immediate.append(
                    Decision(
                        True,
                        f"{where} is at {gpu.temperature_c} °C (your limit is {limit} °C)",
                        "temperature",
                    )
                )
        if rules.programs:
            on_gpu = [p for p in (gpu.processes if gpu else ()) if p.pid not in inputs.own_pids]
            for program in rules.programs:
                if _matches(program, (p.short_name for p in on_gpu)):
                    immediate.append(
                        Decision(True, f"{program} is using {where} (on your pause list)", "program")
                    )
                    break
                if _matches(program, inputs.running_programs):
                    immediate.append(Decision(True, f"{program} is running (on your pause list)", "program"))
                    break
        if rules.detect_games:
            if inputs.steam_app_id:
                immediate.append(Decision(True, f"Steam game running (app {inputs.steam_app_id})", "steam"))
            if inputs.fullscreen_app:
                app = inputs.fullscreen_app[:1].upper() + inputs.fullscreen_app[1:]
                immediate.append(Decision(True, f"{app} is full screen in front", "fullscreen"))
            if gpu is not None:
                delayed += self._gpu_use(gpu, inputs.own_pids, where)
        if rules.only_when_idle and inputs.idle_s is not None and inputs.idle_s < rules.idle_minutes * 60:
            immediate.append(
                Decision(
                    True,
                    f"You are using the PC; serving starts after {rules.idle_minutes} min idle",
                    "not_idle",
                )
            )
        return immediate, delayed

    def _gpu_use(self, gpu: GpuInfo, own: frozenset[int], where: str) -> list[Decision]:
        # Starting a pause needs the GPU busy; keeping one does not (a game idles in its menus).
        holding = self._paused is not None and self._paused.code in ("game", "gpu_busy")
        busy = holding or gpu.utilization_pct is None or gpu.utilization_pct >= self.busy_util_pct
        found: list[Decision] = []
        games = [p for p in gpu.graphics_processes if p.pid not in own and _is_game(p)]
        if games and busy:
            game = max(games, key=lambda p: p.used_bytes or 0)
            found.append(Decision(True, f"Game detected: {game.short_name} is using {where}", "game"))
        heavy = [
            p for p in gpu.compute_processes
            if p.pid not in own and p.short_name.lower() not in DESKTOP_PROGRAMS
            and (p.used_bytes >= OTHER_COMPUTE_MIN_BYTES if p.used_bytes is not None else busy)
        ]  # fmt: skip
        if heavy and busy:
            found.append(
                Decision(True, f"{heavy[0].short_name} (not FarNode) is using {where} heavily", "gpu_busy")
            )
        return found

    def _windows(self, rules: PauseRules) -> list[ScheduleWindow]:
        key = repr(rules.schedule)
        if self._schedule_cache[0] != key:
            try:
                windows = parse_schedule(rules.schedule)
            except UserInputError:
                windows = []  # the settings screen reports it (validate_schedule); never stop serving for it
            self._schedule_cache = (key, windows)
        return self._schedule_cache[1]


def _is_game(p: GpuProcess) -> bool:
    if p.short_name.lower() in DESKTOP_PROGRAMS:
        return False
    return p.used_bytes is None or p.used_bytes >= GAME_MIN_BYTES


def _ended(previous: Decision) -> str:
    return {
        "snooze": "Snooze ended",
        "schedule": "Scheduled pause ended",
        "temperature": "GPU cooled down",
        "not_idle": "PC is idle",
    }.get(previous.code, "Game or program ended") + f" (was: {previous.reason})"


@dataclass(frozen=True)
class PauseCost:
    """What a pause of a given length would skip, at the node's current pace."""

    tokens: int
    text: str


def pause_cost(tokens_per_s: float, duration_s: float | None) -> PauseCost:
    """Estimated served tokens lost = current tokens/s x duration (per hour when the length is open)."""
    rate = max(0.0, tokens_per_s)
    if duration_s is None:
        per_hour = round(rate * 3600)
        return PauseCost(per_hour, f"about {_count(per_hour)} served tokens for every hour paused "
                                   f"(at {rate:.0f} tokens/s now)")  # fmt: skip
    if duration_s < 0:
        raise UserInputError("a pause cannot last a negative time")
    tokens = round(rate * duration_s)
    if tokens == 0:
        return PauseCost(0, "nothing: the node is not serving anyone right now")
    return PauseCost(tokens, f"about {_count(tokens)} served tokens over {duration_text(duration_s)} "
                             f"(at {rate:.0f} tokens/s now)")  # fmt: skip


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} million"
    return f"{n:,}"


def duration_text(seconds: float) -> str:
    """A pause's length in the provider's words: "30 min", "2 h", "1.5 h"."""
    if seconds >= 3600:
        hours = seconds / 3600
        return f"{hours:g} h" if hours == int(hours) else f"{hours:.1f} h"
    return f"{seconds / 60:.0f} min"
