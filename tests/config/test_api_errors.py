"""The API's plumbing: the strict JSON parser and the one error shape."""

import json

import pytest
from django.test import RequestFactory
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from config.api.errors import exception_handler, printable
from config.api.parsers import StrictJSONParser, unstorable_strings
from config.refusals import FieldError, InvalidInput


def paths(document: object) -> list[str | None]:
    return [problem.field for problem in unstorable_strings(document)]


def test_every_unstorable_string_and_key_is_named_by_its_json_path():
    document = json.loads(
        '{"title": "a\\u0000", "ok": ["fine", "\\ud800", {"deep key": {"\\udfff": "x"}}],'
        ' "\\u0000": 1, "emoji": "\\ud83d\\ude00", "n": 1, "none": null}'
    )
    assert paths(document) == [
        "title",
        "ok[1]",
        'ok[2]["deep key"]["\\udfff"]',
        '["\\u0000"]',
    ]
    assert all(p.code == "invalid_characters" for p in unstorable_strings(document))
    assert paths("\x00") == [None]
    assert paths([["\x00"]]) == ["[0][0]"]


def test_a_paired_surrogate_escape_is_just_text():
    assert paths(json.loads('{"e": "\\ud83d\\ude00", "\\ud83d\\ude00": 1}')) == []


def parse(body: bytes):
    return StrictJSONParser().parse(__import__("io").BytesIO(body))


def test_the_parser_refuses_them_with_every_path():
    with pytest.raises(InvalidInput) as refused:
        parse(b'{"a": "\\u0000", "b": ["\\ud800"]}')
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("a", "invalid_characters"),
        ("b[0]", "invalid_characters"),
    ]
    # An escaped backslash before "u0000" is ordinary text.
    assert parse(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}


def render(exc: Exception) -> dict[str, object]:
    request = Request(RequestFactory().post("/api/v1/x/"))
    response = exception_handler(exc, {"request": request})
    assert response is not None
    body: dict[str, object] = json.loads(JSONRenderer().render(response.data))
    return body


def test_an_error_quoting_a_lone_surrogate_still_renders():
    body = render(exceptions.ValidationError({"severity": ['"\ud800" is not a valid choice.']}))
    assert body == {
        "errors": [
            {
                "field": "severity",
                "code": "invalid",
                "message": '"\\ud800" is not a valid choice.',
            }
        ]
    }
    body = render(InvalidInput([FieldError("a\udfff", "odd", "quoting \ud800")]))
    assert body == {"errors": [{"field": "a\\udfff", "code": "odd", "message": "quoting \\ud800"}]}


def test_refusals_keep_their_field_paths_exactly():
    # "detail" and "non_field_errors" are DRF's words for "no field"; a path is a path.
    body = render(InvalidInput([FieldError("detail", "x", "m"), FieldError(None, "y", "n")]))
    assert body == {
        "errors": [
            {"field": "detail", "code": "x", "message": "m"},
            {"field": None, "code": "y", "message": "n"},
        ]
    }


@pytest.mark.parametrize(
    ("text", "shown"),
    [("plain", "plain"), ("caf\u00e9 \U0001f426", "caf\u00e9 \U0001f426"), ("\ud800x", "\\ud800x")],
)
def test_printable(text, shown):
    assert printable(text) == shown
    assert printable(None) is None
