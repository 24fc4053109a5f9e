"""Diagnostics: no key, recovery phrase or full wallet address leaves the PC; addresses keep 6 + 4 characters."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from farnode_desktop.core.diagnostics import export_diagnostics, redact
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.paths import AppPaths
from tests.core.earnings.test_wallet import PHRASE, PHRASE_ADDRESS, PHRASE_KEY


def test_redact_keys_phrases_addresses_and_secret_fields() -> None:
    text = (f"bound peer to {PHRASE_ADDRESS}; key={PHRASE_KEY}\nraw {PHRASE_KEY[2:].upper()}\n"
            f"phrase: {PHRASE}\n{{\"password\": \"hunter22\", \"token\": \"abc.def\"}}\nlower {PHRASE_ADDRESS.lower()}")
    out = redact(text)
    assert PHRASE_KEY[2:].lower() not in out.lower()
    assert PHRASE_ADDRESS.lower() not in out.lower()
    assert f"{PHRASE_ADDRESS[:6]}…{PHRASE_ADDRESS[-4:]}" in out
    assert PHRASE.split()[3] not in out.split() and "[recovery phrase removed]" in out
    assert "hunter22" not in out and "abc.def" not in out
    assert redact("served 1200 tokens on blocks 0-8 at 12:00") == "served 1200 tokens on blocks 0-8 at 12:00"
    assert redact("a few words like abandon ability able") == "a few words like abandon ability able"


def test_export_zips_redacted_logs_settings_and_facts(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home").ensure()
    (paths.logs / "app.log").write_text(f"INFO wallet {PHRASE_ADDRESS} ready\nDEBUG key {PHRASE_KEY}\n")
    (paths.logs / "node-gpu0.log").write_text("serving blocks 0-8\n")
    paths.config_file.write_text(json.dumps({"coordinator_url": "http://127.0.0.1:8787", "model": "x"}))
    target = tmp_path / "out" / "diag.zip"
    report = export_diagnostics(paths, target, extra={"nodes": [{"name": "gpu0", "wallet": PHRASE_ADDRESS}]})
    assert sorted(report.files) == ["logs/app.log", "logs/node-gpu0.log", "nodes.json", "settings.json",
                                    "system.json"]
    with zipfile.ZipFile(target) as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist()).decode()
        assert "serving blocks 0-8" in zf.read("logs/node-gpu0.log").decode()
    assert PHRASE_KEY[2:] not in blob and PHRASE_ADDRESS not in blob
    assert blob.count(f"{PHRASE_ADDRESS[:6]}…{PHRASE_ADDRESS[-4:]}") == 2


def test_an_unwritable_target_is_a_plain_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(FarNodeError, match="could not write the diagnostics file"):
        export_diagnostics(AppPaths.under(tmp_path / "h").ensure(), tmp_path / "file" / "d.zip")
