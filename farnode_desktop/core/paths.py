"""Where FarNode keeps its files: config, logs, the node runtime, per-node working folders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "FarNode"
APP_AUTHOR = "FarLabs"
HOME_ENV = "FARNODE_HOME"


@dataclass(frozen=True)
class AppPaths:
    """All of FarNode's folders. `FARNODE_HOME` puts everything under one folder (tests, portable use)."""

    data: Path
    config: Path
    logs: Path
    cache: Path

    @classmethod
    def default(cls) -> AppPaths:
        home = os.environ.get(HOME_ENV)
        if home:
            return cls.under(Path(home))
        return cls(
            data=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
            config=Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
            logs=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
            cache=Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR)),
        )

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        return cls(data=root / "data", config=root / "config", logs=root / "logs", cache=root / "cache")

    @property
    def runtime(self) -> Path:
        """The node runtime's Python environment (torch, hivemind, petals)."""
        override = os.environ.get("FARNODE_RUNTIME_DIR")
        return Path(override) if override else self.data / "runtime"

    @property
    def config_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def ledger_file(self) -> Path:
        return self.data / "ledger.sqlite3"

    @property
    def models(self) -> Path:
        """Local model folders (the tiny demo model lives here)."""
        return self.data / "models"

    def node_dir(self, node_name: str) -> Path:
        """The working folder of one node (one per GPU): identity, pid file, its own config.yml."""
        return self.data / "nodes" / node_name

    def node_log(self, node_name: str) -> Path:
        return self.logs / f"node-{node_name}.log"

    def ensure(self) -> AppPaths:
        for p in (self.data, self.config, self.logs, self.cache):
            p.mkdir(parents=True, exist_ok=True)
        return self
