"""Each refusal TUF raises reads as one plain sentence that names what stayed."""

from __future__ import annotations

import errno

import pytest
from tuf.api import exceptions

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.updates.words import plain_reason


@pytest.mark.parametrize(("exc", "words"), [
    (exceptions.ExpiredMetadataError("timestamp.json is expired"), "has expired"),
    (exceptions.BadVersionNumberError("x"), "a rollback"),
    (exceptions.UnsignedMetadataError("x"), "not signed by enough of the keys"),
    (exceptions.LengthOrHashMismatchError("x"), "signed length or hash"),
    (exceptions.DownloadLengthMismatchError("x"), "more data than its signed metadata allows"),
    (exceptions.RepositoryError("odd"), "not valid (odd)"),
    (FarNodeError("the signed catalog is not JSON"), "the signed catalog is not JSON; nothing installed"),
])
def test_refusals_in_plain_words(exc: Exception, words: str) -> None:
    text = plain_reason(exc)
    assert words in text and "nothing installed was changed" in text


def test_disk_errors_keep_the_previous_files() -> None:
    assert plain_reason(OSError(errno.ENOSPC, "No space left on device")).startswith("the disk is full")
    assert "Permission denied" in plain_reason(OSError(errno.EACCES, "Permission denied"))


def test_a_count_of_packages_reads_singular_or_plural() -> None:
    from farnode_desktop.core.updates.words import packages

    assert (packages(0), packages(1), packages(2)) == ("0 packages", "1 package", "2 packages")
