"""The inference-step metadata of current Petals clients that Petals 2.2 lacks (standard library only)."""

from __future__ import annotations

from typing import Any

START_FROM_POSITION = "start_from_position"  # roll the session back to this many tokens before the step


def rollback_position(step_metadata: dict[str, Any], prefix_length: int) -> int:
    """The session's length after this step's rollback: `start_from_position` when given (0..prefix_length)."""
    position = step_metadata.get(START_FROM_POSITION)
    if position is None:
        return prefix_length
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= prefix_length:
        raise ValueError(f"start_from_position must be a whole number from 0 to the session's length "
                         f"{prefix_length}, got {position!r}")
    return position
