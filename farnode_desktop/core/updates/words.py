"""What an update tells the provider: TUF's errors in plain words, each ending in what stayed, and counts."""

from __future__ import annotations

import errno

from tuf.api import exceptions

KEPT = "nothing installed was changed"


def packages(n: int) -> str:
    """`1 package`, `3 packages`."""
    return f"{n} package" if n == 1 else f"{n} packages"


def plain_reason(exc: BaseException) -> str:
    """One sentence for the provider; the threat TUF stopped is named in the provider's words."""
    detail = str(exc)
    if isinstance(exc, exceptions.ExpiredMetadataError):
        return f"the update server's signed metadata has expired (it may be frozen or replaying old data); {KEPT}"
    if isinstance(exc, exceptions.BadVersionNumberError):
        return (f"the update server offered metadata of the wrong version (older than this PC already trusts, or from "
                f"another release: a rollback or a mix of releases); {KEPT}")
    if isinstance(exc, exceptions.UnsignedMetadataError):
        return (f"the update server's metadata is not signed by enough of the keys this installation trusts; "
                f"{KEPT}")
    if isinstance(exc, exceptions.LengthOrHashMismatchError):
        return f"a file from the update server does not match its signed length or hash; {KEPT}"
    if isinstance(exc, exceptions.DownloadLengthMismatchError):
        return f"the update server sent more data than its signed metadata allows; {KEPT}"
    if isinstance(exc, exceptions.SlowRetrievalError):
        return f"{detail}; {KEPT}"
    if isinstance(exc, exceptions.DownloadHTTPError):
        return f"{detail}; {KEPT}"
    if isinstance(exc, exceptions.DownloadError):
        cause = exc.__cause__
        return f"{detail}{f' ({cause})' if cause else ''}; {KEPT}"
    if isinstance(exc, exceptions.RepositoryError):
        return f"the update server's metadata is not valid ({detail}); {KEPT}"
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "the disk is full, so the verified update could not be written; the previous files stay"
        return f"the update could not be written ({exc.strerror or exc}); the previous files stay"
    return detail if KEPT in detail or "nothing was installed" in detail else f"{detail}; {KEPT}"
