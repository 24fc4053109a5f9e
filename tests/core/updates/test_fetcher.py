"""The bounded fetcher on real loopback HTTP: a whole file arrives, an error status and a non-http address are
TUF download errors, a dripping server is cut off at the total time."""

from __future__ import annotations

from pathlib import Path

import pytest
from tuf.api import exceptions

from farnode_desktop.core.updates.fetcher import BoundedFetcher
from tests.core.updates.update_server import serve


def test_fetches_whole_files_and_refuses_what_it_must(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"x" * 200_000)
    (tmp_path / "slow.bin").write_bytes(b"y" * 100)
    fetcher = BoundedFetcher(read_timeout_s=5, total_s=0.5)
    with serve(tmp_path) as (url, faults):
        assert b"".join(fetcher.fetch(f"{url}/a.bin")) == b"x" * 200_000
        with pytest.raises(exceptions.DownloadHTTPError, match="answered 404"):
            b"".join(fetcher.fetch(f"{url}/missing.bin"))
        faults.drip.add("/slow.bin")
        with pytest.raises(exceptions.SlowRetrievalError, match="too slowly"):
            b"".join(fetcher.fetch(f"{url}/slow.bin"))
        faults.cut.add("/a.bin")
        with pytest.raises(exceptions.DownloadError, match="broke off"):
            b"".join(fetcher.fetch(f"{url}/a.bin"))
    with pytest.raises(exceptions.DownloadError, match="not an http"):
        fetcher.fetch("file:///etc/passwd")
    with pytest.raises(exceptions.DownloadError, match="cannot be reached"):
        fetcher.fetch("http://127.0.0.1:9/x")
