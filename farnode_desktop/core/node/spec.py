"""What a node serves and how its server is launched: the spec, and the backends that turn it into a command."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from farnode_desktop.core.node.host import LaunchCommand, minimal_env

ENDPOINT_FILE = "status-endpoint.json"
IDENTITY_FILE = "identity.key"


@dataclass
class NodeSpec:
    """One node = one Petals block server, usually one per GPU."""

    name: str
    model: str
    dht_prefix: str | None = None
    new_swarm: bool = False
    initial_peers: list[str] = field(default_factory=list)
    port: int = 0  # 0: a free port is chosen at the first launch and then kept
    listen_host: str = "0.0.0.0"
    announce_host: str | None = None
    device: str = "cpu"
    cuda_visible_devices: str | None = None
    num_blocks: int | None = None
    block_indices: str | None = None
    torch_dtype: str = "auto"
    quant_type: str | None = None
    attn_cache_tokens: int | None = None
    throughput: str = "auto"
    public_name: str = ""
    num_handlers: int | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def is_local_model(self) -> bool:
        return Path(self.model).expanduser().is_dir() or self.model.startswith(("/", "./", "~"))

    def petals_args(self, identity_path: Path) -> list[str]:
        """The arguments for Petals' `run_server`, exactly as the supervisor chose them."""
        args = [self.model]
        if self.dht_prefix:
            args += ["--dht_prefix", self.dht_prefix]
        if self.new_swarm:
            args += ["--new_swarm"]
        elif self.initial_peers:
            args += ["--initial_peers", *self.initial_peers]
        args += ["--device", self.device, "--torch_dtype", self.torch_dtype]
        args += ["--host_maddrs", f"/ip4/{self.listen_host}/tcp/{self.port}"]
        if self.announce_host:
            args += ["--announce_maddrs", f"/ip4/{self.announce_host}/tcp/{self.port}"]
        if self.block_indices:
            args += ["--block_indices", self.block_indices]
        elif self.num_blocks is not None:
            args += ["--num_blocks", str(self.num_blocks)]
        if self.quant_type:
            args += ["--quant_type", self.quant_type]
        if self.attn_cache_tokens is not None:
            args += ["--attn_cache_tokens", str(self.attn_cache_tokens)]
        if self.throughput != "auto":
            args += ["--throughput", self.throughput]
        if self.public_name:
            args += ["--public_name", self.public_name]
        if self.num_handlers is not None:
            args += ["--num_handlers", str(self.num_handlers)]
        args += ["--identity_path", str(identity_path)]
        return args + list(self.extra_args)


class NodeBackend(Protocol):
    """Turns a spec into a command: natively on Linux, or (on Windows) inside the WSL2 distribution."""

    name: str

    def command(self, spec: NodeSpec, workdir: Path) -> LaunchCommand: ...


class NativeBackend:
    """Runs the server with the node runtime's own Python on this OS (Linux)."""

    name = "native"

    def __init__(self, runtime_python: Path, mesh_source_root: Path) -> None:
        self.runtime_python = runtime_python
        self.mesh_source_root = mesh_source_root

    def command(self, spec: NodeSpec, workdir: Path) -> LaunchCommand:
        env = {
            "PYTHONPATH": str(self.mesh_source_root),
            "PYTHONUNBUFFERED": "1",
            "PETALS_IGNORE_DEPENDENCY_VERSION": "1",
        }
        if spec.is_local_model:
            env["HF_HUB_OFFLINE"] = "1"
        if spec.cuda_visible_devices is not None:
            # NVML numbers GPUs in PCI bus order; CUDA's default is fastest first: make them agree
            env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
            env["CUDA_VISIBLE_DEVICES"] = spec.cuda_visible_devices
        argv = [
            str(self.runtime_python),
            "-m",
            "farnode_desktop.mesh.serve",
            "--endpoint-file",
            str(workdir / ENDPOINT_FILE),
            "--",
            *spec.petals_args(workdir / IDENTITY_FILE),
        ]
        return LaunchCommand(argv=argv, cwd=workdir, env=minimal_env(env))


class WslBackend:
    """Windows: the same server inside FarNode's WSL2 distribution (design in the README; not run here).

    `wsl.exe` starts one Linux process; the supervisor's signals reach it through `wsl.exe --exec kill`, which
    the Windows process host implements. Paths are translated to /mnt/<drive>/... form.
    """

    name = "wsl2"

    def __init__(self, distribution: str = "FarNode", runtime_python: str = "/opt/farnode/runtime/bin/python",
                 mesh_source_root: str = "/opt/farnode/app") -> None:
        self.distribution = distribution
        self.runtime_python = runtime_python
        self.mesh_source_root = mesh_source_root

    @staticmethod
    def to_wsl_path(path: Path | str) -> str:
        text = str(path).replace("\\", "/")
        if len(text) >= 2 and text[1] == ":":
            return f"/mnt/{text[0].lower()}{text[2:]}"
        return text

    def command(self, spec: NodeSpec, workdir: Path) -> LaunchCommand:
        wsl_workdir = self.to_wsl_path(workdir)
        inner = [
            "env",
            f"PYTHONPATH={self.mesh_source_root}",
            "PETALS_IGNORE_DEPENDENCY_VERSION=1",
            *([f"CUDA_VISIBLE_DEVICES={spec.cuda_visible_devices}", "CUDA_DEVICE_ORDER=PCI_BUS_ID"]
              if spec.cuda_visible_devices else []),
            self.runtime_python,
            "-m",
            "farnode_desktop.mesh.serve",
            "--endpoint-file",
            f"{wsl_workdir}/{ENDPOINT_FILE}",
            "--",
            *spec.petals_args(Path(f"{wsl_workdir}/{IDENTITY_FILE}")),
        ]
        argv = ["wsl.exe", "-d", self.distribution, "--cd", wsl_workdir, "--exec", "sh", "-c",
                "exec " + shlex.join(inner)]
        return LaunchCommand(argv=argv, cwd=workdir, env=minimal_env({}, keep=("SYSTEMROOT", "PATH", "USERPROFILE")))
