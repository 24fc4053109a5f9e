"""A node's states, its status snapshot, and the probe that reads the server's local status endpoint."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from farnode_desktop.core.checked_files import (
    BadValue,
    check_value,
    field_types,
    loads_bounded,
    read_json_object,
    shown,
)
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.mesh.wire import NodeReport, ServerState


class NodeState(StrEnum):
    """A node's state as the supervisor keeps it: the server's own states (from the wire) and the supervisor's."""

    STOPPED = "stopped"
    PROVISIONING = "provisioning"
    STARTING = ServerState.STARTING.value
    LOADING = ServerState.LOADING.value
    SERVING = ServerState.SERVING.value
    DRAINING = "draining"  # serving on while its open inference sessions finish, then it stops (a new runtime or plan)
    BACKOFF = "backoff"
    STOPPING = ServerState.STOPPING.value
    PAUSED = "paused"
    FAILED = "failed"


RUNNING_STATES = (NodeState.STARTING, NodeState.LOADING, NodeState.SERVING, NodeState.DRAINING)

# A serving node that has had no request (its own test requests left out) for this long is shown as "serving, but
# no requests": its health check passes, yet nothing of the swarm's reaches it, so it earns nothing. The demo's
# gateway sends one every second or two; a real swarm's client traffic comes in minutes, not hours.
NO_REQUESTS_AFTER_S = 300.0


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
    no_requests_for_s: float | None = None  # serving: seconds since the last request (or since serving began)
    failed_requests: int = 0  # requests the server's blocks failed (they raised while serving)
    health_check: str = ""  # what the node's own test requests found, in one line
    uptime_s: float = 0.0
    restarts: int = 0
    retry_in_s: float | None = None
    stop_requested: bool = False  # the provider asked it to stop (it may still be stopping)
    log_lines: list[str] = field(default_factory=list)  # the lines behind a failure
    updated_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["state"] = self.state.value
        return body

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> NodeStatus:
        """A status from its JSON form, every field type-checked; BadValue (a ValueError) names the field."""
        if not isinstance(raw, dict):
            raise BadValue("it is not a JSON object")
        values: dict[str, Any] = {}
        for name, tp in field_types(cls).items():
            if name not in raw:
                if name in ("name", "reason"):
                    raise BadValue(f"{name} is missing")
                continue
            if name == "state":
                try:
                    values[name] = NodeState(raw[name])
                except (ValueError, TypeError):
                    raise BadValue(f"state: {shown(raw[name])} is not a node state") from None
                continue
            try:
                values[name] = check_value(raw[name], tp)
            except BadValue as exc:
                raise BadValue(f"{name}: {exc}") from None
        values.setdefault("state", NodeState.STOPPED)
        return cls(**values)


def _in(seconds: float) -> str:
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{-(-s // 60)} min"  # rounded up: "in 10 min" never arrives before 10 min
    hours, minutes = divmod(-(-s // 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _for(seconds: float) -> str:
    """A duration that has passed, rounded down ("7 min" after 7 min 50 s)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    hours, minutes = divmod(s // 60, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def no_requests_for(status: NodeStatus, now: float | None = None, after_s: float = NO_REQUESTS_AFTER_S) -> float | None:
    """Seconds a serving node has gone without a request, once that is `after_s` or more; None otherwise (not
    serving, or requests arrive). `now` (wall time) counts on from when a status read from the state file was
    written."""
    if status.state is not NodeState.SERVING or status.no_requests_for_s is None:
        return None
    quiet = status.no_requests_for_s
    if now is not None and status.updated_at:
        quiet += max(0.0, now - status.updated_at)
    return quiet if quiet >= after_s else None


def no_requests_text(status: NodeStatus, now: float | None = None) -> str:
    """ "no requests for 7 min" for a serving node that has had none for a while, else ""."""
    quiet = no_requests_for(status, now)
    return f"no requests for {_for(quiet)}" if quiet is not None else ""


def state_words(status: NodeStatus, now: float | None = None) -> str:
    """The node's state as the provider reads it: "Serving — no requests for 7 min" for a serving node that gets no
    work, else the state's own name ("Serving", "Paused", ...)."""
    quiet = no_requests_text(status, now)
    return f"Serving — {quiet}" if quiet else status.state.value.capitalize()


def next_try(status: NodeStatus, now: float | None = None) -> str:
    """When a failed or backing-off node tries again by itself, in words ("" for other states); `now` (wall time)
    counts down a status read from the state file since it was written."""
    if status.state not in (NodeState.BACKOFF, NodeState.FAILED):
        return ""
    if status.retry_in_s is None:
        return "" if status.state is NodeState.BACKOFF else "it will not try again by itself"
    left = status.retry_in_s
    if now is not None and status.updated_at:
        left -= max(0.0, now - status.updated_at)
    verb = "restarting" if status.state is NodeState.BACKOFF else "trying again by itself"
    return f"{verb} in {_in(left)}" if left > 0 else f"{verb} now"


class StateFileUnreadable(FarNodeError):
    """A node's state file exists but cannot be used (damaged, hand-edited, not a file)."""


def load_status_file(path: Path) -> NodeStatus | None:
    """The status in a node's state file; None if there is none; StateFileUnreadable says why it cannot be used."""
    if not path.exists():
        return None
    try:
        return NodeStatus.from_json(read_json_object(path))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StateFileUnreadable(
            f"the state file {path} was unreadable ({reason})",
            hint="the node service rewrites it while it runs; `farnode node stop` then `farnode node start` "
            "starts it afresh",
        ) from None


MAX_STATUS_BYTES = 4 * 1024 * 1024  # a status answer is a few KiB; its lists are capped at 100,000 items


class StatusProbe(Protocol):
    """The HTTP boundary to a server's status endpoint."""

    def fetch(self, endpoint_file: Path) -> NodeReport | None: ...

    def refuse_sessions(self, endpoint_file: Path) -> bool | None:
        """Tell the server to take no new inference session: True done, False it cannot, None no answer."""


class HttpStatusProbe:
    """Reads {url, token} from the endpoint file the server wrote, asks it for /status on loopback and parses the
    answer with the wire's strict reader (an answer that is not a NodeReport is no answer)."""

    def __init__(self, timeout_s: float = 2.0) -> None:
        self.timeout_s = timeout_s

    @staticmethod
    def _endpoint(endpoint_file: Path) -> tuple[str, str] | None:
        try:
            info = read_json_object(endpoint_file, max_bytes=4096)
            url, token = str(info["url"]), str(info["token"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not url.startswith("http://127.0.0.1:"):
            return None  # the endpoint is loopback only; anything else is not ours
        return url, token

    def refuse_sessions(self, endpoint_file: Path) -> bool | None:
        endpoint = self._endpoint(endpoint_file)
        if endpoint is None:
            return None
        url, token = endpoint
        request = urllib.request.Request(url + "/drain", data=b"", method="POST",  # noqa: S310
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (loopback only)
                return bool(response.status == 200)
        except urllib.error.HTTPError as exc:
            return False if exc.code in (404, 405, 501) else None  # a server without /drain: an older runtime
        except (OSError, ValueError):
            return None

    def fetch(self, endpoint_file: Path) -> NodeReport | None:
        endpoint = self._endpoint(endpoint_file)
        if endpoint is None:
            return None
        url, token = endpoint
        request = urllib.request.Request(url + "/status", headers={"Authorization": f"Bearer {token}"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (loopback only)
                raw = response.read(MAX_STATUS_BYTES + 1)
                if len(raw) > MAX_STATUS_BYTES:
                    return None
                body = loads_bounded(raw.decode("utf-8"))
        except (OSError, ValueError, urllib.error.URLError):
            return None
        return NodeReport.from_json(body)
