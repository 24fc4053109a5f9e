"""The provider's settings: each declared once with its type and default, stored as JSON atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
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
log = logging.getLogger("farnode.settings")


@dataclass
class PauseRules:
    """When FarNode steps aside for the provider: games, programs, schedule, heat, idleness."""

    detect_games: bool = True
    programs: list[str] = field(default_factory=list)
    # Weekly windows in which serving is paused: {"days": [0..6], "start": "HH:MM", "end": "HH:MM"}
    schedule: list[dict[str, Any]] = field(default_factory=list)
    temperature_limit_c: int = 83
    only_when_idle: bool = False
    idle_minutes: int = 10


@dataclass
class Settings:
    """Everything the provider can change. Unknown keys in the file are kept but ignored."""

    model: str = "farlabs/tiny-demo"
    excluded_gpus: list[str] = field(default_factory=list)  # GPU UUIDs left out of serving
    blocks: int | None = None  # None = the planner chooses
    headroom_gib: float = 1.5  # VRAM kept free for the desktop and games
    quantization: str = "auto"  # auto | none | int8 | nf4
    initial_peers: list[str] = field(default_factory=list)
    new_swarm: bool = False
    public_name: str = ""
    pause: PauseRules = field(default_factory=PauseRules)
    coordinator_url: str = "http://127.0.0.1:8787"
    chain_rpc_url: str = ""  # the provider's own chain RPC; "" = the devnet's, only for a coordinator on this PC
    chain_id: int | None = None  # the payout chain; None = the network's default (the devnet's chain id)
    start_at_login: bool = False
    serve_on_launch: bool = True  # start serving when the app opens
    log_level: str = "INFO"

    def validate(self) -> None:
        if self.blocks is not None and not 1 <= self.blocks <= 1000:
            raise UserInputError(f"blocks must be between 1 and 1000, not {self.blocks}")
        if not 0 <= self.headroom_gib <= 64:
            raise UserInputError(f"headroom must be between 0 and 64 GiB, not {self.headroom_gib}")
        if self.quantization not in ("auto", "none", "int8", "nf4"):
            raise UserInputError(f"quantization must be auto, none, int8 or nf4, not {self.quantization!r}")
        if self.log_level not in LOG_LEVELS:
            raise UserInputError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        if not 40 <= self.pause.temperature_limit_c <= 110:
            raise UserInputError("the temperature limit must be between 40 and 110 °C")
        if self.chain_id is not None and (isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int)
                                          or not 1 <= self.chain_id < 2**53):
            raise UserInputError(f"the chain id must be a whole number from 1 to 2^53-1, not {self.chain_id!r}")

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

        Fields are taken one at a time (pause rules one rule at a time), so one bad value costs only itself.
        """
        settings, problems = cls(), []
        for name, tp in field_types(cls).items():
            if name not in raw:
                continue
            if name == "pause" and isinstance(raw[name], dict):
                for rule, rule_tp in field_types(PauseRules).items():
                    if rule in raw[name]:
                        problem = _take(settings, settings.pause, rule, raw[name][rule], rule_tp)
                        if problem:
                            problems.append(f"pause.{problem}")
                continue
            problem = _take(settings, settings, name, raw[name], tp)
            if problem:
                problems.append(problem)
        return settings, problems


def _take(settings: Settings, target: object, name: str, value: Any, tp: Any) -> str | None:
    """Set `target.name` to `value` if it has the declared type and the settings stay valid; else say why not."""
    try:
        checked = check_value(value, tp)
    except BadValue as exc:
        return f"{name}: {exc}"
    before = getattr(target, name)
    setattr(target, name, checked)
    try:
        settings.validate()
    except UserInputError as exc:
        setattr(target, name, before)
        return f"{name}: {shown(value)} ({exc})"
    return None


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
