"""Files under FarNode's home made hostile, read through checked_files: a damaged settings.json or state.json never
gives a traceback; the bad value falls back or the state reads as unknown, and the file is kept aside with a plain
sentence saying what was wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.cli import main
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore

NVML_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"


# ----- settings.json -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "bad_field"),
    [
        ({"blocks": "six"}, "blocks"),
        ({"headroom_gib": "lots"}, "headroom_gib"),
        ({"pause": "x"}, "pause"),
        ({"pause": {"temperature_limit_c": "hot", "idle_minutes": 5}}, "pause.temperature_limit_c"),
        ({"pause": {"schedule": "always"}}, "pause.schedule"),
        ({"coordinator_url": 5}, "coordinator_url"),
        ({"new_swarm": "yes"}, "new_swarm"),
        ({"excluded_gpus": [1, 2]}, "excluded_gpus"),
        ({"blocks": 0}, "blocks"),
        ({"headroom_gib": float("nan")}, "headroom_gib"),
        ({"blocks": True}, "blocks"),
        ({"log_level": "\x1b[31mLOUD"}, "log_level"),
    ],
)
def test_a_bad_settings_value_falls_back_to_its_default_and_the_file_is_kept_aside(
    tmp_path: Path, content: dict[str, Any], bad_field: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    good = {"model": "bigscience/bloom-560m", "public_name": "kitchen pc"}
    path.write_text(json.dumps({**good, **content}))
    store = SettingsStore(path)
    settings = store.load()
    defaults = Settings()
    assert settings.model == "bigscience/bloom-560m" and settings.public_name == "kitchen pc"  # the good ones stay
    top = bad_field.split(".", maxsplit=1)[0]
    if top == "pause" and "." in bad_field:
        rule = bad_field.split(".")[1]
        assert getattr(settings.pause, rule) == getattr(defaults.pause, rule)
    else:
        assert getattr(settings, top) == getattr(defaults, top)
    assert store.problem is not None and bad_field in store.problem and "defaults are used" in store.problem
    assert "\x1b" not in store.problem  # file text is shown escaped
    assert store.problem in caplog.text
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("settings.json.bad-")]
    assert len(aside) == 1 and json.loads(aside[0].read_text()) == json.loads(json.dumps({**good, **content}))
    assert SettingsStore(path).load() == settings  # the repaired file loads cleanly
    assert SettingsStore(path).problem is None


@pytest.mark.parametrize("kind", ["folder", "invalid json", "a list", "binary", "deep nesting", "huge"])
def test_an_unreadable_settings_file_gives_defaults_and_a_message(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "settings.json"
    if kind == "folder":
        path.mkdir()
        (path / "inside").write_text("x")
    else:
        path.write_bytes({"invalid json": b"{not json", "a list": b"[1, 2]", "binary": b"\xff\xfe\x00garbage",
                          "deep nesting": b"[" * 100_000, "huge": b" " * (2 * 2**20) + b"{}"}[kind])
    store = SettingsStore(path)
    assert store.load() == Settings()
    assert store.problem is not None and "could not be read" in store.problem
    assert any(p.name.startswith("settings.json.bad-") for p in tmp_path.iterdir())
    store.save(Settings(blocks=4))  # and saving works again
    assert SettingsStore(path).load().blocks == 4


def test_commands_run_with_a_damaged_settings_file(farnode_home: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARNODE_NVML_FIXTURE", str(NVML_FIXTURES / "linux_rtx4090_rtx3060.json"))
    paths = AppPaths.default().ensure()
    paths.config_file.write_text(json.dumps({"pause": "x", "coordinator_url": 5, "blocks": "six",
                                             "excluded_gpus": "all"}))
    assert main(["gpus"]) == 0
    out, err = capsys.readouterr()
    assert "GPU 0: NVIDIA GeForce RTX 4090" in out and "Traceback" not in err
    assert any(p.name.startswith(paths.config_file.name + ".bad-") for p in paths.config_file.parent.iterdir())


# ----- state.json ----------------------------------------------------------------------------------------------------
def _state(**changes: Any) -> dict[str, Any]:
    body = NodeStatus("cpu", NodeState.STOPPED, "stopped by the provider", start_block=0, end_block=4).to_json()
    return {**body, **changes}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (_state(end_block="z"), "end_block: 'z' is not a whole number"),
        (_state(state="dancing"), "state: 'dancing' is not a node state"),
        (_state(served_tokens=None), "served_tokens"),
        (_state(multiaddrs="x"), "multiaddrs"),
        ({"state": "serving"}, "name is missing"),
        ([1, 2, 3], "not a JSON object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_node_status_works_and_says_the_state_file_was_unreadable(
    farnode_home: Path, capsys: pytest.CaptureFixture[str], content: Any, says: str
) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "state.json").write_text(content if isinstance(content, str) else json.dumps(content))
    assert main(["node", "status"]) == 0
    out, err = capsys.readouterr()
    assert "node cpu: unknown (the state file" in out and "was unreadable" in out and says in out, out
    assert "Traceback" not in err
    assert main(["node", "status", "--name", "cpu", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["state"] == "unknown" and says in body["reason"]


def test_node_status_shows_text_from_the_state_file_escaped(farnode_home: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "state.json").write_text(json.dumps(_state(reason="bad peer \x1b[2J\x1b]0;owned\x07 \u202egnp.exe",
                                                           peer_id="12D3\rKoo")))
    assert main(["node", "status"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out and "\x07" not in out
    assert "bad peer \\x1b[2J" in out and "blocks:        0-3" in out
