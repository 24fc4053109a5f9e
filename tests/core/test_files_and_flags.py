"""Files under FarNode's home and flags a provider types, made hostile: a damaged or forged server.pid never makes
`node stop` end another program; damaged settings and state files never give a traceback; bad flags are refused
before anything is launched."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from farnode_desktop.cli import main
from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.node.host import OsProcessHost
from farnode_desktop.core.node.process_group import PID_FILE, end_leftover_group
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore

NVML_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"
SLEEPER = "import time; time.sleep(120)"


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated program leading its own process group: exactly what a server group looks like from outside."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _created(pid: int) -> float:
    return float(psutil.Process(pid).create_time())


def _pid_files(node_dir: Path) -> list[str]:
    return sorted(p.name for p in node_dir.iterdir() if p.name.startswith(PID_FILE))


def _forged_records(pid: int, created: float) -> list[tuple[str, Any]]:
    return [
        ("create_time null", {"pid": pid, "pgid": pid, "create_time": None}),
        ("create_time text", {"pid": pid, "pgid": pid, "create_time": "abc"}),
        ("create_time NaN", f'{{"pid": {pid}, "pgid": {pid}, "create_time": NaN}}'),
        ("missing fields", {"pgid": pid}),
        ("pid as text", {"pid": str(pid), "pgid": str(pid), "create_time": created}),
        ("pid as bool", {"pid": True, "pgid": True, "create_time": created}),
        ("pid out of range", {"pid": 10**30, "pgid": 10**30, "create_time": created}),
        ("negative pid", {"pid": -pid, "pgid": -pid, "create_time": created}),
        ("a group the pid does not lead", {"pid": pid, "pgid": pid + 1, "create_time": created}),
        ("not an object", [pid, pid, created]),
        ("not JSON", "\x00\xff garbage"),
    ]


def test_a_damaged_server_pid_file_ends_nothing_and_is_moved_aside(
    farnode_home: Path, bystander: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    for why, record in _forged_records(bystander.pid, _created(bystander.pid)):
        for old in node_dir.glob(PID_FILE + "*"):
            old.unlink()
        (node_dir / PID_FILE).write_text(record if isinstance(record, str) else json.dumps(record))
        assert main(["node", "stop", "--name", "cpu"]) == 0, why
        err = capsys.readouterr().err
        assert bystander.poll() is None, f"{why}: node stop ended an unrelated program"
        assert "was not usable" in err and "no process was ended" in err and "Traceback" not in err, why
        names = _pid_files(node_dir)
        assert len(names) == 1 and names[0].startswith(PID_FILE + ".bad-"), (why, names)


@pytest.mark.parametrize("created", ["NaN", '"abc"', "null", "true"])
def test_a_forged_supervisor_pid_file_signals_no_one(farnode_home: Path, bystander: subprocess.Popen[bytes],
                                                     created: str) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "supervisor.pid").write_text(f'{{"pid": {bystander.pid}, "create_time": {created}}}')
    assert main(["node", "stop", "--name", "cpu"]) == 0
    assert bystander.poll() is None


def test_a_pid_now_used_by_another_program_is_left_alone(farnode_home: Path, bystander: subprocess.Popen[bytes],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    node_dir = AppPaths.default().ensure().node_dir("cpu")
    node_dir.mkdir(parents=True, exist_ok=True)
    stale = _created(bystander.pid) - 3600.0  # our server started an hour before this program got its number
    (node_dir / PID_FILE).write_text(json.dumps({"pid": bystander.pid, "pgid": bystander.pid, "create_time": stale}))
    assert main(["node", "stop", "--name", "cpu"]) == 0
    assert bystander.poll() is None
    assert "is another program now; it was left alone" in capsys.readouterr().err
    assert _pid_files(node_dir) == []


def test_a_valid_pid_file_still_ends_the_leftover_group(tmp_path: Path) -> None:
    leftover = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    try:
        pid_file = tmp_path / PID_FILE
        pid_file.write_text(json.dumps({"pid": leftover.pid, "pgid": leftover.pid,
                                        "create_time": _created(leftover.pid)}))
        assert end_leftover_group(pid_file, OsProcessHost(), SystemClock(), grace_s=5.0) == [leftover.pid]
        assert leftover.wait(timeout=10) is not None
        assert not pid_file.exists()
    finally:
        leftover.kill()
        leftover.wait()


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


# ----- flags ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--port", "-1"], "the port must be from 1 to 65535 (or 0 to choose a free one), not -1"),
        (["--port", "70000"], "not 70000"),
        (["--port", "http"], "the port must be a whole number"),
        (["--num-blocks", "0"], "the number of blocks must be from 1 to 1000, not 0"),
        (["--num-blocks", "-3"], "not -3"),
        (["--name", "../../outside"], "a node name is 1 to 32 letters"),
        (["--dht-prefix", "a b"], "a DHT prefix is"),
        (["--initial-peers", "not an address"], "is not a multiaddr"),
        (["--wait", "nan"], "the wait must be from 0 to 604800 seconds"),
    ],
)
def test_bad_node_start_flags_are_refused_before_anything_runs(
    farnode_home: Path, capsys: pytest.CaptureFixture[str], flags: list[str], says: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["node", "start", "--new-swarm", *flags] if "--initial-peers" not in flags else ["node", "start", *flags])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (farnode_home / "logs").exists() or not list((farnode_home / "logs").glob("service-*.log"))


@pytest.mark.parametrize("command", [["node", "stop", "--name", "../x"], ["node", "status", "--name", "a/b"]])
def test_node_names_cannot_name_a_path(farnode_home: Path, capsys: pytest.CaptureFixture[str],
                                       command: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(command)
    assert "a node name is" in capsys.readouterr().err


def _service_logs(home: Path) -> list[Path]:
    return list(home.rglob("service-*.log"))


@pytest.mark.parametrize(
    ("model", "says", "hint"),
    [
        ("/nonexistent", "the model folder '/nonexistent' does not exist", "check the path"),
        ("./models/missing", "the model folder 'models/missing' does not exist", "check the path"),
        ("org/unknown-model", "FarNode does not know the model 'org/unknown-model'", "known models:"),
        ("llama-2-70b", "FarNode does not know the model 'llama-2-70b'", "did you mean meta-llama/Llama-2-70b-chat-hf"),
    ],
)
def test_node_start_in_the_background_says_plainly_what_is_wrong_with_the_model(
    farnode_home: Path, capsys: pytest.CaptureFixture[str], model: str, says: str, hint: str
) -> None:
    assert main(["node", "start", "--new-swarm", "--model", model]) == 2
    err = capsys.readouterr().err
    assert says in err and hint in err, err
    assert "exited (code" not in err and "unreachable" not in err and "Traceback" not in err
    assert _service_logs(farnode_home) == []  # nothing was launched


def test_a_file_or_a_folder_without_config_is_not_a_model(farnode_home: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "weights.bin").write_bytes(b"x")
    for target in (tmp_path, tmp_path / "weights.bin"):
        assert main(["node", "start", "--new-swarm", "--model", str(target)]) == 2
        assert "is not a model folder (it has no config.json)" in capsys.readouterr().err
    assert _service_logs(farnode_home) == []


def test_catalog_short_names_and_model_folders_are_accepted(tmp_path: Path) -> None:
    from farnode_desktop.cli.node_args import checked_model

    assert checked_model("bloom-560m") == "bigscience/bloom-560m"
    assert checked_model("farlabs/tiny-demo") == "farlabs/tiny-demo"
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 64,
                                                       "num_attention_heads": 4, "num_key_value_heads": 2}))
    assert checked_model(str(tmp_path)) == str(tmp_path.resolve())


@pytest.mark.parametrize(("config", "why"), [
    ({"model_type": "gpt2", "n_layer": 4}, "cannot serve models of type 'gpt2'"),
    ({"model_type": "mixtral", "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
      "num_local_experts": 2, "num_experts_per_tok": 4}, "num_experts_per_tok <= num_local_experts"),
    ({"model_type": "falcon", "num_hidden_layers": 4, "num_attention_heads": 4, "alibi": True}, "ALiBi"),
])
def test_a_model_the_runtime_cannot_serve_is_refused_before_launch(
        tmp_path: Path, config: dict[str, object], why: str) -> None:
    from farnode_desktop.cli.node_args import checked_model

    (tmp_path / "config.json").write_text(json.dumps(config))
    from farnode_desktop.core.errors import UserInputError

    with pytest.raises(UserInputError, match="FarNode cannot serve the model") as err:
        checked_model(str(tmp_path))
    assert why in str(err.value)
