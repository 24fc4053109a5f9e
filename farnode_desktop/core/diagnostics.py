"""Diagnostics export: logs, settings and system facts in one zip, redacted so no key and no full wallet address
leaves the PC (addresses keep their first 6 and last 4 characters)."""

from __future__ import annotations

import json
import platform
import re
import sys
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farnode_desktop import __version__
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.paths import AppPaths

MAX_LOG_BYTES = 2_000_000  # per file: the newest part of a big log is what helps
# 64 hex digits: a private key (or a transaction hash; both are blanked, a key cannot be told apart).
_KEY = re.compile(r"(?<![0-9A-Za-z])(0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_ADDRESS = re.compile(r"(?<![0-9A-Za-z])(0x)?([0-9a-fA-F]{40})(?![0-9A-Za-z])")
_SECRET_FIELD = re.compile(r"(?i)((?:private[_ -]?key|mnemonic|seed|recovery[_ -]?phrase|password|token|secret)"
                           r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)")
_WORD = re.compile(r"[a-z]+")


def _short(match: re.Match[str]) -> str:
    prefix, digits = match.group(1) or "", match.group(2)
    whole = prefix + digits
    return f"{whole[:6]}…{whole[-4:]}"


def _bip39_words() -> frozenset[str]:
    try:
        from mnemonic import Mnemonic

        return frozenset(Mnemonic("english").wordlist)
    except Exception:  # the word list is a nicety on top of the other rules
        return frozenset()


_WORDS = _bip39_words()


def _redact_phrases(text: str, min_run: int = 12) -> str:
    """A run of 12 or more BIP-39 words in a row is a recovery phrase: blank it."""
    if not _WORDS:
        return text
    tokens = re.split(r"(\s+)", text)
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        words = [t for t in run if t.strip()]
        if len(words) >= min_run:
            out.append("[recovery phrase removed]")
            if run and not run[-1].strip():
                out.append(run[-1])
        else:
            out.extend(run)
        run.clear()

    for token in tokens:
        if not token.strip():
            run.append(token) if run else out.append(token)
        elif _WORD.fullmatch(token) and token in _WORDS:
            run.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return "".join(out)


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Blank keys, secret-looking fields and recovery phrases; shorten addresses to first 6 + last 4."""
    for secret in extra_secrets:
        if secret and len(secret) >= 8:
            text = re.sub(re.escape(secret), "[removed]", text, flags=re.IGNORECASE)
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + "[removed]", text)
    text = _KEY.sub("[64 hex digits removed]", text)
    text = _ADDRESS.sub(_short, text)
    return _redact_phrases(text)


@dataclass
class DiagnosticsReport:
    """Where the zip went and what it holds."""

    path: Path
    files: list[str] = field(default_factory=list)


def _tail(path: Path, limit: int = MAX_LOG_BYTES) -> str:
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size > limit:
            fh.seek(size - limit)
        return fh.read().decode("utf-8", "replace")


def system_facts() -> dict[str, Any]:
    return {
        "farnode": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def export_diagnostics(paths: AppPaths, target: Path, *, extra: dict[str, Any] | None = None,
                       secrets: Iterable[str] = ()) -> DiagnosticsReport:
    """Write a redacted zip to `target`: every log, the settings, system facts and `extra` (statuses, GPUs)."""
    report = DiagnosticsReport(target)
    kept = list(secrets)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            def add(name: str, text: str) -> None:
                zf.writestr(name, redact(text, kept))
                report.files.append(name)

            logs = sorted(paths.logs.glob("*.log*")) if paths.logs.exists() else []
            for log in logs:
                if log.is_file():
                    add(f"logs/{log.name}", _tail(log))
            if paths.config_file.exists():
                add("settings.json", paths.config_file.read_text(encoding="utf-8", errors="replace"))
            add("system.json", json.dumps(system_facts(), indent=2))
            for key, value in (extra or {}).items():
                add(f"{key}.json", json.dumps(value, indent=2, default=str))
    except OSError as exc:
        raise FarNodeError(f"could not write the diagnostics file {target}: {exc}",
                           hint="choose a folder you can write to, such as your Desktop") from None
    return report
