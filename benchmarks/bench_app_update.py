"""What an app update costs: the download's size, the time to stage it (download, verify, unpack beside the running
version), the time to apply it (the next start: pointer switch, self-test, then the new version runs) and to roll
back. The release is a bundle of realistic size, not a frozen build: this checkout's sources plus filler sized like
the measured Linux bundle (115.9 MiB unpacked, tar.gz 48.3 MiB: README, installer figures), signed into a real
repository served by `python -m http.server` in another process on loopback.
Run: `.venv/bin/python benchmarks/bench_app_update.py [--runs 3]`; writes benchmarks/results/app_update.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.updates.app_release import this_platform  # noqa: E402
from farnode_desktop.core.updates.app_update import AppUpdates  # noqa: E402
from farnode_desktop.devnet.update_repo import publish_app_release  # noqa: E402
from tests.core.updates.app_bundles import make_bundle, make_install  # noqa: E402
from tests.core.updates.update_server import make_repo, point_at  # noqa: E402

RANDOM_MIB = 45  # incompressible: what the tar.gz mostly holds
SPARSE_MIB = 68  # compresses to almost nothing (libraries' zero padding, text)


def realistic_release(folder: Path, version: str) -> bytes:
    bundle = make_bundle(folder, version, padding=RANDOM_MIB * 2**20)
    (bundle / "filler.bin").write_bytes(b"\0" * SPARSE_MIB * 2**20)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=6) as tf:
        tf.add(bundle, arcname=f"farnode-{version}")
    return out.getvalue()


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        install = make_install(tmp)
        repo = make_repo(tmp)
        data = realistic_release(tmp / "src", "0.2.0")
        unpacked = sum(p.stat().st_size for p in (tmp / "src").rglob("*") if p.is_file())
        publish_app_release(repo, data, f"farnode-0.2.0-{this_platform()}.tar.gz", "0.2.0", this_platform(),
                            "farnode")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                                  cwd=repo.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            point_at(install.paths, f"http://127.0.0.1:{port}", repo)
            plain = [timed(install.version)[0] for _ in range(3)]
            for _ in range(args.runs):
                updates = AppUpdates(install.paths, root=install.root, running="0.1.0")
                stage_s, _ = timed(updates.check)
                assert install.root.read().staged == "0.2.0", "the release was not staged"
                apply_s, version = timed(install.version)  # the start that applies it, self-tests it and runs it
                assert version == "0.2.0", version
                rollback_cmd_s, done = timed(lambda: install.run("update", "rollback"))
                assert done.returncode == 0, done.stderr
                back_s, version = timed(install.version)
                assert version == "0.1.0", version
                runs.append({"stage_s": stage_s, "apply_start_s": apply_s, "rollback_command_s": rollback_cmd_s,
                             "start_after_rollback_s": back_s})
                install.root.write(type(install.root.read())())  # offered again for the next run
                install.root.clean(keep=set())
        finally:
            server.terminate()
            server.wait()

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)

    plain_s = round(statistics.median(plain), 2)
    result = {
        "release": "a bundle of realistic size built from this checkout's sources plus filler (not a frozen build): "
                   "sized like the measured Linux bundle (115.9 MiB unpacked, tar.gz 48.3 MiB)",
        "download_bytes": len(data),
        "download_mib": round(len(data) / 2**20, 1),
        "unpacked_mib": round(unpacked / 2**20, 1),
        "stage_s_median": median("stage_s"),
        "apply_at_next_start_s_median": median("apply_start_s"),
        "plain_start_s_median": plain_s,
        "apply_cost_over_plain_start_s": round(median("apply_start_s") - plain_s, 2),
        "rollback_command_s_median": median("rollback_command_s"),
        "start_after_rollback_s_median": median("start_after_rollback_s"),
        "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
        "notes": "stage = signed-metadata check + download over loopback + sha256/length check + unpack + rename, in "
                 "the app's update thread (the node serves on); apply = the launcher's next start: state switch, "
                 "the new version's self-test (its core starts, writes a confirmation), then it runs `--version`; "
                 "rollback = `farnode update rollback` (one atomic state write) and the next start",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_1min": round(os.getloadavg()[0], 2)},
    }
    out = REPO / "benchmarks" / "results" / "app_update.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs", "notes", "release")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
