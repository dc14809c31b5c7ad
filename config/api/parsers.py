"""A JSON parser that refuses what the standard one lets through.

Python's ``json`` accepts ``NaN`` and ``Infinity`` and recurses without bound;
both would reach the policy engine as values no JSON client can produce.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


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
            return loads_strict(raw)
        except UnicodeDecodeError:
            raise ParseError("The request body is not UTF-8.", code="parse_error") from None
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}", code="parse_error") from None
