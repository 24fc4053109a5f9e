"""Fuzz tests of the one bounded JSON reader (Hypothesis): on any text it gives json.loads' own answer or a ValueError,
never another exception; it refuses exactly the documents nested deeper or holding more lists and objects than its
limits, however strings full of brackets, quotes and backslashes are placed around them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farnode_desktop.core.checked_files import JsonRefused, loads_bounded
from tests.hostile_inputs import json_values, texts

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
# Strings made of what a pre-scan could mistake for structure.
tricky_text = st.text(alphabet='[]{}"\\/u0aé ,:', max_size=40)
tricky_values = st.recursive(
    st.one_of(st.none(), st.integers(), tricky_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(tricky_text, inner, max_size=4)),
    max_leaves=30,
)


def depth(value: Any) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max((depth(c) for c in children), default=0)


def containers(value: Any) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + sum(containers(c) for c in children)


def same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN-safe


@FUZZ
@given(value=tricky_values, limit=st.integers(0, 6), indent=st.sampled_from([None, 0, 2]))
def test_refused_exactly_when_deeper_than_the_limit(value: Any, limit: int, indent: int | None) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    if depth(value) > limit:
        with pytest.raises(JsonRefused, match=f"nested deeper than {limit} levels"):
            loads_bounded(text, max_depth=limit)
    else:
        assert loads_bounded(text, max_depth=limit) == value


@FUZZ
@given(value=tricky_values, limit=st.integers(0, 12))
def test_refused_exactly_when_holding_more_lists_and_objects_than_the_limit(value: Any, limit: int) -> None:
    text = json.dumps(value)
    if containers(value) > limit:
        with pytest.raises(JsonRefused, match=f"more than {limit} lists and objects"):
            loads_bounded(text, max_containers=limit)
    else:
        assert loads_bounded(text, max_containers=limit) == value


@FUZZ
@given(value=json_values)
def test_any_generated_document_reads_as_json_loads_reads_it(value: Any) -> None:
    text = json.dumps(value)
    assert same(loads_bounded(text), json.loads(text))


@FUZZ
@given(text=st.one_of(texts, st.builds(lambda a, b, c: a + b + c, texts, st.sampled_from(['"', "\\", "[", "]", "{"]),
                                       texts)))
def test_any_text_gives_json_loads_answer_or_a_value_error(text: str) -> None:
    try:
        result = loads_bounded(text)
    except ValueError:
        return
    assert same(result, json.loads(text))


escape_pieces = st.lists(st.sampled_from(["\\\\", "\\", "\\ud83d", "\\ude00", "\\uD800", "\\uDBFF", "\\uDC00",
                                          "\\uDFFF", "u", "d800", "a", '\\"', "\\n", "\\u0041", "\U0001f600"]),
                         max_size=12).map("".join)


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(body=escape_pieces, key=st.booleans())
def test_a_lone_surrogate_is_refused_exactly_and_pairs_and_escaped_backslashes_are_read(body: str, key: bool) -> None:
    text = '{"' + body + '": 1}' if key else '["x", "' + body + '"]'
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            loads_bounded(text)
        return
    decoded = next(iter(expected)) if key else expected[1]
    if any(0xD800 <= ord(c) <= 0xDFFF for c in decoded):
        with pytest.raises(JsonRefused, match="not Unicode"):
            loads_bounded(text)
    else:
        assert loads_bounded(text) == expected
