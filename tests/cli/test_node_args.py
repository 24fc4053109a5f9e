"""Flags and model names a provider types to `farnode node start`: bad ones are refused before anything is
launched, with a plain sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from farnode_desktop.cli import main


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
