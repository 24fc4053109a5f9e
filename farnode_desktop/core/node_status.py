"""A node's states, its status snapshot, and the probe that reads the server's local status endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


class NodeState(StrEnum):
    STOPPED = "stopped"
    PROVISIONING = "provisioning"
    STARTING = "starting"
    LOADING = "loading blocks"
    SERVING = "serving"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    PAUSED = "paused"
    FAILED = "failed"


RUNNING_STATES = (NodeState.STARTING, NodeState.LOADING, NodeState.SERVING)


@dataclass
class NodeStatus:
    """Everything `farnode node status` and the dashboard show about one node."""

    name: str
    state: NodeState
    reason: str
    hint: str = ""
    pid: int | None = None
    peer_id: str | None = None
    multiaddrs: list[str] = field(default_factory=list)
    dht_prefix: str | None = None
    model: str = ""
    start_block: int | None = None
    end_block: int | None = None
    blocks: list[int] = field(default_factory=list)
    served_tokens: int = 0
    tokens_per_s: float = 0.0
    requests: int = 0
    uptime_s: float = 0.0
    restarts: int = 0
    retry_in_s: float | None = None
    log_lines: list[str] = field(default_factory=list)  # the lines behind a failure
    updated_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["state"] = self.state.value
        return body

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> NodeStatus:
        fields = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        fields["state"] = NodeState(fields.get("state", "stopped"))
        return cls(**fields)


class StatusProbe(Protocol):
    """The HTTP boundary to a server's status endpoint."""

    def fetch(self, endpoint_file: Path) -> dict[str, Any] | None: ...


class HttpStatusProbe:
    """Reads {url, token} from the endpoint file the server wrote and asks it for /status on loopback."""

    def __init__(self, timeout_s: float = 2.0) -> None:
        self.timeout_s = timeout_s

    def fetch(self, endpoint_file: Path) -> dict[str, Any] | None:
        try:
            info = json.loads(endpoint_file.read_text(encoding="utf-8"))
            url, token = str(info["url"]), str(info["token"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not url.startswith("http://127.0.0.1:"):
            return None  # the endpoint is loopback only; anything else is not ours
        request = urllib.request.Request(url + "/status", headers={"Authorization": f"Bearer {token}"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (loopback only)
                body = json.loads(response.read().decode("utf-8"))
        except (OSError, ValueError, urllib.error.URLError):
            return None
        return body if isinstance(body, dict) else None
