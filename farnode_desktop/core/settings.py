"""The provider's settings, each declared once (type, range or choices, default, label, whether changing it
relaunches a node); the store, the validator, the settings window and the reconciler all read that declaration."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import (
    BadValue,
    check_value,
    checked_dataclass,
    field_types,
    read_json_object,
    set_aside,
    shown,
)
from farnode_desktop.core.errors import FarNodeError, UserInputError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
QUANTIZATIONS = ("auto", "none", "int8", "nf4")
log = logging.getLogger("farnode.settings")


@dataclass(frozen=True)
class Setting:
    """One setting, declared once like Electrum's ConfigVar: what it holds, what it may be, how it is shown, and
    whether changing it relaunches a node (it is part of how a node is launched)."""

    key: str  # "blocks", or "pause.temperature_limit_c" for a pause rule
    label: str  # the Settings window's name for it
    relaunches: bool
    what: str  # how a message names it: "the temperature limit"
    low: float | None = None  # numbers: the range, both ends allowed
    high: float | None = None
    unit: str = ""  # "GiB", "°C"
    choices: tuple[str, ...] = ()  # text: the only values allowed (empty: any text)
    text: str = ""  # a check box's sentence in the window
    tp: Any = None  # the declared type, from the dataclass annotation
    default: Any = None  # its value in `Settings()`

    @property
    def group(self) -> str:
        """The settings group it belongs to ("pause"), "" for a top-level setting."""
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]

    @property
    def numeric(self) -> bool:
        return _base(self.tp) in (int, float)

    def read(self, settings: Settings) -> Any:
        return getattr(self._owner(settings), self.name)

    def write(self, settings: Settings, value: Any) -> None:
        """Set it in `settings` once `value` has the declared type (the range is checked by `validate`)."""
        try:
            checked = check_value(value, self.tp)
        except BadValue as exc:
            raise UserInputError(f"{self.what}: {exc}") from None
        setattr(self._owner(settings), self.name, checked)

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed here, in plain words; None when it is."""
        if value is None and _optional(self.tp):
            return None
        if self.choices and value not in self.choices:
            return f"{self.what} must be {_either(self.choices)}, not {shown(value)}"
        if not self.numeric or self.low is None or self.high is None:
            return None
        if _base(self.tp) is int and type(value) is not int:
            return f"{self.what} must be a whole number, not {shown(value)}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{self.what} must be a number, not {shown(value)}"
        if not self.low <= value <= self.high:  # (NaN fails this too)
            unit = f" {self.unit}" if self.unit else ""
            return f"{self.what} must be between {self.low} and {self.high}{unit}, not {value}"
        return None

    def check(self, value: Any) -> None:
        """UserInputError when `value` is not allowed here."""
        problem = self.problem(value)
        if problem is not None:
            raise UserInputError(problem)

    def take(self, settings: Settings, value: Any) -> str | None:
        """Set it from a file's `value` if that has the declared type and is allowed; else say why not."""
        try:
            checked = check_value(value, self.tp)
        except BadValue as exc:
            return str(exc)
        problem = self.problem(checked)
        if problem is not None:
            return f"{shown(value)} ({problem})"
        setattr(self._owner(settings), self.name, checked)
        return None

    def _owner(self, settings: Settings) -> object:
        return getattr(settings, self.group) if self.group else settings


def declare(label: str, *, relaunches: bool, what: str = "", low: float | None = None, high: float | None = None,
            unit: str = "", choices: tuple[str, ...] = (), text: str = "") -> dict[str, Setting]:
    """A dataclass field's metadata declaring it a setting (key, type and default are filled in from the class)."""
    return {"setting": Setting("", label, relaunches, what or label.lower(), low, high, unit, choices, text)}


@dataclass
class PauseRules:
    """When FarNode steps aside for the provider: games, programs, schedule, heat, idleness."""

    detect_games: bool = field(default=True, metadata=declare(
        "Games first", relaunches=False, what="detecting games", text="Pause when a game or another program uses the GPU"))
    programs: list[str] = field(default_factory=list, metadata=declare(
        "Also pause for", relaunches=False, what="the programs to pause for"))
    # Weekly windows in which serving is paused: {"days": [0..6], "start": "HH:MM", "end": "HH:MM"}
    schedule: list[dict[str, Any]] = field(default_factory=list, metadata=declare(
        "Paused on schedule", relaunches=False, what="the pause schedule"))
    temperature_limit_c: int = field(default=83, metadata=declare(
        "Pause above", relaunches=False, what="the temperature limit", low=40, high=110, unit="°C"))
    only_when_idle: bool = field(default=False, metadata=declare(
        "Only when idle", relaunches=False, what="serving only when idle", text="Serve only while I am away from the PC"))
    idle_minutes: int = field(default=10, metadata=declare(
        "Idle for", relaunches=False, what="the idle time", low=1, high=24 * 60, unit="min"))


@dataclass
class Settings:
    """Everything the provider can change, each field declared once with `declare`. Unknown keys in the file are
    ignored. A setting that `relaunches` is part of how a node is launched: changing it relaunches that node."""

    model: str = field(default="farlabs/tiny-demo", metadata=declare("Model", relaunches=True, what="the model"))
    excluded_gpus: list[str] = field(default_factory=list, metadata=declare(  # GPU UUIDs left out of serving
        "GPUs that serve", relaunches=True, what="the GPUs left out"))
    blocks: int | None = field(default=None, metadata=declare(  # None: the planner chooses
        "Blocks", relaunches=True, low=1, high=1000))
    headroom_gib: float = field(default=1.5, metadata=declare(  # VRAM kept free for the desktop and games
        "VRAM kept free", relaunches=True, what="headroom", low=0, high=64, unit="GiB"))
    quantization: str = field(default="auto", metadata=declare("Quantization", relaunches=True, choices=QUANTIZATIONS))
    initial_peers: list[str] = field(default_factory=list, metadata=declare("Initial peers", relaunches=True))
    new_swarm: bool = field(default=False, metadata=declare(
        "New swarm", relaunches=True, what="starting a new swarm", text="Start a private swarm on this PC"))
    public_name: str = field(default="", metadata=declare("Public name", relaunches=True, what="the public name"))
    pause: PauseRules = field(default_factory=PauseRules)  # a group of settings, each declared in PauseRules
    coordinator_url: str = field(default="http://127.0.0.1:8787", metadata=declare(
        "Coordinator", relaunches=False, what="the coordinator"))
    chain_rpc_url: str = field(default="", metadata=declare(  # "" = the devnet's, only for a coordinator on this PC
        "Chain RPC", relaunches=False, what="the chain RPC"))
    chain_id: int | None = field(default=None, metadata=declare(  # None = the network's default (the devnet's)
        "Chain id", relaunches=False, what="the chain id", low=1, high=2**53 - 1))
    start_at_login: bool = field(default=False, metadata=declare(
        "Start at login", relaunches=False, what="starting at login", text="Start FarNode when I log in"))
    serve_on_launch: bool = field(default=True, metadata=declare(  # start serving when the app opens
        "Serve on launch", relaunches=False, what="serving on launch", text="Start serving when FarNode opens"))
    log_level: str = field(default="INFO", metadata=declare(
        "Log level", relaunches=False, what="log level", choices=LOG_LEVELS))
    electricity_price_per_kwh: float | None = field(default=None, metadata=declare(  # None: not entered
        "Electricity price", relaunches=False, what="the electricity price", low=0, high=100, unit="per kWh"))

    def validate(self) -> None:
        """UserInputError naming the first setting whose value is not allowed."""
        for setting in SETTINGS.values():
            setting.check(setting.read(self))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Settings:
        """Settings from a JSON object, every field type-checked and validated; UserInputError names the field."""
        try:
            settings = checked_dataclass(cls, raw)
        except BadValue as exc:
            raise UserInputError(f"a setting has a value of the wrong kind: {exc}") from None
        settings.validate()
        return settings

    @classmethod
    def from_file_json(cls, raw: dict[str, Any]) -> tuple[Settings, list[str]]:
        """Settings from a file's JSON object, each unusable value replaced by its default; returns what was replaced.

        Settings are taken one at a time (pause rules one rule at a time), so one bad value costs only itself.
        """
        settings, problems = cls(), []
        for group in dict.fromkeys(s.group for s in SETTINGS.values() if s.group):
            if group in raw and not isinstance(raw[group], dict):
                problems.append(f"{group}: {shown(raw[group])} is not a JSON object")
        for setting in SETTINGS.values():
            where = raw.get(setting.group) if setting.group else raw
            if isinstance(where, dict) and setting.name in where:
                problem = setting.take(settings, where[setting.name])
                if problem is not None:
                    problems.append(f"{setting.key}: {problem}")
        return settings, problems


def _declared(cls: type, group: str = "") -> Iterator[Setting]:
    """Every setting `cls` declares, a group of settings (the pause rules) one rule at a time."""
    for name, tp in field_types(cls).items():
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            yield from _declared(tp, name)
            continue
        declared = next(f for f in dataclasses.fields(cls) if f.name == name).metadata.get("setting")
        if not isinstance(declared, Setting):
            raise TypeError(f"{cls.__name__}.{name} is not declared: give it metadata=declare(...)")
        yield dataclasses.replace(declared, key=f"{group}.{name}" if group else name, tp=tp)


def _base(tp: Any) -> Any:
    """`int | None` -> int."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    return tp


def _optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _either(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]


SETTINGS: dict[str, Setting] = {
    s.key: dataclasses.replace(s, default=s.read(Settings())) for s in _declared(Settings)
}
RELAUNCHING = tuple(key for key, s in SETTINGS.items() if s.relaunches)  # in the order declared


def relaunching_changes(old: Settings, new: Settings) -> list[str]:
    """The settings a node is launched with whose value differs between `old` and `new` (empty: no node needs
    relaunching, whatever else changed)."""
    return [key for key in RELAUNCHING if SETTINGS[key].read(old) != SETTINGS[key].read(new)]


class SettingsStore:
    """Loads and saves `Settings`; a damaged file is kept aside, never silently overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None  # what the last load found wrong with the file, in plain words

    def load(self) -> Settings:
        """The stored settings. Never raises for a damaged file: unusable values fall back to their defaults, the
        file is moved to `settings.json.bad-<time>` and `problem` (also logged) says what happened."""
        self.problem = None
        if not self.path.exists() and not self.path.is_symlink():
            return Settings()
        try:
            settings, problems = Settings.from_file_json(read_json_object(self.path))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            settings, problems = Settings(), [f"the file could not be read: {reason}"]
        if not problems:
            return settings
        aside = set_aside(self.path)
        kept = f"the file was moved to {aside.name}" if aside else "the file could not be moved aside"
        self.problem = (f"the settings file {self.path} had values FarNode could not use ({'; '.join(problems)}); "
                        f"defaults are used for those and {kept}")
        log.warning("%s", self.problem)
        if aside is not None:
            with contextlib.suppress(OSError, FarNodeError):
                self.save(settings)  # the values that were fine are kept
        return settings

    def save(self, settings: Settings) -> None:
        settings.validate()
        write_atomic(self.path, json.dumps(settings.to_json(), indent=2, sort_keys=True) + "\n")
