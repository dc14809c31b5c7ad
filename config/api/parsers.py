"""A JSON parser that refuses what the standard one lets through.

Python's ``json`` accepts ``NaN`` and ``Infinity`` and recurses without bound;
both would reach the policy engine as values no JSON client can produce. It
also decodes ``"\u0000"`` and lone surrogates such as ``"\ud800"`` into strings
that no UTF-8 text (and no PostgreSQL column) can hold; the parser refuses
those for every endpoint at once, naming the JSON path of each.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from config.refusals import FieldError, InvalidInput
from wedges.policy import child_path, codes, unstorable_character

# A NUL or a surrogate reaches a decoded string only through one of these
# escapes (raw, they are not valid JSON or not valid UTF-8): bodies without
# one, nearly all of them, skip the walk.
_SUSPECT_ESCAPE: Final = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send a finite number.")


def loads_strict(raw: bytes | str) -> Any:
    """Decode JSON, refusing NaN/Infinity and nesting deeper than the limit."""
    limit: int = settings.WEDGE_MAX_JSON_DEPTH
    # Count brackets first: the C decoder recurses, and a pathological body
    # must not reach it.
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    depth = running = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            running += 1
            depth = max(depth, running)
            if depth > limit:
                raise ValueError(f"JSON is nested deeper than {limit} levels.")
        elif char in "]}":
            running -= 1
    return json.loads(text, parse_constant=_reject_constant)


def unstorable_strings(document: Any) -> list[FieldError]:
    """Every key and string in ``document`` that holds a NUL or a surrogate, in document order."""
    problems: list[FieldError] = []

    def check(path: str | None, what: str, text: str) -> None:
        if (problem := unstorable_character(text)) is not None:
            message = f"{what} contains {problem}; send Unicode text without NUL characters"
            problems.append(FieldError(path, codes.INVALID_CHARACTERS, message))

    # (path, the key that leads there or None, value); a loop, not recursion.
    pending: list[tuple[str | None, str | None, Any]] = [(None, None, document)]
    while pending:
        path, key, value = pending.pop()
        if key is not None:
            check(path, "the key", key)
        children: list[tuple[str | None, str | None, Any]] = []
        if isinstance(value, str):
            check(path, "the text", value)
        elif isinstance(value, dict):
            children = [(child_path(path, name), name, child) for name, child in value.items()]
        elif isinstance(value, list):
            children = [(f"{path or ''}[{i}]", None, child) for i, child in enumerate(value)]
        pending.extend(reversed(children))
    return problems


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit: int = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(
                f"The request body is larger than {limit} bytes.", code="body_too_large"
            )
        if not raw:
            raise ParseError("The request body is empty; send a JSON object.", code="parse_error")
        try:
            text = raw.decode("utf-8")
            document = loads_strict(text)
        except UnicodeDecodeError:
            raise ParseError("The request body is not UTF-8.", code="parse_error") from None
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}", code="parse_error") from None
        if _SUSPECT_ESCAPE.search(text) and (problems := unstorable_strings(document)):
            raise InvalidInput(problems)
        return document
