"""The document reader: JSON and YAML mean the same values, and each field knows its line."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from wedges.policy.documents import (
    Document,
    DocumentError,
    Position,
    load_json,
    load_yaml,
    locate_json,
    unstorable_strings,
)

# JSON values a client can send (finite numbers, text without NUL or lone surrogates).
# Control characters and YAML's own line breaks (NEL, LS, PS) are left out: the
# YAML *writer* used here emits some of them raw, where YAML folds them (and, in
# flow style, leaves keys such as ":0" unquoted: only block style is written).
text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029")
    | st.sampled_from(["\n", "\t"])
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)


def dump_yaml(value: Any) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(value, out)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_a_value_written_as_yaml_reads_back_as_the_same_json_value(value):
    read = load_yaml(dump_yaml(value)).value
    assert json.dumps(read, sort_keys=True) == json.dumps(value, sort_keys=True)
    assert json.dumps(load_json(json.dumps(value)), sort_keys=True) == json.dumps(
        read, sort_keys=True
    )


short_keys = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=100),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(short_keys, st.booleans())
def test_every_field_of_a_json_document_is_located(value, ascii_only):
    # Keys of at most 100 printable characters: YAML, which locates them, allows
    # 1024 and refuses some controls (the values may hold anything).
    text = json.dumps(value, indent=2, ensure_ascii=ascii_only)
    document = Document(value, locate_json(text))
    paths = list(_paths(value, None))
    for path in paths:
        assert path in document.positions, path


def _paths(value: Any, path: str | None):
    from wedges.policy import child_path

    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, child_path(path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, f"{path or ''}[{index}]")


YAML_TEXT = """\
rollout_wedge:
  wedge_stages:
    - stage_id: canary
      "odd key.with dots": 1
  increment_policy: linear
"""


def test_positions_are_those_of_the_keys_and_items():
    document = load_yaml(YAML_TEXT)
    assert document.positions["rollout_wedge"] == Position(1, 1)
    assert document.positions["rollout_wedge.wedge_stages[0]"] == Position(3, 7)
    assert document.positions['rollout_wedge.wedge_stages[0]["odd key.with dots"]'] == Position(
        4, 7
    )
    assert document.position_of("rollout_wedge.increment_policy") == Position(5, 3)


def test_a_missing_field_is_placed_at_its_nearest_written_ancestor():
    document = load_yaml(YAML_TEXT)
    assert document.position_of("rollout_wedge.wedge_stages[0].duration_hours") == Position(3, 7)
    assert document.position_of('rollout_wedge.wedge_stages[0]["odd key.with dots"].x') == (
        Position(4, 7)
    )
    assert document.position_of("rollout_wedge.wedge_stages[7]") == Position(2, 3)
    assert document.position_of("title") == Position(1, 1)
    assert Document({}).position_of("anything") is None


def test_locating_text_that_is_not_json_finds_nothing():
    assert locate_json("{") == {}


@pytest.mark.parametrize(
    ("yaml_text", "value"),
    [
        ("a: yes", {"a": "yes"}),
        ("a: off", {"a": "off"}),
        ("a: True", {"a": True}),
        ("a: ~", {"a": None}),
        ("a:", {"a": None}),
        ("a: 0o17", {"a": 15}),
        ("a: 0x1f", {"a": 31}),
        ("a: 1e400", {"a": math.inf}),  # overflows as in JSON; the policy says not_finite
        ("a: '2026-01-05'", {"a": "2026-01-05"}),
        ('a: "\\u00e9"', {"a": "é"}),
        ("- 1\n- x", [1, "x"]),
    ],
)
def test_yaml_scalars_are_read_as_yaml_1_2(yaml_text, value):
    assert load_yaml(yaml_text).value == value


@pytest.mark.parametrize(
    ("yaml_text", "message", "position"),
    [
        ("a: 1\nb: &x 2", "anchors (&x) are not accepted; write each value out", (2, 4)),
        ("a: !!binary aGk=", "explicit tags (!!binary) are not accepted", (1, 4)),
        ("a: !custom x", "explicit tags (!custom) are not accepted", (1, 4)),
        ("%TAG !e! tag:example.org,2026:\n---\na: 1", "%TAG directives are not accepted", (2, 1)),
        ("a: -.INF", "-.INF is not accepted; write a finite number", (1, 4)),
        ("? [a, b]\n: 1", "a key must be text; quote the key", (1, 3)),
        ("a: " + "9" * 5000, "the number is too long to read", (1, 4)),
    ],
)
def test_what_yaml_may_not_say(yaml_text, message, position):
    with pytest.raises(DocumentError) as refused:
        load_yaml(yaml_text)
    assert refused.value.message == message
    assert refused.value.position == Position(*position)
    assert str(refused.value) == f"line {position[0]}, column {position[1]}: {message}"


def test_json_depth_is_counted_before_decoding():
    deepest = load_json("[" * 32 + "]" * 32)
    for _ in range(31):
        deepest = deepest[0]
    assert deepest == []
    with pytest.raises(ValueError, match="nested deeper than 32 levels"):
        load_json("[" * 33 + "]" * 33)
    assert load_json('"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["') == "[" * 36
    inside = '\\"' + "[" * 40  # an escaped quote does not end the string
    assert load_json(f'["{inside}"]') == [inside.replace("\\", "")]
    with pytest.raises(ValueError, match="nested deeper"):
        load_json('["\\\\"' + ", [" * 40)  # an escaped backslash does end it


def test_unstorable_strings_name_their_paths():
    issues = unstorable_strings({"a": ["ok", "x\x00"], "k\ud800": 1})
    assert [(issue.path, issue.code) for issue in issues] == [
        ("a[1]", "invalid_characters"),
        ('["k\\ud800"]', "invalid_characters"),
    ]
