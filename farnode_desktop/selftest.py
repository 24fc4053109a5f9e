"""`farnode --self-test`: a headless check that an installed or frozen FarNode has every part it needs."""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import os
import pkgutil
import platform
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farnode_desktop import __version__

# The BIP-39 test vector "abandon x11 + about" and its first Ethereum account (m/44'/60'/0'/0/0): derives
# only if the mnemonic word lists and eth-account's HD wallet code made it into the bundle.
TEST_PHRASE = " ".join(["abandon"] * 11 + ["about"])
TEST_PHRASE_ADDRESS = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
# The keyring round-trip uses its own service name, so it can never read, overwrite or delete the wallet key.
KEYRING_SERVICE = "FarNode Desktop self-test"


@dataclass
class CheckResult:
    """One part of the self-test. `ok` False is a real failure; `state` says what was found either way."""

    name: str
    ok: bool
    state: str
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "state": self.state, **self.detail, "seconds": round(self.seconds, 3)}


class CheckFailed(Exception):
    """A check found a real fault (the message says which)."""


def bundle_root() -> Path:
    """Where resources/ lives: the PyInstaller bundle when frozen, else the source checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


# ----- checks -----
def check_qt() -> dict[str, Any]:
    """Qt starts (offscreen unless a platform was chosen), a tray icon can be made, the app icon renders."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "farnode"])  # noqa: F841
    icon_file = bundle_root() / "resources" / "icons" / "farnode.svg"
    if not icon_file.exists():
        raise CheckFailed(f"the app icon is missing ({icon_file})")
    icon = QIcon(str(icon_file))
    pixmap = icon.pixmap(64, 64)
    if pixmap.isNull():
        raise CheckFailed("the app icon (SVG) did not render: Qt's SVG image plugin is missing")
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    centre = QColor(image.pixel(32, 33))
    if centre.alpha() == 0:
        raise CheckFailed("the app icon rendered blank")
    # A tray-style state icon painted by hand, as the tray does for each node state.
    state_icon = QPixmap(32, 32)
    state_icon.fill(Qt.GlobalColor.transparent)
    painter = QPainter(state_icon)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#38a169"))
    painter.drawEllipse(4, 4, 24, 24)
    painter.end()
    tray = QSystemTrayIcon(QIcon(state_icon))
    tray.setToolTip("FarNode self-test")
    detail = {
        "platform": QApplication.platformName(),
        "qt": importlib.import_module("PySide6").__version__,
        "tray_available": QSystemTrayIcon.isSystemTrayAvailable(),
        "icon_pixel": centre.name(),
    }
    try:
        importlib.import_module("PySide6.QtCharts")  # the earnings charts
    except ImportError as exc:
        raise CheckFailed(f"PySide6.QtCharts is missing: {exc}") from exc
    detail.update(_check_text_services())
    del tray
    return detail


def _check_text_services() -> dict[str, Any]:
    """What Qt asks of ICU (whose data the Linux bundle slims): sorting names and international domain names."""
    from PySide6.QtCore import QCollator, QLocale, QUrl

    collator = QCollator(QLocale("en_US"))
    ordered = sorted(["node b", "Node C", "node a"], key=collator.sortKey)
    if ordered != ["node a", "node b", "Node C"]:
        raise CheckFailed(f"text sorting is broken (ICU collation data): {ordered}")
    ace = bytes(QUrl("http://bücher.example/").toEncoded().data()).decode()
    if "xn--bcher-kva" not in ace:
        raise CheckFailed(f"international domain names do not convert (ICU IDNA data): {ace}")
    return {"collation": "ok", "idna": "ok"}


def check_ui() -> dict[str, Any]:
    """Every module of the desktop UI imports (a frozen build that missed one fails here, not at a click)."""
    try:
        package = importlib.import_module("farnode_desktop.ui")
    except ModuleNotFoundError as exc:
        if exc.name == "farnode_desktop.ui":
            return {"state": "not included"}
        raise
    failed: dict[str, str] = {}
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, prefix="farnode_desktop.ui."):
        names.append(info.name)
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # any import failure is what this check exists to report
            failed[info.name] = f"{type(exc).__name__}: {exc}"
    if failed:
        raise CheckFailed(f"{len(failed)} UI module(s) did not import: {failed}")
    return {"state": "ok", "modules": len(names)}


def check_keyring() -> dict[str, Any]:
    """The OS keyring is a secure one and round-trips a throwaway secret (the wallet entry is never touched)."""
    from farnode_desktop.core.earnings.keystore import KeyringUnavailable, backend_name, system_keyring

    try:
        backend = system_keyring()  # the allow-listed OS keyring, as the wallet gets it
    except KeyringUnavailable as exc:
        raise CheckFailed(f"{exc} ({exc.hint})") from exc
    user = f"probe-{secrets.token_hex(4)}"
    secret = secrets.token_hex(16)
    try:
        backend.set_password(KEYRING_SERVICE, user, secret)
        read_back = backend.get_password(KEYRING_SERVICE, user)
    finally:
        try:
            backend.delete_password(KEYRING_SERVICE, user)
        except Exception as exc:  # a probe left behind is reported, and the test secret is worthless anyway
            raise CheckFailed(f"could not delete the self-test secret: {exc}") from exc
    if read_back != secret:
        raise CheckFailed("the keyring returned a different secret than was stored")
    if backend.get_password(KEYRING_SERVICE, user) is not None:
        raise CheckFailed("the self-test secret was still there after deleting it")
    return {"state": "round-trip ok", "backend": backend_name(backend)}


def check_nvml() -> dict[str, Any]:
    """NVML loads and says what it sees; no driver or no GPU is a state to report, not a failure."""
    from farnode_desktop.core.gpus.nvml import read_inventory

    inventory = read_inventory()
    if inventory.problem is not None:
        return {"state": inventory.problem.code, "message": str(inventory.problem), "gpus": 0}
    return {"state": "ok", "driver": inventory.driver_version, "cuda": inventory.cuda_driver_text,
            "gpus": len(inventory.gpus), "names": [g.name for g in inventory.gpus]}


def check_wallet_crypto() -> dict[str, Any]:
    """The wallet's libraries work: a known recovery phrase derives its known address (no keyring involved)."""
    from eth_account import Account

    import farnode_desktop.core.earnings  # noqa: F401  (puts back the recursion limit eth-account raised)

    Account.enable_unaudited_hdwallet_features()
    address = Account.from_mnemonic(TEST_PHRASE, account_path="m/44'/60'/0'/0/0").address
    if address != TEST_PHRASE_ADDRESS:
        raise CheckFailed(f"the test phrase derived {address}, expected {TEST_PHRASE_ADDRESS}")
    return {"state": "ok"}


def check_cli() -> dict[str, Any]:
    """Every command group of the `farnode` command is present."""
    from farnode_desktop.cli.commands import COMMAND_MODULES, build_parser

    build_parser()
    loaded = [name.rsplit(".", 1)[-1] for name in COMMAND_MODULES if name in sys.modules]
    missing = [name.rsplit(".", 1)[-1] for name in COMMAND_MODULES if name not in sys.modules]
    return {"state": "ok", "commands": loaded, "not_included": missing}


def check_devnet() -> dict[str, Any]:
    """The local demo network (`farnode demo` / `devnet`) starts on loopback and answers over HTTP, if its
    packages are included; leaving them out is a reported state."""
    try:
        for name in ("eth_tester", "fastapi", "uvicorn"):
            importlib.import_module(name)
    except ImportError as exc:
        return {"state": "not included", "missing": exc.name}
    from farnode_desktop.devnet import Devnet

    devnet = Devnet()
    info = devnet.start()
    try:
        network = _loopback_json(f"{info.coordinator_url}/v1/network")
        reply = _loopback_json(info.rpc_url, {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        chain_id = int(reply["result"], 16)
    finally:
        devnet.stop()
    if not isinstance(network, dict):
        raise CheckFailed(f"the demo coordinator answered {network!r}")
    return {"state": "ok", "chain_id": chain_id}


def check_updates() -> dict[str, Any]:
    """The signed update channel works in this build: the shipped trust anchor loads, and a repository signed here
    and served on loopback is verified and installed by the real client (python-tuf, its crypto included)."""
    import tempfile

    from tuf.api.metadata import Metadata

    from farnode_desktop.core.paths import AppPaths
    from farnode_desktop.core.updates.channel import load_channel, set_override
    from farnode_desktop.core.updates.client import UpdateClient
    from farnode_desktop.devnet.update_repo import LoopbackRepositoryServer, publish_demo_release

    resources = bundle_root() / "resources"
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths.under(Path(tmp) / "home").ensure()
        shipped = load_channel(paths)
        root = Metadata.from_bytes(shipped.trusted_root).signed
        repo = publish_demo_release(Path(tmp) / "release", (resources / "network" / "manifest.json").read_bytes(),
                                    (resources / "models.json").read_bytes())
        server = LoopbackRepositoryServer(repo.folder)
        try:
            set_override(paths, server.url, repo.root_bytes(1))
            result = UpdateClient(paths).check()
        finally:
            server.close()
    if not result.ok or len(result.installed) != 2:
        raise CheckFailed(f"the signed update check failed: {result.message}")
    from farnode_desktop import __version__
    from farnode_desktop.core.updates.app_layout import LAUNCHED_ENV, installed_root

    # an installed build runs through the launcher (installer/farnode_entry.py): it started this process, and the
    # app folder it keeps versions in is the core's
    return {"state": "ok", "shipped_root_version": root.version, "channel": shipped.url or "none",
            "launched": os.environ.get(LAUNCHED_ENV, ""), "app_updates": installed_root(__version__) is not None}


def _loopback_json(url: str, body: dict[str, Any] | None = None) -> Any:
    """GET (or POST `body` as JSON to) one of the devnet's own http://127.0.0.1 URLs."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise CheckFailed(f"the devnet gave a non-loopback URL: {url}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request("POST" if data else "GET", parts.path or "/", body=data,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise CheckFailed(f"{url} answered HTTP {response.status}")
        return json.loads(payload)
    finally:
        connection.close()


def make_runtime_check(require_runtime: bool) -> Callable[[], dict[str, Any]]:
    def check_runtime() -> dict[str, Any]:
        """The node runtime's pieces in this app (lock, mesh sources) and the runtime itself, if installed."""
        from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
        from farnode_desktop.core.paths import AppPaths

        sources = mesh_source_root()
        serve = sources / "farnode_desktop" / "mesh" / "serve.py"
        if not serve.is_file():
            raise CheckFailed(f"the node's sources are missing from this app ({serve})")
        runtime = NodeRuntime(AppPaths.default().runtime)
        detail: dict[str, Any] = {"location": str(runtime.location), "lock": runtime.lock.name,
                                  "mesh_sources": str(sources), "base_python": runtime.base_python}
        if not runtime.lock.is_file():
            if platform.system() == "Linux":
                raise CheckFailed(f"the runtime lock is missing from this app ({runtime.lock})")
            detail["state"] = "native runtime not supported on this OS (WSL2 backend)"
            return detail
        if not runtime.is_installed():
            # No marker for this lock: never installed, stopped half-way, or made from an older lock. The
            # first launch (or `farnode runtime install`) provisions it; only --require-runtime makes it a fault.
            state = "not installed" if not runtime.python.exists() else "incomplete or outdated (reinstall)"
            if require_runtime:
                raise CheckFailed(f"the node runtime is {state} (run `farnode runtime install`)")
            detail["state"] = state
            return detail
        report = runtime.check()
        detail["versions"] = report.versions
        if not report.ok:
            raise CheckFailed("the node runtime's check failed: " + "; ".join(report.problems))
        detail["state"] = "installed, ok"
        return detail

    return check_runtime


def _run_check(name: str, fn: Callable[[], dict[str, Any]]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = fn()
        state = str(detail.pop("state", "ok"))
        return CheckResult(name, True, state, detail, time.perf_counter() - started)
    except CheckFailed as exc:
        return CheckResult(name, False, "failed", {"error": str(exc)}, time.perf_counter() - started)
    except Exception as exc:  # an unexpected error is a failure to report, never a crash of the self-test
        return CheckResult(name, False, "failed", {"error": f"{type(exc).__name__}: {exc}"},
                           time.perf_counter() - started)


def run(require_runtime: bool = False) -> dict[str, Any]:
    """Every check, in order, as the JSON report `--self-test` prints."""
    started = time.perf_counter()
    checks: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("cli", check_cli),
        ("qt", check_qt),
        ("ui", check_ui),
        ("keyring", check_keyring),
        ("nvml", check_nvml),
        ("wallet_crypto", check_wallet_crypto),
        ("devnet", check_devnet),
        ("updates", check_updates),
        ("runtime", make_runtime_check(require_runtime)),
    ]
    results = [_run_check(name, fn) for name, fn in checks]
    return {
        "ok": all(r.ok for r in results),
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "executable": sys.executable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "checks": {r.name: r.to_json() for r in results},
        "failed": [r.name for r in results if not r.ok],
        "seconds": round(time.perf_counter() - started, 3),
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="farnode --self-test",
                                     description="Check headlessly that this FarNode installation works.")
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--require-runtime", action="store_true",
                        help="fail when the node runtime is not installed (by default that is a reported state)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write the JSON report to FILE (a windowed Windows app has no stdout)")
    args = parser.parse_args(list(argv))
    report = run(require_runtime=args.require_runtime)
    text = json.dumps(report, indent=2)
    stdout: Any = sys.stdout  # None in a windowed Windows app
    stderr: Any = sys.stderr
    if stdout is not None:
        print(text, file=stdout, flush=True)
    if args.report:
        Path(args.report).write_text(text + "\n", encoding="utf-8")
    if stderr is not None:
        for name in report["failed"]:
            print(f"farnode self-test: {name} FAILED: {report['checks'][name].get('error')}", file=stderr)
    return 0 if report["ok"] else 1
