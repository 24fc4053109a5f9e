"""The app updates itself, against a real repository on loopback HTTP and real processes (the launcher the shortcut
runs, the versions it starts): apply, restart into the new version, a failed self-test goes back by itself,
`rollback`, refusals with the running version untouched, SIGKILL at seeded points, a full disk, a server that drips
or disappears."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.updates.app_release import ReleaseRefused, this_platform
from farnode_desktop.core.updates.app_update import AppUpdates
from farnode_desktop.core.updates.fetcher import BoundedFetcher
from farnode_desktop.devnet.update_repo import UpdateRepository
from tests.core.updates.app_bundles import ROOT, Install, make_install, publish
from tests.core.updates.update_server import make_repo, point_at, serve


@pytest.fixture
def install(tmp_path: Path) -> Install:
    return make_install(tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> UpdateRepository:
    return make_repo(tmp_path)


def updates(install: Install, **kwargs: object) -> AppUpdates:
    """The installed app's updater as the running app holds it (in this process, for the background path)."""
    return AppUpdates(install.paths, root=install.root, running=install.installed, **kwargs)  # type: ignore[arg-type]


def bundle_url(repo: UpdateRepository, version: str) -> str:
    name = f"farnode-{version}-{this_platform()}.tar.gz"
    info = repo.load("targets").signed.targets[f"app/{this_platform()}/{name}"]
    return f"/targets/app/{this_platform()}/{info.hashes['sha256']}.{name}"


def untouched(install: Install) -> None:
    """The running version is what starts, and nothing half-made is left in the app folder."""
    assert install.version() == install.installed
    left = [p.name for p in install.root.versions.glob("*")] if install.root.versions.exists() else []
    assert not [n for n in left if n.endswith(".partial")], left
    assert not list(install.root.downloads.glob("*")) if install.root.downloads.exists() else True


def test_apply_restart_into_the_new_version_and_roll_back(install: Install, repo: UpdateRepository,
                                                          tmp_path: Path) -> None:
    publish(repo, tmp_path, "0.2.0")
    with serve(repo.folder) as (url, _):
        point_at(install.paths, url, repo)
        done = install.run("update", "apply")
    assert done.returncode == 0, done.stderr
    assert "FarNode 0.2.0 is installed and passed its self-test" in done.stdout
    assert "downloading FarNode 0.2.0: 100%" in done.stderr  # the progress the CLI shows
    assert install.version() == "0.2.0"  # the next start runs the new version
    status = install.run("update", "status")
    assert "app: FarNode 0.2.0 running; starts 0.2.0" in status.stdout, status.stdout
    back = install.run("update", "rollback")
    assert back.returncode == 0 and "went back from 0.2.0 to 0.1.0" in back.stdout, back.stdout + back.stderr
    assert install.version() == "0.1.0"
    again = install.run("update", "rollback")
    assert again.returncode == 1 and "nothing older to go back to" in again.stderr
    assert install.root.read().refused == ["0.2.0"]  # not offered again by the background check


def test_a_staged_release_that_fails_its_self_test_goes_back_by_itself(install: Install, repo: UpdateRepository,
                                                                       tmp_path: Path) -> None:
    publish(repo, tmp_path, "0.2.0", broken=True)
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    with serve(repo.folder) as (url, _):
        point_at(install.paths, url, repo)
        result = updates(install, bus=bus).check()  # the background check: it stages, the node serves on
    assert result.ok and install.root.read().staged == "0.2.0"
    progress = [e.data["percent"] for e in seen if e.topic == "update.progress"]
    assert progress and progress[-1] == 100 and progress == sorted(progress)
    assert any(e.topic == "update.staged" and e.data["version"] == "0.2.0" for e in seen)
    told = [e.topic for e in seen if e.topic in ("update.available", "update.progress", "update.staged")]
    assert told[0] == "update.available" and told[-1] == "update.staged"  # said before the download begins
    assert install.version() == "0.1.0"  # the next start applied it, its self-test failed, the launcher went back
    state = install.root.read()
    assert state.current is None and state.refused == ["0.2.0"] and state.trial is None
    assert state.note and "0.2.0 failed its self-test at start" in state.note and "cannot start its core" in state.note
    assert install.version() == "0.1.0"  # and stays there


@pytest.mark.parametrize("what", ["unsigned", "too large", "older", "endless"])
def test_refused_releases_leave_the_running_version_untouched(what: str, tmp_path: Path,
                                                              repo: UpdateRepository) -> None:
    install = make_install(tmp_path, installed="0.2.0")
    publish(repo, tmp_path, "0.1.0" if what == "older" else "0.3.0")
    with serve(repo.folder) as (url, faults):
        point_at(install.paths, url, repo)
        if what == "older":
            done = install.run("update", "apply")
            assert done.returncode == 1
            assert "offers FarNode 0.1.0, which is not newer than the running 0.2.0: refused" in done.stderr
        else:
            body = (repo.folder / bundle_url(repo, "0.3.0").lstrip("/")).read_bytes()
            if what == "unsigned":  # another file of the same length: not what the targets role signed
                faults.swap[bundle_url(repo, "0.3.0")] = bytes(reversed(body))
            if what == "endless":
                faults.swap[bundle_url(repo, "0.3.0")] = body + os.urandom(256 * 1024)
            app = updates(install, max_bytes=len(body) - 1 if what == "too large" else 2**30)
            assert app.client.check().ok
            with pytest.raises(ReleaseRefused) as refused:
                app.stage_newest()
            words = {"unsigned": "does not match its signed length and hash", "too large": "more than FarNode accepts",
                     "endless": "sent more than the"}[what]
            assert words in str(refused.value) and "the running FarNode is untouched" in str(refused.value)
    assert install.root.read().staged is None
    untouched(install)


@pytest.mark.parametrize("fault", ["drips", "disappears"])
def test_a_server_that_drips_or_disappears(fault: str, install: Install, repo: UpdateRepository,
                                           tmp_path: Path) -> None:
    publish(repo, tmp_path, "0.2.0")
    bus = EventBus()
    problems: list[Event] = []
    bus.subscribe(lambda e: problems.append(e) if e.topic == "update.problem" else None)
    with serve(repo.folder) as (url, faults):
        point_at(install.paths, url, repo)
        (faults.drip if fault == "drips" else faults.cut).add(bundle_url(repo, "0.2.0"))
        app = updates(install, bus=bus, fetcher=BoundedFetcher(read_timeout_s=2.0, total_s=2.0))
        assert app.check().ok  # the manifest and catalog still install; the app release is what failed
    assert problems and ("too slowly" in problems[0].reason if fault == "drips" else "broke off" in problems[0].reason)
    assert install.root.read().staged is None
    untouched(install)
    with serve(repo.folder) as (url, _):  # the server is back: the download starts over and completes
        point_at(install.paths, url, repo)
        assert updates(install).check().ok and install.root.read().staged == "0.2.0"


def _full_disk_at(limit: int) -> object:
    written = [0]

    def write(fh: IO[bytes], chunk: bytes) -> None:
        if written[0] + len(chunk) > limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written[0] += len(chunk)
        fh.write(chunk)

    return write


def test_a_full_disk_while_downloading(install: Install, repo: UpdateRepository, tmp_path: Path) -> None:
    publish(repo, tmp_path, "0.2.0", padding=512 * 1024)
    with serve(repo.folder) as (url, _):
        point_at(install.paths, url, repo)
        app = updates(install, write=_full_disk_at(256 * 1024))
        assert app.client.check().ok
        with pytest.raises(ReleaseRefused, match=r"the disk filled up while FarNode 0\.2\.0 was being staged"):
            app.stage_newest()
    untouched(install)


def test_a_real_full_disk_tmpfs(tmp_path: Path, repo: UpdateRepository) -> None:
    """The app folder on a 3 MiB tmpfs: the release (about 2 MiB packed, more unpacked) does not fit."""
    home = tmp_path / "home"
    mount = home / "data" / "app"
    mount.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"this machine lets no test mount a tmpfs ({done.stderr.decode().strip()}); the injected full "
                    f"disk above covers the same write path")
    try:
        install = Install(make_install(tmp_path).app, home, "0.1.0")
        publish(repo, tmp_path, "0.2.0", padding=2 * 1024 * 1024)
        with serve(repo.folder) as (url, _):
            point_at(install.paths, url, repo)
            app = updates(install)
            assert app.client.check().ok
            with pytest.raises(ReleaseRefused, match=r"the disk has .* MiB free, FarNode 0\.2\.0 needs"):
                app.stage_newest()
            import farnode_desktop.core.updates.app_release as release_module

            space = release_module.CHUNK_SPACE  # past the space check: the writes themselves hit ENOSPC
            release_module.CHUNK_SPACE = -10 * 2**20
            try:
                with pytest.raises(ReleaseRefused, match="the disk filled up"):
                    app.stage_newest()
            finally:
                release_module.CHUNK_SPACE = space
        untouched(install)
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def test_sigkill_of_the_download_and_the_apply_at_seeded_points(install: Install, repo: UpdateRepository,
                                                                tmp_path: Path) -> None:
    publish(repo, tmp_path, "0.2.0", padding=4 * 1024 * 1024)
    with serve(repo.folder) as (url, _):
        point_at(install.paths, url, repo)
        started = time.monotonic()
        probe = install.popen("update", "apply")  # one whole apply, to know how long one takes here
        _, err = probe.communicate(timeout=240)
        full = time.monotonic() - started
        assert probe.returncode == 0, err
        assert install.root.read().current == "0.2.0"
        rng = random.Random(20)
        for seed in range(4):
            assert install.run("update", "rollback").returncode == 0
            state = install.root.read()
            install.root.write(type(state)())  # forget the refusal: the same release is offered again
            install.root.clean(keep=set())
            delay = rng.uniform(0.2, full)
            process = install.popen("update", "apply")
            time.sleep(delay)
            _kill_group(process)  # the launcher, the app and its self-test child, wherever they were
            first = install.version()  # a working app starts, whichever version
            assert first in ("0.1.0", "0.2.0"), (seed, delay, first)
            finish = install.run("update", "apply")
            assert finish.returncode == 0, (seed, delay, finish.stdout, finish.stderr)
            assert install.version() == "0.2.0", (seed, delay)
            assert not list(install.root.versions.glob("*.partial"))


def test_a_source_checkout_says_it_updates_through_git(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARNODE_")}
    done = subprocess.run([sys.executable, "-m", "farnode_desktop", "update", "apply"], cwd=ROOT, capture_output=True,
                          text=True, env={**env, "FARNODE_HOME": str(tmp_path)}, timeout=120, check=False)
    assert done.returncode == 2
    assert "runs from a source checkout" in done.stderr and "git pull" in done.stderr, done.stderr
    status = subprocess.run([sys.executable, "-m", "farnode_desktop", "update", "status"], cwd=ROOT,
                            capture_output=True, text=True, env={**env, "FARNODE_HOME": str(tmp_path)}, timeout=120,
                            check=False)
    assert "from a source checkout: it updates through git and pip" in status.stdout
