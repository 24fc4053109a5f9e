"""The server-log reader, on lines recorded from a real Petals 2.2 server (tests/fixtures/petals)."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.node.log_signals import Signal, explain, parse_line

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "petals"


def test_a_real_serving_log_reads_as_the_lifecycle() -> None:
    signals = [s for s in (parse_line(line) for line in (FIXTURES / "serving.log").read_text().splitlines()) if s]
    kinds = [s.kind for s in signals]
    assert kinds == [Signal.PEER, Signal.JOINING, *[Signal.LOADED_BLOCK] * 4, Signal.STARTED, Signal.OFFLINE,
                     Signal.SHUTTING_DOWN]
    peer = signals[0]
    assert peer.values["peer_id"] == "QmerRRSKnQ4NuLtZQKshKv1kJsegtykdpA86J2zbKMQSuc"
    assert peer.values["multiaddrs"] == ["/ip4/127.0.0.1/tcp/43863/p2p/QmerRRSKnQ4NuLtZQKshKv1kJsegtykdpA86J2zbKMQSuc"]
    assert signals[1].values["blocks"] == [0, 1, 2, 3]
    assert [s.values["block"] for s in signals if s.kind is Signal.LOADED_BLOCK] == [0, 1, 2, 3]


def test_real_failures_are_explained_in_plain_words() -> None:
    port_line, model_line = (FIXTURES / "failures.log").read_text().splitlines()
    port = explain(port_line)
    assert port is not None and port.message == "The node's network port 31400 is already used by another program."
    model = explain(model_line)
    assert model is not None and "model could not be found" in model.message
    assert parse_line(port_line).kind is Signal.FATAL  # type: ignore[union-attr]


def test_out_of_memory_disk_and_hub_errors_are_fatal_with_a_hint() -> None:
    cases = {
        "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB": "ran out of memory",
        "Nov 22 10:00:00.000 [ERROR] Insufficient disk space to load a block. Please free 3.1 GiB": "disk space",
        "Failed to load file model-00001.safetensors from HF Hub (retry in 30 sec)": "cannot be downloaded",
        "Server has not become reachable from the Internet": "cannot reach this node",
    }
    for line, words in cases.items():
        found = explain(line)
        assert found is not None and words in found.message and found.hint, line


def test_healable_and_harmless_lines() -> None:
    taken = parse_line("P2PDaemonError: Identity from `/x/identity.key` is already taken by another peer")
    assert taken is not None and taken.kind is Signal.HEALABLE
    recover = parse_line("Nov 22 10:00:00.000 [ERROR] Caught RuntimeError('boom'), attempting to recover")
    assert recover is not None and recover.kind is Signal.RECOVERING
    assert parse_line("Nov 22 14:07:30.943 [INFO] Model weights are loaded in float32 format") is None
