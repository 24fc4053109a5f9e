"""The rollback field newer Petals clients send (`start_from_position`): what length it sets, what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from farnode_desktop.mesh.models.protocol import START_FROM_POSITION, rollback_position


@pytest.mark.parametrize(("metadata", "length", "expected"), [
    ({}, 12, 12),
    ({START_FROM_POSITION: 8}, 12, 8),
    ({START_FROM_POSITION: 12}, 12, 12),
    ({START_FROM_POSITION: 0}, 12, 0),
])
def test_start_from_position_sets_the_session_length(metadata: dict[str, Any], length: int, expected: int) -> None:
    assert rollback_position(metadata, length) == expected


@pytest.mark.parametrize("bad", [13, -1, "3", 2.0, True])
def test_start_from_position_beyond_the_session_or_not_a_number_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="start_from_position must be a whole number from 0 to the session's length"):
        rollback_position({START_FROM_POSITION: bad}, 12)
