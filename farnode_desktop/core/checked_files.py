"""Reading the files FarNode keeps under its home: each value checked against its declared type, and a damaged file
moved aside (never silently overwritten) with a plain sentence saying what was wrong."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

# the one bounded JSON reader, shared with mesh/ (which reads model folders with it)
from farnode_desktop.mesh.wire import MAX_JSON_DEPTH, JsonRefused, loads_bounded

__all__ = ["MAX_FILE_BYTES", "MAX_JSON_DEPTH", "RECURSION_LIMIT", "BadValue", "JsonRefused", "check_value",
           "checked_dataclass", "field_types", "loads_bounded", "printable", "read_json_object",
           "recursion_limit_kept", "set_aside", "shown"]

T = TypeVar("T")
MAX_FILE_BYTES = 1024 * 1024  # settings and state files are a few KiB


class BadValue(ValueError):
    """A value in a file is not of the kind its field declares."""


def shown(value: Any, limit: int = 40) -> str:
    """A value as a message may show it: repr (so control characters are escaped), cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def printable(text: str) -> str:
    """`text` safe for a terminal or a log line: control, format and bidi characters shown as escapes."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _kind(tp: Any) -> str:
    if tp in _KINDS:
        return _KINDS[tp]
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "a JSON object"
    if origin in (typing.Union, types.UnionType):
        return " or ".join("empty (null)" if a is type(None) else _kind(a) for a in typing.get_args(tp))
    return str(tp)


def check_value(value: Any, tp: Any) -> Any:
    """`value` as type `tp` (a whole float becomes an int, an int a float); BadValue says why it cannot be."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            if option is type(None):
                if value is None:
                    return None
                continue
            with contextlib.suppress(BadValue):
                return check_value(value, option)
        raise BadValue(f"{shown(value)} is not {_kind(tp)}")
    if tp is bool:
        if type(value) is bool:
            return value
    elif tp is int:
        if type(value) is int:
            return value
        if type(value) is float and math.isfinite(value) and value.is_integer():
            return int(value)
    elif tp is float:
        if type(value) in (int, float) and math.isfinite(value):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is list:
        if isinstance(value, list):
            (item,) = typing.get_args(tp) or (Any,)
            return [check_value(v, item) for v in value]
    elif origin is dict:
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            _, item = typing.get_args(tp) or (str, Any)
            return {k: check_value(v, item) for k, v in value.items()}
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, dict):
            return checked_dataclass(tp, value)
    else:  # pragma: no cover - a field type this reader does not know yet
        raise TypeError(f"no check for {tp!r}")
    raise BadValue(f"{shown(value)} is not {_kind(tp)}")


def field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def checked_dataclass(cls: type[T], raw: dict[str, Any]) -> T:
    """`cls` built from `raw` with every known field type-checked (unknown keys ignored); BadValue names the field."""
    values = {}
    for name, tp in field_types(cls).items():
        if name in raw:
            try:
                values[name] = check_value(raw[name], tp)
            except BadValue as exc:
                raise BadValue(f"{name}: {exc}") from None
    return cls(**values)


RECURSION_LIMIT = 1000  # Python's own default: deep recursion raises RecursionError long before the C stack ends


@contextlib.contextmanager
def recursion_limit_kept() -> Iterator[None]:
    """Import the Ethereum libraries under this: on import py_ecc (under eth-account) raises Python's recursion limit
    to 100,000 and py-evm (under the devnet's eth-tester) to 12,288, where a recursive parser or a runaway recursion
    overflows the C stack (a crash, no traceback). The limit is put back to at most Python's default after."""
    before = sys.getrecursionlimit()
    try:
        yield
    finally:
        sys.setrecursionlimit(min(before, RECURSION_LIMIT))


def read_json_object(path: Path, max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """The JSON object in `path`, read at most `max_bytes`; OSError if it cannot be read, ValueError if not JSON."""
    if not path.is_file():
        raise ValueError("it is not a file" if path.exists() else "it does not exist")
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError(f"it is larger than {max_bytes // 1024} KiB")
    try:
        body = loads_bounded(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("it is not text") from None
    except JsonRefused as exc:
        raise ValueError(str(exc)) from None
    except ValueError as exc:
        raise ValueError(f"it is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ValueError("it is not a JSON object")
    return body


def set_aside(path: Path) -> Path | None:
    """Move a damaged file (or folder) to `<name>.bad-<time>` next to it; None if even that failed."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.bad-{stamp}-{n}")
    try:
        path.replace(aside)
    except OSError:
        return None
    return aside
