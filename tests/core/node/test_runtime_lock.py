"""The unified runtime lock and its metadata: what it pins, which GPUs its build covers, which lock is chosen."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from farnode_desktop.core.node.factory import dht_prefix_for, petals_dht_prefix
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.runtime_lock import (
    LOCK_ENV,
    RuntimeNeeds,
    lock_file,
    metadata_path,
    provider_pip_env,
    read_metadata,
    runtime_needs,
    unified_lock_name,
)

UNIFIED = lock_file()


def pins(lock: Path) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256), read the way pip reads the file."""
    text = lock.read_text()
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})$", text, re.M)
    return {re.sub(r"[-_.]+", "-", n).lower(): (v, h) for n, v, h in found}


def test_the_unified_lock_pins_the_cuda_13_torch_and_its_closure_with_one_hash_each() -> None:
    assert UNIFIED.name == unified_lock_name() == "lock-linux-x86_64.txt"
    locked = pins(UNIFIED)
    lines = [line for line in UNIFIED.read_text().splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(locked) == len(lines) > 80  # every requirement line has its hash
    assert locked["torch"] == ("2.14.1", "305a61f61f35f128579f299c5bd33d475f6a01c6307336139632e30856c4854d")
    assert "+cpu" not in UNIFIED.read_text()  # PyPI has no +cpu torch: a provider's pip could never match it
    for name in ("nvidia-cudnn-cu13", "nvidia-nccl-cu13", "nvidia-cublas", "nvidia-cuda-runtime", "triton",
                 "cuda-toolkit", "nvidia-nvshmem-cu13", "nvidia-cusparselt-cu13"):
        assert name in locked, name
    versions = {n: v for n, (v, _) in locked.items()}
    assert versions["hivemind"] == "1.1.12" and versions["pydantic"].startswith("2.")
    assert (versions["transformers"], versions["tokenizers"]) == ("5.25.0", "0.23.3")  # issue 21
    assert versions["huggingface-hub"].startswith("2.") and versions["numpy"].startswith("2.")
    assert versions["petals"] == "2.2.0.post1" and versions["bitsandbytes"] == "0.50.2"
    assert NodeRuntime(Path("/nonexistent")).locked_versions()["torch"] == "2.14.1"


def test_the_metadata_describes_exactly_this_lock() -> None:
    body = read_metadata(UNIFIED)
    # regenerating the lock without re-reading the build would leave stale GPU facts: the digest catches it
    assert body["lock_sha256"] == hashlib.sha256(UNIFIED.read_bytes()).hexdigest()
    assert body["torch"].startswith("2.14.1") and body["cuda"] == "13.0" and body["cuda_build"] == 13000
    assert (body["min_driver"], body["min_cuda_driver"]) == ("580", 13000)
    assert body["transformers"] == pins(UNIFIED)["transformers"][0] == runtime_needs().transformers
    assert body["bitsandbytes_cuda_library"] == "libbitsandbytes_cuda130.so"
    assert body["bitsandbytes_cuda_library"] in body["bitsandbytes_cuda_libraries"]


@pytest.mark.parametrize(("card", "cc", "covered"), [
    ("GeForce GTX 1660 (Turing)", (7, 5), True),
    ("GeForce RTX 2080 Ti (Turing)", (7, 5), True),
    ("GeForce RTX 3060 (Ampere)", (8, 6), True),
    ("GeForce RTX 4090 (Ada)", (8, 9), True),
    ("GeForce RTX 5090 (Blackwell)", (12, 0), True),
    ("A100", (8, 0), True),
    ("H100 / H200", (9, 0), True),
    ("GeForce GTX 1080 (Pascal)", (6, 1), False),
    ("Titan V (Volta)", (7, 0), False),
    ("GeForce GTX 980 (Maxwell)", (5, 2), False),
])
def test_the_locked_build_covers_gtx_16_and_rtx_20_to_50(card: str, cc: tuple[int, int], covered: bool) -> None:
    needs = runtime_needs()
    assert needs.covers(cc) is covered, (card, needs.arch_list)
    assert needs.min_compute_capability == (7, 5)


def test_arch_list_rules() -> None:
    ptx = RuntimeNeeds(arch_list=("sm_80", "compute_80"))
    assert ptx.covers((8, 6)) and ptx.covers((12, 0))  # PTX is JIT-compiled for newer cards
    assert not ptx.covers((7, 5))
    sass = RuntimeNeeds(arch_list=("sm_80", "sm_90a"))
    assert sass.covers((8, 9)) and sass.covers((9, 0))
    assert not RuntimeNeeds(arch_list=("sm_90a",)).covers((10, 0))  # arch-specific kernels run on 9.0 alone
    assert not RuntimeNeeds(arch_list=("sm_86",)).covers((8, 0))  # sm_86 SASS does not run on 8.0
    assert RuntimeNeeds(arch_list=("sm_75", "sm_86", "sm_120")).covered_text == "7.5, 8.6, 12.0"


def test_which_lock_is_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(LOCK_ENV, raising=False)
    assert lock_file() == UNIFIED  # a GPU and a CPU get the same CUDA build (PyPI has no +cpu torch)
    assert not list(UNIFIED.parent.glob("lock-*-cpu.txt"))
    monkeypatch.setenv(LOCK_ENV, unified_lock_name())
    assert lock_file() == UNIFIED
    other = tmp_path / "lock.txt"
    monkeypatch.setenv(LOCK_ENV, str(other))
    assert lock_file() == other and metadata_path(other) == tmp_path / "lock.json"


def test_the_provider_pip_sees_only_the_registry() -> None:
    env = provider_pip_env({"PIP_FIND_LINKS": "/opt/wheels", "PIP_CONSTRAINT": "/etc/c.txt", "PIP_CERT": "/c.pem",
                            "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple", "PATH": "/usr/bin"})
    assert env["PIP_CONFIG_FILE"] == "/dev/null" and env["PIP_FIND_LINKS"] == ""
    assert "PIP_CONSTRAINT" not in env and "PIP_EXTRA_INDEX_URL" not in env
    assert env["PIP_CERT"] == "/c.pem" and env["PATH"] == "/usr/bin"


@pytest.mark.parametrize(("name", "family", "prefix"), [
    ("meta-llama/Llama-2-7b-chat-hf", "llama", "Llama-2-7b-chat-hf"),  # -hf only when missing
    ("Llama-2-7b-chat-hf", "llama", "Llama-2-7b-chat-hf"),
    ("meta-llama/Meta-Llama-3.1-405B-Instruct", "llama", "Meta-Llama-3-1-405B-Instruct-hf"),
    ("my_model.v2", "llama", "my_model-v2-hf"),  # dots replaced, underscores kept
    ("tiiuae/falcon-40b", "falcon", "falcon-40b"),
    ("bigscience/bloom-560m", "bloom", "bigscience/bloom-560m-petals"),
    ("mistralai/Mixtral-8x22B-Instruct-v0.1", "mixtral", "mistralai/Mixtral-8x22B-Instruct-v0-1"),
])
def test_the_dht_prefix_is_petals_own(name: str, family: str, prefix: str) -> None:
    assert petals_dht_prefix(name, family) == prefix
    # FarMesh's model families (stdlib-only, used inside the runtime) apply the same rule
    families = pytest.importorskip("farnode_desktop.mesh.models.families",
                                   reason="FarMesh's model families are not in this checkout yet")
    assert families.dht_prefix(family, name) == prefix


def test_a_model_folder_is_announced_where_petals_clients_look(tmp_path: Path) -> None:
    for folder, model_type, prefix in (("Llama-2-7b-chat-hf", "llama", "Llama-2-7b-chat-hf"),
                                       ("my_model.v2", "llama", "my_model-v2-hf"),
                                       ("falcon-7b", "falcon", "falcon-7b")):
        path = tmp_path / folder
        path.mkdir()
        (path / "config.json").write_text(f'{{"model_type": "{model_type}"}}')
        assert dht_prefix_for(str(path)) == prefix
