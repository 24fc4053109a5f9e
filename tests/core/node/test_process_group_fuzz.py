"""Fuzz tests of the pid files (Hypothesis): whatever a server's or a service's pid file holds, reading it gives a
checked record or a plain BadPidFile (a service pid: a live, proven pid or None), never a traceback."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings

from farnode_desktop.core.node.process_group import BadPidFile, PidRecord, read_pid_record
from farnode_desktop.core.node.service import SERVICE_PID_FILE, service_pid
from farnode_desktop.core.paths import AppPaths
from tests.hostile_inputs import file_contents

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None)


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> AppPaths:
    return AppPaths.under(tmp_path_factory.mktemp("pid-fuzz")).ensure()


@FUZZ
@given(content=file_contents({"pid": 4321, "pgid": 4321, "create_time": 1.8e9, "marker": "m" * 32}))
def test_any_server_pid_file_is_a_record_or_a_plain_reason(paths: AppPaths, content: bytes) -> None:
    path = paths.node_dir("gpu0") / "server.pid"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    try:
        record = read_pid_record(path)
    except BadPidFile as exc:
        assert str(exc)
    else:
        assert isinstance(record, PidRecord)


@FUZZ
@given(content=file_contents({"pid": os.getpid(), "create_time": 1.8e9}))
def test_any_service_pid_file_gives_a_proven_pid_or_none(paths: AppPaths, content: bytes) -> None:
    path = paths.node_dir("gpu0") / SERVICE_PID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    assert service_pid(paths, "gpu0") in (None, os.getpid())
