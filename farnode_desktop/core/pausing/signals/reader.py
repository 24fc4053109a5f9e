"""What a games-first signal reader is: a named, callable reading, declared once so that none can go unwired."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

T_co = TypeVar("T_co", covariant=True)  # a reader of ints is a reader of ints or None

DECLARED: dict[str, str] = {}  # every reader kind there is -> what it reads, in words (filled as modules load)


class Reader(Generic[T_co]):
    """One signal, read when called; a reading it cannot make is None (unknown), never an exception."""

    kind: ClassVar[str] = ""
    what: ClassVar[str] = ""  # in the provider's words: "the X11 screen saver extension"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind") and cls.__dict__.get("what"):
            DECLARED[cls.kind] = cls.what

    def __call__(self) -> T_co:
        raise NotImplementedError

    def parts(self) -> tuple[Reader[Any], ...]:
        """The readers this one consists of (itself, or a combination's members)."""
        return (self,)

    def close(self) -> None:
        """Let go of what the reader holds (an X connection, a bus socket); a later call opens it again."""


class Unknown(Reader[None]):
    """No reader for this signal on this desktop: the reading stays unknown."""

    kind = "unknown"

    def __call__(self) -> None:
        return None

    def parts(self) -> tuple[Reader[Any], ...]:
        return ()


class FirstAnswer(Reader[T_co | None]):
    """Several readers of one signal: the first that answers wins (a desktop offers one or two of them)."""

    kind = "first-answer"

    def __init__(self, readers: Iterable[Reader[T_co | None]]) -> None:
        self.readers = tuple(readers)
        self.answered: Reader[T_co | None] | None = None  # the one that last answered

    def __call__(self) -> T_co | None:
        for reader in self.readers:
            value = reader()
            if value is not None:
                self.answered = reader
                return value
        self.answered = None
        return None

    def parts(self) -> tuple[Reader[Any], ...]:
        return tuple(p for r in self.readers for p in r.parts())

    def close(self) -> None:
        for reader in self.readers:
            reader.close()


def kinds(readers: Iterable[Reader[Any]]) -> frozenset[str]:
    """The declared kinds inside these readers (combinations opened, "unknown" left out)."""
    return frozenset(p.kind for r in readers for p in r.parts())
