"""What a node's server has said about itself: its last status answer, its peer from its log until it answers, the
verdict on its own test requests, and its served totals across restarts; the supervisor's status reads them here."""

from __future__ import annotations

from typing import Any

from farnode_desktop.core.node import health as node_health
from farnode_desktop.core.node.restarts import SupervisorPolicy
from farnode_desktop.core.node.served_tally import ServedTally
from farnode_desktop.mesh.wire import NodeReport


class ServerWord:
    """The server's own word, kept by its supervisor (under the supervisor's lock)."""

    def __init__(self, policy: SupervisorPolicy) -> None:
        self.policy = policy
        self.remote: NodeReport | None = None  # the server's last status answer
        self.log_peer: tuple[str | None, list[str]] | None = None  # its peer from its log, until it answers
        self.health: node_health.Verdict | None = None
        self.served = ServedTally(policy.rate_window_s)

    def new_server(self) -> None:
        """A new server process: nothing it said yet; served totals go on adding up."""
        self.remote, self.log_peer, self.health = None, None, None
        self.served.new_server()

    def peer_in_log(self, peer_id: object, multiaddrs: object) -> None:
        if self.remote is None and self.log_peer is None:
            self.log_peer = (str(peer_id), [str(a) for a in multiaddrs] if isinstance(multiaddrs, list) else [])

    def answered(self, now: float, answer: NodeReport) -> node_health.Verdict:
        """A status answer: remembered, counted, and its test requests judged."""
        self.remote = answer
        self.served.update(now, answer)
        self.health = node_health.judge(answer, self.policy)
        return self.health

    def status_fields(self, default_prefix: str | None, running: bool, has_server: bool,
                      serving_since: float | None = None, now: float = 0.0) -> dict[str, Any]:
        """The NodeStatus fields that come from the server's word; `serving_since` (None when not serving) and `now`
        tell how long the node has served without a request."""
        remote = self.remote
        quiet: float | None = None
        if serving_since is not None:
            last = self.served.last_request_at
            quiet = round(now - (serving_since if last is None else max(last, serving_since)), 1)
        peer_id, multiaddrs = ((remote.peer_id, list(remote.multiaddrs)) if remote is not None
                               else self.log_peer or (None, []))
        return {
            "peer_id": peer_id,
            "multiaddrs": list(multiaddrs),
            "dht_prefix": (remote.dht_prefix if remote is not None else None) or default_prefix,
            "start_block": remote.start_block if remote is not None else None,
            "end_block": remote.end_block if remote is not None else None,
            "blocks": list(remote.blocks) if remote is not None else [],
            "served_tokens": self.served.tokens,
            "tokens_per_s": round(self.served.rate() if running else 0.0, 3),
            "requests": self.served.requests,
            "no_requests_for_s": quiet,
            "failed_requests": node_health.failed_requests(remote),
            "health_check": self.health.text if self.health is not None and has_server else "",
        }
