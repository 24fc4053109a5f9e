"""The update channel: the shipped development anchor (no server), the installation's own override, and plain
refusals of an address or anchor that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata

from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.channel import ChannelError, load_channel, set_override, shipped_dir


def test_the_shipped_anchor_is_a_root_with_no_update_server(tmp_path: Path) -> None:
    channel = load_channel(AppPaths.under(tmp_path))
    assert channel.url is None and channel.source == shipped_dir()
    root = Metadata.from_bytes(channel.trusted_root).signed
    assert root.version == 1 and root.consistent_snapshot and set(root.roles) == {
        "root", "targets", "snapshot", "timestamp"}
    assert not any(shipped_dir().parent.rglob("*.pem"))  # the development root's private keys are not shipped


def test_the_installation_override_wins_and_only_a_local_file_sets_it(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path)
    set_override(paths, "http://127.0.0.1:8899/", b'{"signed": {}}')
    channel = load_channel(paths)
    assert channel.url == "http://127.0.0.1:8899/" and channel.trusted_root == b'{"signed": {}}'
    assert channel.metadata_url == "http://127.0.0.1:8899/metadata/"
    assert channel.targets_url == "http://127.0.0.1:8899/targets/"


@pytest.mark.parametrize(("url", "words"), [("http://updates.example.org/", "plain http to another machine"),
                                            ("ftp://x/", r"not an http\(s\) address"), (7, r"not an http\(s\) address")])
def test_an_address_that_cannot_be_used_is_refused(tmp_path: Path, url: object, words: str) -> None:
    paths = AppPaths.under(tmp_path)
    folder = paths.config / "update"
    folder.mkdir(parents=True)
    (folder / "root.json").write_bytes(b"{}")
    (folder / "channel.json").write_text(json.dumps({"url": url}))
    with pytest.raises(ChannelError, match=words):
        load_channel(paths)


def test_an_unreadable_channel_is_a_plain_error(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path)
    (paths.config / "update").mkdir(parents=True)
    (paths.config / "update" / "root.json").write_bytes(b"{}")
    with pytest.raises(ChannelError, match="cannot be read: it does not exist"):
        load_channel(paths)
    (paths.config / "update" / "channel.json").write_text("{}")
    (paths.config / "update" / "root.json").write_bytes(b" " * 600_000)
    with pytest.raises(ChannelError, match="larger than any root metadata"):
        load_channel(paths)
