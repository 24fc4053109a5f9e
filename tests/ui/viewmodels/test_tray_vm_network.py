"""The tray when the payout network's signed manifest asks for a newer FarNode: the menu's header and the tooltip
say "Update FarNode to keep claiming" with the reason, read again from the installation once a minute."""

from __future__ import annotations

import json

from farnode_desktop import __version__
from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.earnings.network import FORMAT, verified_manifest_path
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.tray import Tray
from farnode_desktop.ui.viewmodels.core_api import Snapshot
from farnode_desktop.ui.viewmodels.tray_vm import WARNING_REFRESH_S, TrayViewModel

TOKEN = "0x" + "ab" * 20


def test_the_tray_header_warns_an_older_farnode(core: AppCore, tasks: TaskRunner) -> None:
    vm = TrayViewModel(core, tasks)
    tray = Tray(vm, lambda name: None, lambda: None)
    vm.on_snapshot(Snapshot(at=1000.0))
    assert vm.app_warning == "" and tray.header.text() == "FarNode: stopped"  # shipped manifest: 0.1.0 may claim
    path = verified_manifest_path(core.paths)  # the update channel installs a newer signed manifest
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"chain_id": core.settings.chain_id or 7, "name": "Far", "rpc_url": "https://rpc.example",
             "coordinator_url": "https://c.example", "token": TOKEN, "payout_contract": TOKEN, "local": False,
             "min_app_version": "99.0"}
    path.write_text(json.dumps({"format": FORMAT, "version": 1, "networks": [entry]}), encoding="utf-8")
    vm.on_snapshot(Snapshot(at=1000.0 + WARNING_REFRESH_S - 1))
    assert vm.app_warning == ""  # read once a minute, not on every tick
    vm.on_snapshot(Snapshot(at=1000.0 + WARNING_REFRESH_S))
    assert tray.header.text() == "Update FarNode to keep claiming"
    assert vm.tooltip.splitlines()[:3] == [
        "Update FarNode to keep claiming",
        f"This FarNode is version {__version__}, older than version 99.0 that Far (chain {entry['chain_id']}) asks "
        "for: update FarNode to keep claiming",
        "FarNode: stopped"]
    assert tray.icon.toolTip() == vm.tooltip
