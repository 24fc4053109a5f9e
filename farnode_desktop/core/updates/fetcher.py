"""The HTTP boundary of the update client: TUF's fetcher over stdlib http.client, each download bounded in time
(a server that drips is cut off) and never following a redirect."""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator

from tuf.api import exceptions
from tuf.ngclient.fetcher import FetcherInterface

CHUNK_BYTES = 64 * 1024
READ_TIMEOUT_S = 15.0
TOTAL_TIMEOUT_S = 120.0


class BoundedFetcher(FetcherInterface):
    """One GET per URL; the caller (TUF's updater) bounds the length, this bounds the time: `read_timeout_s` for
    any one read, `total_s` for the whole download, however slowly the bytes come."""

    def __init__(self, read_timeout_s: float = READ_TIMEOUT_S, total_s: float = TOTAL_TIMEOUT_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.read_timeout_s = read_timeout_s
        self.total_s = total_s
        self._monotonic = monotonic

    def _fetch(self, url: str) -> Iterator[bytes]:
        parts = urllib.parse.urlsplit(url)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=self.read_timeout_s,
                                               context=ssl.create_default_context())
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.read_timeout_s)
        else:
            raise exceptions.DownloadError(f"{url} is not an http(s) address")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", path, headers={"User-Agent": "FarNode-updater"})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise exceptions.DownloadError(f"the update server at {parts.netloc} cannot be reached ({exc})") from None
        if response.status != 200:
            conn.close()
            raise exceptions.DownloadHTTPError(f"the update server answered {response.status} for {parts.path}",
                                               response.status)
        return self._chunks(conn, response, url)

    def _chunks(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse,
                url: str) -> Iterator[bytes]:
        deadline = self._monotonic() + self.total_s
        try:
            while True:
                if self._monotonic() > deadline:
                    raise exceptions.SlowRetrievalError(
                        f"the update server sent {url} too slowly (over {self.total_s:g} s)")
                try:
                    chunk = response.read1(CHUNK_BYTES)
                except TimeoutError:
                    raise exceptions.SlowRetrievalError(
                        f"the update server stopped sending {url} for {self.read_timeout_s:g} s") from None
                except (OSError, http.client.HTTPException) as exc:
                    raise exceptions.DownloadError(f"the download of {url} broke off ({exc})") from None
                if not chunk:
                    if response.length:  # the server promised more bytes, then went away
                        raise exceptions.DownloadError(
                            f"the download of {url} broke off ({response.length:,} bytes missing)")
                    return
                yield chunk
        finally:
            conn.close()
