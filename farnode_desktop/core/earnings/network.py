"""The networks this installation pays on: per chain, the FAR token and payout contract it trusts, read from the
signed network manifest the update channel verified (core/updates), else the one shipped with the app (and, for a
devnet on this PC only, a local manifest), never from a coordinator."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import read_json_object, shown
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.paths import AppPaths

FORMAT = "farnode-network-manifest"
VERSION = 1
SHIPPED_MANIFEST = ("resources", "network", "manifest.json")
LOCAL_MANIFEST = "network-manifest.json"  # in the config folder: pins the contracts of a devnet on this PC only
MAX_MANIFEST_BYTES = 256 * 1024
MAX_NETWORKS = 64
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_KEYS = frozenset({"chain_id", "name", "rpc_url", "coordinator_url", "token", "payout_contract", "local", "fees",
                   "min_app_version"})
_FEE_KEYS = frozenset({"payout_bps"})
# The most a manifest may say the network keeps of a payout: 20 % (2000 basis points). More is a typo or not a
# network FarNode should show as ordinary; the whole manifest is then refused and the installation's pins stay.
MAX_FEE_BPS = 2000
_APP_VERSION = re.compile(r"\d{1,4}(\.\d{1,4}){0,3}")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ManifestError(FarNodeError):
    """A network manifest that cannot be used: every chain it would pin stays unpinned."""


class NotPinned(FarNodeError):
    """This installation pins no FAR token or payout contract for a chain: nothing is signed or confirmed there."""


@dataclass(frozen=True)
class PinnedNetwork:
    """One chain as the installation knows it: the only token FarNode accepts payouts in, and the only contract
    its signatures may name. `token` / `payout_contract` are None where the shipped manifest pins none (a devnet
    deploys fresh contracts each run; its own local manifest pins them)."""

    chain_id: int
    name: str
    rpc_url: str
    coordinator_url: str
    token: str | None
    payout_contract: str | None
    local: bool = False  # a devnet on this PC: only such a chain may be pinned by the local manifest
    # What the network keeps of a payout, in basis points (250 = 2.5 %); None: the manifest states none (a manifest
    # from before this field), and then only the coordinator's per-claim fee, shown with each quote, applies.
    fee_bps: int | None = None
    # The oldest FarNode that may claim on this chain; None: any. An older FarNode warns and refuses new claims.
    min_app_version: str | None = None

    @property
    def pinned(self) -> bool:
        return self.token is not None and self.payout_contract is not None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"chain_id": self.chain_id, "name": self.name, "rpc_url": self.rpc_url,
                               "coordinator_url": self.coordinator_url, "token": self.token,
                               "payout_contract": self.payout_contract, "local": self.local}
        if self.fee_bps is not None:
            out["fees"] = {"payout_bps": self.fee_bps}
        if self.min_app_version is not None:
            out["min_app_version"] = self.min_app_version
        return out

    @property
    def fee_text(self) -> str:
        """The network's share in words, e.g. "2.5 % of each payout"; empty when the manifest states none."""
        if self.fee_bps is None:
            return ""
        return f"{self.fee_bps / 100:g} % of each payout"

    def too_old(self, app_version: str) -> str | None:
        """Plain words when `app_version` is older than this chain asks for (None: it may claim)."""
        if self.min_app_version is None or _version(app_version) >= _version(self.min_app_version):
            return None
        return (f"this FarNode is version {app_version}, older than version {self.min_app_version} that "
                f"{self.name} (chain {self.chain_id}) asks for: update FarNode to keep claiming")


@dataclass(frozen=True)
class PinnedNetworks:
    """Every chain the installation knows, and what was wrong with a manifest it could not use (plain words)."""

    networks: tuple[PinnedNetwork, ...]
    problems: tuple[str, ...] = ()

    def get(self, chain_id: int) -> PinnedNetwork | None:
        return next((n for n in self.networks if n.chain_id == chain_id), None)

    def require(self, chain_id: int) -> PinnedNetwork:
        """The chain's pinned token and payout contract; NotPinned when this installation holds none."""
        network = self.get(chain_id)
        if network is None or not network.pinned:
            known = ", ".join(str(n.chain_id) for n in self.networks if n.pinned) or "none"
            extra = f" ({'; '.join(self.problems)})" if self.problems else ""
            raise NotPinned(
                f"this installation pins no FAR token for chain {chain_id} (pinned chains: {known}){extra}; "
                "FarNode signs and confirms nothing there",
                hint="point the chain RPC and chain id in Settings at the payout network FarNode ships with, or "
                     "update FarNode",
            )
        return network

    def too_old(self, app_version: str, chain_id: int | None = None) -> list[str]:
        """Plain warnings for each chain (or only `chain_id`'s) whose manifest asks for a newer FarNode."""
        chosen = self.networks if chain_id is None else tuple(n for n in self.networks if n.chain_id == chain_id)
        return [why for n in chosen if (why := n.too_old(app_version)) is not None]

    def preferred(self, chain_id: int | None) -> PinnedNetwork | None:
        """The network for `chain_id`, or (None) the first pinned one, else the first known."""
        if chain_id is not None:
            return self.get(chain_id)
        return next((n for n in self.networks if n.pinned), self.networks[0] if self.networks else None)


def _is_loopback_url(url: str) -> bool:
    try:
        return (urllib.parse.urlsplit(url).hostname or "") in _LOOPBACK_HOSTS
    except ValueError:  # a malformed port or bracket
        return False


def _address(entry: dict[str, Any], name: str, where: str) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value) or int(value, 16) == 0:
        raise ManifestError(f"{where}: {name} is {shown(value)}, not a contract address")
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(value))


def _url(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or len(value) > 2048:
        raise ManifestError(f"{where}: {name} is {shown(value)}, not an http(s) address")
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise ManifestError(f"{where}: {name} is {shown(value)}, not an http(s) address")
    if parts.scheme == "http" and not _is_loopback_url(value):
        raise ManifestError(f"{where}: {name} {shown(value)} is plain http to another machine")
    return str(value)


def _version(text: str) -> tuple[int, ...]:
    """`0.1.0` -> (0, 1, 0), padded so that 1.2 equals 1.2.0; anything after the numbers (`rc1`, `+local`) ends them."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", re.split(r"[^\d.]", text, maxsplit=1)[0]))
    return numbers + (0,) * (4 - len(numbers))


def _fees(entry: dict[str, Any], where: str) -> int | None:
    fees = entry.get("fees")
    if fees is None:
        return None
    if not isinstance(fees, dict) or set(fees) != _FEE_KEYS:
        raise ManifestError(f"{where}: fees is {shown(fees)}, not {{\"payout_bps\": a whole number}}")
    bps = fees["payout_bps"]
    if type(bps) is not int or not 0 <= bps <= MAX_FEE_BPS:
        raise ManifestError(f"{where}: fees.payout_bps is {shown(bps)}, not a whole number of basis points from 0 "
                            f"to {MAX_FEE_BPS} ({MAX_FEE_BPS / 100:g} %)")
    return bps


def _min_app_version(entry: dict[str, Any], where: str) -> str | None:
    value = entry.get("min_app_version")
    if value is None:
        return None
    if not isinstance(value, str) or not _APP_VERSION.fullmatch(value):
        raise ManifestError(f"{where}: min_app_version is {shown(value)}, not a version like 0.2.0")
    return value


def _network(entry: object, where: str) -> PinnedNetwork:
    if not isinstance(entry, dict):
        raise ManifestError(f"{where} is not a JSON object")
    unknown = sorted(str(k) for k in entry if k not in _KEYS)
    if unknown:
        raise ManifestError(f"{where} has fields this version does not know: {shown(', '.join(unknown))}")
    chain_id = entry.get("chain_id")
    if type(chain_id) is not int or not 1 <= chain_id <= 2**53 - 1:
        raise ManifestError(f"{where}: chain_id is {shown(chain_id)}, not a chain id")
    name, local = entry.get("name"), entry.get("local", False)
    if not isinstance(name, str) or not 0 < len(name) <= 80 or not name.isprintable():
        raise ManifestError(f"{where}: name is {shown(name)}, not a short name")
    if type(local) is not bool:
        raise ManifestError(f"{where}: local is {shown(local)}, not true or false")
    token = _address(entry, "token", where)
    contract = _address(entry, "payout_contract", where)
    if (token is None) != (contract is None):
        raise ManifestError(f"{where} pins only one of token and payout_contract")
    return PinnedNetwork(chain_id, name, _url(entry, "rpc_url", where), _url(entry, "coordinator_url", where),
                         token, contract, local, _fees(entry, where), _min_app_version(entry, where))


def parse_manifest(raw: object, source: str) -> tuple[PinnedNetwork, ...]:
    """A manifest's networks, every field checked; ManifestError names the first field that is wrong."""
    if not isinstance(raw, dict):
        raise ManifestError(f"the network manifest {source} is not a JSON object")
    if raw.get("format") != FORMAT:
        raise ManifestError(f"{source} is not a FarNode network manifest (format {shown(raw.get('format'))})")
    version = raw.get("version")
    if version != VERSION or type(version) is not int:
        raise ManifestError(f"the network manifest {source} has version {shown(version)}; this FarNode reads "
                            f"version {VERSION}", hint="update FarNode")
    entries = raw.get("networks")
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_NETWORKS:
        raise ManifestError(f"the network manifest {source} lists no networks (or more than {MAX_NETWORKS})")
    networks = tuple(_network(e, f"{source}, network {i + 1}") for i, e in enumerate(entries))
    ids = [n.chain_id for n in networks]
    if len(set(ids)) != len(ids):
        raise ManifestError(f"the network manifest {source} names a chain twice")
    return networks


def read_manifest(path: Path) -> tuple[PinnedNetwork, ...]:
    try:
        raw = read_json_object(path, MAX_MANIFEST_BYTES)
    except (OSError, ValueError) as exc:
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ManifestError(f"the network manifest {path} cannot be read: {text}") from None
    return parse_manifest(raw, str(path))


def shipped_manifest_path() -> Path:
    """resources/network/manifest.json in a source checkout or a frozen build's bundle."""
    here = Path(__file__).resolve()
    for base in (here.parents[3], here.parents[2]):
        candidate = base.joinpath(*SHIPPED_MANIFEST)
        if candidate.exists():
            return candidate
    return here.parents[3].joinpath(*SHIPPED_MANIFEST)


def verified_manifest_path(paths: AppPaths) -> Path:
    """Where the update client installs the network manifest it verified against the installation's root."""
    return paths.data / "updates" / "verified" / "network-manifest.json"


def local_manifest_path(paths: AppPaths) -> Path:
    return paths.config / LOCAL_MANIFEST


def _merge_local(shipped: tuple[PinnedNetwork, ...], local: Iterable[PinnedNetwork], source: Path) -> tuple[
        tuple[PinnedNetwork, ...], list[str]]:
    """The local manifest may pin the contracts of a devnet on this PC and nothing else: a chain the shipped
    manifest marks local, reached on loopback. Anything else in it is refused and said."""
    merged, problems = {n.chain_id: n for n in shipped}, []
    for entry in local:
        base = merged.get(entry.chain_id)
        if base is None or not base.local:
            problems.append(f"{source} tries to pin chain {entry.chain_id}, which is not a devnet on this PC; ignored")
        elif not (_is_loopback_url(entry.rpc_url) and _is_loopback_url(entry.coordinator_url)):
            problems.append(f"{source} pins devnet chain {entry.chain_id} off this PC; ignored")
        else:
            merged[entry.chain_id] = PinnedNetwork(entry.chain_id, entry.name, entry.rpc_url, entry.coordinator_url,
                                                   entry.token, entry.payout_contract, True, base.fee_bps,
                                                   base.min_app_version)  # fees and versions: the shipped word
    return tuple(merged.values()), problems


def installation_networks(paths: AppPaths | None = None, shipped: Path | None = None) -> PinnedNetworks:
    """What this installation pins: the verified signed manifest under `paths` (else the shipped one), plus a
    devnet's local manifest.

    Never raises: an unusable manifest pins nothing and says why in `problems` (signing then refuses plainly);
    a verified manifest that cannot be read falls back to the shipped one, and says so.
    """
    problems: list[str] = []
    paths = paths or AppPaths.default()
    networks: tuple[PinnedNetwork, ...] | None = None
    verified = verified_manifest_path(paths)
    if shipped is None and (verified.exists() or verified.is_symlink()):
        try:
            networks = read_manifest(verified)
        except ManifestError as exc:
            problems.append(f"{exc}; using the manifest FarNode shipped with")
    if networks is None:
        try:
            networks = read_manifest(shipped or shipped_manifest_path())
        except ManifestError as exc:
            return PinnedNetworks((), (*problems, str(exc)))
    local_path = local_manifest_path(paths)
    if local_path.exists() or local_path.is_symlink():
        try:
            networks, merge_problems = _merge_local(networks, read_manifest(local_path), local_path)
            problems += merge_problems
        except ManifestError as exc:
            problems.append(str(exc))
    return PinnedNetworks(networks, tuple(problems))


def coordinator_url(configured: str, default: str, networks: PinnedNetworks, chain_id: int | None) -> str:
    """The coordinator the provider set; left at its default, the one the installation's manifest names for the
    chain (the verified signed manifest once the update channel has installed one)."""
    if configured != default:
        return configured
    network = networks.preferred(chain_id)
    return network.coordinator_url if network is not None else configured


def manifest_json(networks: Iterable[PinnedNetwork]) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "networks": [n.as_json() for n in networks]}


def pin_local_devnet(paths: AppPaths, network: PinnedNetwork) -> Path:
    """Write the local manifest that pins a devnet's fresh contracts (the demo and `farnode devnet` do, in their
    own folder); the installation's side of the pin, never a coordinator's reply."""
    path = local_manifest_path(paths)
    write_atomic(path, json.dumps(manifest_json([network]), indent=2) + "\n", mode=0o644)
    return path
