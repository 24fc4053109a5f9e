"""App releases in the signed targets: the newest bundle for this platform is chosen, installers and refused or
older versions never are, and an archive that reaches outside its folder is refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from tuf.api.metadata import TargetFile, Targets

from farnode_desktop.core.updates.app_layout import AppRoot
from farnode_desktop.core.updates.app_release import ReleaseRefused, app_releases, newest, stage_release


def targets(*entries: tuple[str, dict[str, object]]) -> Targets:
    listing = Targets()
    for name, app in entries:
        info = TargetFile.from_data(name, name.encode(), ["sha256"])
        info.unrecognized_fields["custom"] = {"app": app}
        listing.targets[name] = info
    return listing


def app(version: str, platform: str = "linux-x86_64", kind: str = "bundle", entry: str = "farnode") -> dict[str, object]:
    return {"version": version, "platform": platform, "kind": kind, "entry": entry}


def test_the_newest_bundle_for_this_platform() -> None:
    listing = targets(("app/l/a.tar.gz", app("0.2.0")), ("app/l/b.tar.gz", app("0.10.0")),
                      ("app/l/c.deb", app("0.11.0", kind="installer")), ("app/w/d.zip", app("0.12.0", "windows-x86_64")),
                      ("app/l/e.tar.gz", app("0.13.0", entry="../sh")), ("app/l/f.tar.gz", app("latest")),
                      ("catalog/models.json", app("9.0")))
    releases = app_releases(listing)
    assert sorted(r.version for r in releases) == ["0.10.0", "0.11.0", "0.12.0", "0.2.0"]
    best = newest(releases, "0.1.0", platform_name="linux-x86_64")
    assert best is not None and best.version == "0.10.0"
    assert newest(releases, "0.1.0", refused=["0.10.0"], platform_name="linux-x86_64").version == "0.2.0"  # type: ignore[union-attr]
    assert newest(releases, "0.10.0", platform_name="linux-x86_64") is None
    assert newest(releases, "0.1.0", platform_name="windows-x86_64").version == "0.12.0"  # type: ignore[union-attr]


def test_an_archive_reaching_outside_its_folder_is_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        evil = tarfile.TarInfo("../../outside.txt")
        evil.size = 4
        tf.addfile(evil, io.BytesIO(b"evil"))
    data = out.getvalue()
    listing = targets(("app/l/x.tar.gz", app("0.2.0")))
    release = app_releases(listing)[0]
    import hashlib
    from dataclasses import replace

    release = replace(release, length=len(data), sha256=hashlib.sha256(data).hexdigest())
    root = AppRoot(tmp_path / "app", "0.1.0")
    with pytest.raises(ReleaseRefused, match="not a plain folder"):
        stage_release(root, release, lambda: [data])
    assert not (tmp_path / "outside.txt").exists() and not list(root.versions.iterdir())
    assert root.read().staged is None
