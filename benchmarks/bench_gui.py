"""The tray app's own cost while its nodes serve: idle CPU % of one core, RSS, and launch -> tray icon time.

What runs: the real app (QApplication, bridge, task runner, heartbeat ticking the real AppCore every 0.5 s,
tray, GPU sampler every 2 s) on recorded GPU readings with scripted nodes standing in for the Petals servers
(no GPU on this machine); the node processes' own cost is not the app's and is not counted.
Targets: < 1 % of one core idle, < 150 MB RSS, tray icon < 2 s after launch.

Run (tray host): xvfb-run -a -s "-screen 0 1280x800x24" sh -c 'trayer --edge top --align right &
    sleep 1; .venv/bin/python benchmarks/bench_gui.py'
Without a display it runs offscreen and times the dashboard window instead (no tray exists there).
Prints the figures and writes benchmarks/results/gui.json.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SETTLE_S = 8.0
MEASURE_S = 30.0


def child(home: str) -> int:
    """The app itself; prints `SHOWN <seconds since interpreter start>` when the icon (or window) is up."""
    started = psutil.Process().create_time()
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QTimer

    from farnode_desktop.core.settings import Settings
    from farnode_desktop.devnet.demo import MemoryKeyring
    from farnode_desktop.ui.app import FarNodeApp, make_qapp
    from tests.ui.fakes import BIG_MODEL, make_core

    qapp = make_qapp()
    core = make_core(Path(home), settings=Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=True),
                     keystore=MemoryKeyring(), sample_gpus=True)
    app = FarNodeApp(core)
    app.launch()

    def shown() -> None:
        visible = app.tray.icon.isVisible() if app.tray is not None else app.window("dashboard").isVisible()
        if visible:
            print(f"SHOWN {time.time() - started:.3f} {'tray' if app.tray else 'window'}", flush=True)
        else:
            QTimer.singleShot(10, shown)

    QTimer.singleShot(0, shown)
    QTimer.singleShot(int((SETTLE_S + MEASURE_S + 5) * 1000), app.quit)
    return int(qapp.exec())


def main() -> int:
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="farnode-bench-gui-") as home:
        proc = subprocess.Popen([sys.executable, __file__, "--child", home], stdout=subprocess.PIPE, text=True,
                                env=env, cwd=ROOT)
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "SHOWN":
            proc.kill()
            print("the app did not show its icon or window", file=sys.stderr)
            return 1
        shown_s, shown_what = float(line[1]), line[2]
        ps = psutil.Process(proc.pid)
        time.sleep(SETTLE_S)
        cpu0 = ps.cpu_times()
        t0 = time.monotonic()
        rss_samples = []
        while time.monotonic() - t0 < MEASURE_S:
            rss_samples.append(ps.memory_info().rss)
            time.sleep(1.0)
        cpu1 = ps.cpu_times()
        elapsed = time.monotonic() - t0
        cpu_pct = 100.0 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / elapsed
        proc.wait(timeout=60)
    result = {
        "what": "tray app + AppCore (heartbeat 0.5 s, GPU sampler 2 s) with 2 scripted serving nodes on recorded "
                "RTX 4090 + RTX 3060 readings; node processes not counted",
        "display": "X with tray host" if shown_what == "tray" else "offscreen (no tray: dashboard window)",
        "idle_cpu_pct_one_core": round(cpu_pct, 3),
        "rss_mb_max": round(max(rss_samples) / 1e6, 1),
        "rss_mb_mean": round(sum(rss_samples) / len(rss_samples) / 1e6, 1),
        "launch_to_shown_s": round(shown_s, 3),
        "shown": shown_what,
        "measure_s": MEASURE_S,
        "targets": {"idle_cpu_pct_one_core": 1.0, "rss_mb": 150, "launch_to_tray_s": 2.0},
        "machine": f"{platform.machine()} {psutil.cpu_count()} cores, {platform.python_version()}",
    }
    out = ROOT / "benchmarks" / "results" / "gui.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2]))
    sys.exit(main())
