"""The one bounded JSON reader (checked_files.loads_bounded, shared with mesh/) and the recursion limit: deep nesting is
refused with a plain reason whatever the limit is, the Ethereum libraries' import leaves Python's default limit in
place, and a model folder whose config.json is 100,000 brackets is refused at launch instead of crashing the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from farnode_desktop.core.checked_files import (
    MAX_JSON_DEPTH,
    RECURSION_LIMIT,
    JsonRefused,
    loads_bounded,
    read_json_object,
    recursion_limit_kept,
)


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def test_nesting_up_to_the_limit_is_read_and_one_level_more_is_refused() -> None:
    assert loads_bounded(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))
    with pytest.raises(JsonRefused, match="nested deeper than 64 levels"):
        loads_bounded(nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(JsonRefused, match="nested deeper than 3 levels"):
        loads_bounded('{"a": [{"b": []}]}', max_depth=3)


@pytest.mark.parametrize("text", [
    '["[[[[", "]]]]", "\\"[[[["]',  # brackets inside strings, one after an escaped quote, do not count
    '{"a\\\\": "[[[[[[", "b": {"c": [1, 2, {"d": "}}}}"}]}}',  # an escaped backslash ends before the quote
    "[" + "[" * 39 + "]" * 39 + "," + "[" * 39 + "]" * 39 + "]",  # many brackets, never deeper than 40
])
def test_brackets_in_strings_and_side_by_side_are_not_depth(text: str) -> None:
    assert loads_bounded(text, max_depth=40) == json.loads(text)


@pytest.mark.parametrize("text", [
    "[" * 100_000,  # never closed: the C parser would still recurse 100,000 levels before failing
    "[" * 70 + '"' + '\\"' * 10_000,  # an unterminated string of escaped quotes inside deep brackets
    '{"a":' * 100 + "1" + "}" * 100,
])
def test_deep_or_broken_shapes_are_refused_as_too_deep(text: str) -> None:
    with pytest.raises(JsonRefused, match="nested deeper"):
        loads_bounded(text)


def test_too_many_lists_and_objects_are_refused_before_parsing() -> None:
    with pytest.raises(JsonRefused, match="more than 100 lists and objects"):
        loads_bounded("[" + ",".join(["[]"] * 101) + "]", max_containers=100)
    assert loads_bounded("[" + ",".join(["[]"] * 99) + "]", max_containers=100) == [[]] * 99


def test_a_lone_surrogate_escape_is_refused_and_a_pair_is_read() -> None:
    with pytest.raises(JsonRefused, match="not Unicode"):
        loads_bounded('{"request_id": "\\ud800"}')
    with pytest.raises(JsonRefused, match="not Unicode"):
        loads_bounded('["\\udc00\\ud83d"]')
    assert loads_bounded('["\\ud83d\\ude00"]') == ["\U0001f600"]
    assert loads_bounded('["\\\\ud800"]') == ["\\ud800"]  # an escaped backslash, then plain text


def test_a_settings_file_too_deep_is_a_plain_reason(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"a": ' + nested(10_000) + "}")
    with pytest.raises(ValueError, match=r"^it is nested deeper than 64 levels$"):
        read_json_object(path)


# In a fresh interpreter, like the app: whatever the recursion limit is, the reader refuses instead of crashing.
DEEP_AT_A_HIGH_LIMIT = """
import sys
sys.setrecursionlimit(100_000)  # what py_ecc sets on import
from farnode_desktop.core.checked_files import loads_bounded
for text in ("[" * 100_000, '{"a":' * 100_000, "[" * 50_000 + '"' + '\\\\"' * 50_000):
    try:
        loads_bounded(text)
    except ValueError as exc:
        print(exc)
"""


def test_the_reader_does_not_rely_on_the_recursion_limit() -> None:
    result = subprocess.run([sys.executable, "-c", DEEP_AT_A_HIGH_LIMIT], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.splitlines() == ["it is nested deeper than 64 levels"] * 3


def test_the_limit_is_put_back_even_when_the_import_fails() -> None:
    before = sys.getrecursionlimit()
    try:
        with pytest.raises(ImportError), recursion_limit_kept():
            sys.setrecursionlimit(100_000)
            import farnode_no_such_module  # type: ignore[import-not-found]  # noqa: F401
        assert sys.getrecursionlimit() == min(before, RECURSION_LIMIT)
    finally:
        sys.setrecursionlimit(before)


def test_a_model_folder_of_100000_brackets_is_refused_at_launch(tmp_path: Path) -> None:
    """`farnode node start --model FOLDER` reads config.json before it launches anything: it used to end in SIGSEGV."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("[" * 100_000)
    env = {"FARNODE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "farnode_desktop", "node", "start", "--model", str(folder)],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "config.json cannot be read: it is nested deeper than 64 levels" in result.stderr
    assert "Traceback" not in result.stderr
