"""The launcher's choice at start, as a real process: a staged release is applied and self-tested at the next start;
a SIGKILL at seeded points of that start (during the self-test included) still ends with a working app."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from pathlib import Path

from farnode_desktop.core.updates.app_layout import MAX_TRIES
from farnode_desktop.core.updates.app_update import AppUpdates
from tests.core.updates.app_bundles import Install, make_install, publish
from tests.core.updates.update_server import make_repo, point_at, serve


def staged(tmp_path: Path) -> Install:
    install = make_install(tmp_path)
    repo = make_repo(tmp_path)
    publish(repo, tmp_path, "0.2.0")
    with serve(repo.folder) as (url, _):
        point_at(install.paths, url, repo)
        AppUpdates(install.paths, root=install.root, running="0.1.0").check()
    assert install.root.read().staged == "0.2.0"
    return install


def test_sigkill_while_the_next_start_applies_and_self_tests(tmp_path: Path) -> None:
    install = staged(tmp_path)
    started = time.monotonic()
    assert install.version() == "0.2.0"  # applied and confirmed at this start
    full = time.monotonic() - started
    rng = random.Random(7)
    for seed in range(3):
        install.root.write(type(install.root.read())(staged="0.2.0"))  # staged again, as before that start
        process = install.popen("--version")
        time.sleep(rng.uniform(0.05, full))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        assert install.version() == "0.2.0", seed  # the start after the kill finishes the job
        assert install.root.read().trial is None


def test_a_version_never_confirming_goes_back_after_its_tries(tmp_path: Path) -> None:
    install = staged(tmp_path)
    install.root.apply_staged()
    state = install.root.read()
    install.root.write(type(state)(**{**state.__dict__, "trial": {"version": "0.2.0", "attempts": MAX_TRIES}}))
    assert install.version() == "0.1.0"  # killed MAX_TRIES times mid-self-test: the launcher gives up on it
    assert "without confirming it works" in (install.root.read().note or "")
