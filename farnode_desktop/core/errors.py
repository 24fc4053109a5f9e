"""The app's error type: a plain-language message, what to do about it, and an exit code for the CLI."""

from __future__ import annotations


class FarNodeError(Exception):
    """An error a provider can read: `str(err)` says what went wrong, `hint` says what to do."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class UserInputError(FarNodeError):
    """Bad input from the provider (a model name, a VRAM value, a key)."""

    exit_code = 2
