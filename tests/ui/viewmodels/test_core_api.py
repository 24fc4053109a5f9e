"""What the UI asks of the core: a real AppCore offers every member of CoreApi, and take_snapshot reads its nodes,
GPUs and pauses into one snapshot (a later change to the core does not change a snapshot already taken)."""

from __future__ import annotations

import math
import typing

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.ui.viewmodels.core_api import CoreApi, Snapshot, take_snapshot


def test_the_real_core_offers_everything_the_ui_asks_for(core: AppCore) -> None:
    members = {name for name in dir(CoreApi) if not name.startswith("_")} | set(typing.get_type_hints(CoreApi))
    assert {"tick", "start_nodes", "snooze", "earnings", "bus", "sampler", "snoozed"} <= members
    missing = sorted(name for name in members if not hasattr(core, name))
    assert missing == []


def test_a_snapshot_holds_the_nodes_gpus_and_pauses_as_they_were(core: AppCore) -> None:
    empty = Snapshot()
    assert (empty.statuses, empty.inventory, empty.snoozed, empty.snoozed_gpus) == ((), None, False, {})
    before = take_snapshot(core)
    assert [(s.name, s.state) for s in before.statuses] == [(s.name, s.state) for s in core.node_statuses()]
    assert len(before.statuses) == 2
    assert before.inventory is not None and [g.index for g in before.inventory.gpus] == [0, 1]
    assert before.snoozed is False and before.snoozed_gpus == {}

    core.snooze("until_resume", gpu=1)
    one = take_snapshot(core)
    assert one.snoozed_gpus == {1: math.inf} and one.snoozed is False  # one card paused, not the PC
    core.snooze("30m")
    whole = take_snapshot(core)
    assert whole.snoozed is True and whole.at >= one.at >= before.at
    core.end_snooze()
    assert take_snapshot(core).snoozed is False
    assert whole.snoozed is True and before.snoozed_gpus == {}  # snapshots already taken keep what they saw
