"""The supervisor reaches the OS only through its host: the node folder's files, a free port, the runtime install as
a background job; and the status probe (a network call) never runs while it holds its lock."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.host import OsProcessHost, ProcessHost
from farnode_desktop.core.node.launch import PORT_FILE
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import PID_FILE
from farnode_desktop.mesh.wire import NodeReport
from tests.core.node.fake_os import FakeHost, FakeProbe
from tests.core.node.supervisor_rig import SERVING_BODY, Rig


def test_the_port_is_picked_by_the_host_and_kept_across_restarts_of_the_app(tmp_path: Path) -> None:
    rig = Rig(tmp_path, port=0)
    rig.sup.start()
    port_file = rig.paths.node_dir("gpu0") / PORT_FILE
    assert rig.sup.spec.port == 40_001  # the host's free port, not one the supervisor picked by itself
    assert "/tcp/40001" in " ".join(rig.host.launched[0].command.argv)
    assert ("write", port_file) in rig.host.files and port_file.read_text() == "40001"
    again = Rig(tmp_path, port=0)  # the app started again: a fresh host would hand out another port
    again.host.ports = iter(range(50_001, 50_010))
    again.sup.start()
    assert again.sup.spec.port == 40_001 and ("read", port_file) in again.host.files


def test_every_file_in_the_node_folder_is_written_and_removed_through_the_host(tmp_path: Path) -> None:
    rig = Rig(tmp_path, port=0)
    workdir = rig.paths.node_dir("gpu0")
    assert rig.host.files[0] == ("mkdir", workdir)
    assert ("log", rig.paths.node_log("gpu0")) in rig.host.files
    rig.sup.start()
    rig.serve()
    written = {path for op, path in rig.host.files if op == "write"}
    assert set(workdir.iterdir()) == written == {workdir / PID_FILE, workdir / PORT_FILE}
    rig.sup.stop()
    rig.tick()
    assert rig.sup.state is NodeState.STOPPED
    removed = {path for op, path in rig.host.files if op == "remove"}
    assert {workdir / PID_FILE, rig.sup.folder.endpoint_file} <= removed
    assert set(workdir.iterdir()) == {workdir / PORT_FILE}


def _install_rig(tmp_path: Path, installed: list[bool]) -> Rig:
    """A node whose runtime install is a held background job that records whether it was cancelled."""
    rig = Rig(tmp_path, runtime_ready=lambda: bool(installed) and installed[-1],
              provision=lambda cancel: installed.append(not cancel.is_set()))
    rig.host.hold_jobs = True
    return rig


def test_the_runtime_install_is_the_hosts_background_job_and_a_stop_cancels_it_at_once(tmp_path: Path) -> None:
    installed: list[bool] = []
    rig = _install_rig(tmp_path, installed)
    rig.sup.start()
    assert rig.sup.state is NodeState.PROVISIONING and len(rig.host.jobs) == 1
    assert not rig.host.jobs[0].cancelled.is_set()
    rig.sup.stop()  # before: the stop waited (minutes) for the install to finish, in PROVISIONING
    assert rig.sup.state is NodeState.STOPPED and rig.host.jobs[0].cancelled.is_set()
    rig.host.jobs[0].finish()  # pip ends in the background, its install not complete
    assert rig.tick() is NodeState.STOPPED and installed == [False] and rig.host.launched == []


def test_a_pause_during_the_install_cancels_it_and_the_next_start_installs_again(tmp_path: Path) -> None:
    installed: list[bool] = []
    rig = _install_rig(tmp_path, installed)
    rig.sup.start()
    rig.sup.pause("a game started")
    assert rig.sup.state is NodeState.PAUSED and rig.sup.status().reason == "a game started"
    assert rig.host.jobs[0].cancelled.is_set()
    rig.sup.resume("the game ended")  # the stopped install has not ended yet: no second pip beside it
    assert rig.sup.state is NodeState.PROVISIONING and len(rig.host.jobs) == 1
    assert rig.tick(5) is NodeState.PROVISIONING and len(rig.host.jobs) == 1
    rig.host.jobs[0].finish()
    rig.tick()
    assert len(rig.host.jobs) == 2 and not rig.host.jobs[1].cancelled.is_set()  # the install resumes
    rig.host.jobs[1].finish()
    assert rig.tick() is NodeState.STARTING and installed == [False, True] and len(rig.host.launched) == 1


def test_a_failed_install_fails_the_node_with_its_hint(tmp_path: Path) -> None:
    def broken(cancel: threading.Event) -> None:
        raise FarNodeError("the download of torch broke off", "check the internet connection, then start again")

    rig = Rig(tmp_path, runtime_ready=lambda: False, provision=broken)
    rig.sup.start()
    assert rig.tick() is NodeState.FAILED
    status = rig.sup.status()
    assert status.reason == "the node runtime could not be installed: the download of torch broke off"
    assert status.hint == "check the internet connection, then start again"


class BlockingProbe(FakeProbe):
    """A status endpoint that answers only when the test lets it (a slow or hung server)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.answer = threading.Event()

    def fetch(self, endpoint_file: Any) -> NodeReport | None:
        self.asked.set()
        assert self.answer.wait(10), "the test never let the probe answer"
        return super().fetch(endpoint_file)


def _in_thread(work: Any) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_the_lock_is_free_while_the_status_probe_waits_for_the_server(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.probe = probe = BlockingProbe()
    probe.body = dict(SERVING_BODY)
    rig.sup.start()
    ticking = _in_thread(lambda: rig.tick(1))  # the probe is due: the tick asks the server and waits
    assert probe.asked.wait(5)
    seen: list[NodeState] = []
    reader = _in_thread(lambda: seen.append(rig.sup.status().state))
    reader.join(2)
    assert not reader.is_alive() and seen == [NodeState.STARTING]  # status() did not wait for the answer
    probe.answer.set()
    ticking.join(5)
    assert rig.sup.state is NodeState.SERVING  # the answer is applied once it comes


def test_an_answer_that_comes_after_a_stop_is_dropped(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.probe = probe = BlockingProbe()
    probe.body = dict(SERVING_BODY)
    rig.sup.start()
    ticking = _in_thread(lambda: rig.tick(1))
    assert probe.asked.wait(5)
    stopping = _in_thread(rig.sup.stop)  # the provider presses Stop while the server is being asked
    stopping.join(2)
    assert not stopping.is_alive() and rig.sup.state is NodeState.STOPPING
    probe.answer.set()
    ticking.join(5)
    assert rig.sup.state is NodeState.STOPPING  # the stale "serving" answer did not announce a stopping server
    assert rig.tick() is NodeState.STOPPED
    assert [e.data["state"] for e in rig.log.events] == ["starting", "stopping", "stopped"]


def test_the_scripted_os_offers_every_call_of_the_real_host() -> None:
    calls = {name for name in vars(ProcessHost) if not name.startswith("_")}
    assert {"make_dir", "read_text", "write_text", "remove", "open_log", "free_port", "run_in_background"} <= calls
    assert calls <= set(dir(FakeHost)) and calls <= set(dir(OsProcessHost))
