"""NodeService over the scripted OS (supervisor_rig.py): it publishes the node's status file and its own pid file
while it runs, and a real SIGTERM to this process stops the node cleanly and ends the service."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from farnode_desktop.core.node.host import STOP_SIGNAL
from farnode_desktop.core.node.service import (
    SERVICE_PID_FILE,
    NodeService,
    known_nodes,
    read_status,
    service_pid,
    state_file,
)
from farnode_desktop.core.node.status import NodeState
from tests.core.node.supervisor_rig import SERVING_BODY, Rig


def _published_state(rig: Rig) -> str | None:
    status = read_status(rig.paths, "gpu0")
    return status.state.value if status is not None else None


def _wait_for(done: Callable[[], object], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.02)
    return False


def test_the_service_publishes_its_status_and_a_stop_signal_stops_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    service = NodeService(rig.sup, rig.paths)
    seen: dict[str, object] = {}

    def provider_and_os() -> None:
        """The server comes up (scripted), the status file is read as the app reads it, then SIGTERM arrives."""
        try:
            seen["starting"] = _wait_for(lambda: _published_state(rig) == "starting" and rig.host.launched)
            seen["pid"] = service_pid(rig.paths, "gpu0")
            seen["pid_file"] = json.loads((rig.paths.node_dir("gpu0") / SERVICE_PID_FILE).read_text())["pid"]
            seen["known"] = known_nodes(rig.paths)
            rig.host.launched[-1].say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
            rig.probe.body = dict(SERVING_BODY)

            def serving() -> bool:
                rig.clock.advance(1)  # the probe runs on the rig's manual clock
                return _published_state(rig) == "serving"

            seen["serving"] = _wait_for(serving)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    service.install_signal_handlers()
    helper = threading.Thread(target=provider_and_os, daemon=True)
    started = time.monotonic()
    try:
        helper.start()
        final = service.run()
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        helper.join(5)
    assert time.monotonic() - started < 10
    assert seen == {"starting": True, "pid": os.getpid(), "pid_file": os.getpid(), "known": ["gpu0"],
                    "serving": True}
    assert final.state is NodeState.STOPPED
    server = rig.host.launched[0]
    assert rig.host.signals == [("pid", server.pid, STOP_SIGNAL)]  # asked once to stop, never killed
    assert len(rig.host.launched) == 1
    assert json.loads(state_file(rig.paths, "gpu0").read_text())["state"] == "stopped"
    assert read_status(rig.paths, "gpu0") is not None
    assert not (rig.paths.node_dir("gpu0") / SERVICE_PID_FILE).exists()
    assert service_pid(rig.paths, "gpu0") is None


def test_nothing_published_yet_reads_as_never_ran(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    assert read_status(rig.paths, "gpu0") is None
    assert service_pid(rig.paths, "gpu0") is None
    state_file(rig.paths, "gpu0").parent.mkdir(parents=True, exist_ok=True)
    state_file(rig.paths, "gpu0").write_text("{half a file")
    assert read_status(rig.paths, "gpu0") is None
