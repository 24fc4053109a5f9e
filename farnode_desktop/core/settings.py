"""The provider's settings: each declared once with its type and default, stored as JSON atomically."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.errors import UserInputError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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
    chain_rpc_url: str = ""
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

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Settings:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        pause_raw = values.pop("pause", {}) or {}
        pause_known = {f.name for f in dataclasses.fields(PauseRules)}
        pause = PauseRules(**{k: v for k, v in pause_raw.items() if k in pause_known})
        try:
            settings = cls(pause=pause, **values)
        except TypeError as exc:
            raise UserInputError(f"the settings file has a value of the wrong kind: {exc}") from exc
        settings.validate()
        return settings


class SettingsStore:
    """Loads and saves `Settings`; a damaged file is kept aside, never silently overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Settings:
        if not self.path.exists():
            return Settings()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            backup = self.path.with_suffix(".damaged.json")
            self.path.replace(backup)
            raise UserInputError(
                f"the settings file {self.path} could not be read ({exc})",
                hint=f"it was moved to {backup}; FarNode will start with default settings",
            ) from exc
        return Settings.from_json(raw)

    def save(self, settings: Settings) -> None:
        settings.validate()
        write_atomic(self.path, json.dumps(settings.to_json(), indent=2, sort_keys=True) + "\n")
