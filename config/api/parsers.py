"""Request parsers that refuse what the standard ones let through.

Python's ``json`` accepts ``NaN`` and ``Infinity`` and recurses without bound;
both would reach the policy engine as values no JSON client can produce. It
also decodes ``"\u0000"`` and lone surrogates such as ``"\ud800"`` into strings
that no UTF-8 text (and no PostgreSQL column) can hold; the parsers refuse
those for every endpoint at once, naming the JSON path of each.

YAML (``application/yaml``, also ``application/x-yaml`` and ``text/yaml``) is
accepted on the endpoints that take a submitted document (submit and the dry
run). It is read by the policy core's document reader (``wedges.policy.documents``,
the one the ``wedge`` CLI uses offline), which admits only what JSON can say —
no anchors, aliases, tags or duplicate keys, YAML 1.2 scalars — so a YAML body
gets exactly the verdict, codes and paths of the same body sent as JSON.
Both share the nesting limit; a YAML body is also held to ``MAX_YAML_BYTES``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from config.refusals import FieldError, InvalidInput
from wedges.policy import documents

# A NUL or a surrogate reaches a decoded string only through one of these
# escapes (raw, they are not valid JSON or not valid UTF-8): bodies without
# one, nearly all of them, skip the walk.
_SUSPECT_ESCAPE: Final = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")

YAML_MEDIA_TYPES: Final = ("application/yaml", "application/x-yaml", "text/yaml")
# Reading YAML is pure Python and about a hundred times slower than JSON (some
# 5 microseconds a byte: see bench/bench_cli.py), so a YAML body is held to
# 64 KiB, room for a proposal of a few hundred stages, whatever the JSON limit.
MAX_YAML_BYTES: Final = 64 * 1024


def loads_strict(raw: bytes | str) -> Any:
    """Decode JSON, refusing NaN/Infinity and nesting deeper than the limit."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return documents.load_json(text, max_depth=settings.WEDGE_MAX_JSON_DEPTH)


def unstorable_strings(document: Any) -> list[FieldError]:
    """Every key and string in ``document`` that holds a NUL or a surrogate, in document order."""
    return [
        FieldError(issue.path, issue.code, issue.message)
        for issue in documents.unstorable_strings(document)
    ]


def _read_body(stream: Any, kind: str, limit: int) -> str:
    """The body as text: at most ``limit`` bytes, not empty, UTF-8."""
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise ParseError(
            f"The request body is larger than {limit} bytes"
            + (" (the limit for YAML; JSON may be larger)." if kind == "YAML" else "."),
            code="body_too_large",
        )
    if not raw:
        raise ParseError(f"The request body is empty; send a {kind} object.", code="parse_error")
    try:
        text: str = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("The request body is not UTF-8.", code="parse_error") from None
    return text


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        text = _read_body(stream, "JSON", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            document = loads_strict(text)
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}", code="parse_error") from None
        if _SUSPECT_ESCAPE.search(text) and (problems := unstorable_strings(document)):
            raise InvalidInput(problems)
        return document


class StrictYAMLParser(BaseParser):
    """YAML documents, read as the same JSON values (see the module docstring)."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = min(MAX_YAML_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        text = _read_body(stream, "YAML", limit)
        try:
            document = documents.load_yaml(text, max_depth=settings.WEDGE_MAX_JSON_DEPTH).value
        except documents.DocumentError as exc:
            raise ParseError(f"Malformed YAML: {exc}", code="parse_error") from None
        # YAML's "\0" and "\ud800" escapes reach strings too; the walk is cheap.
        if problems := unstorable_strings(document):
            raise InvalidInput(problems)
        return document


class StrictXYAMLParser(StrictYAMLParser):
    media_type = "application/x-yaml"


class StrictTextYAMLParser(StrictYAMLParser):
    media_type = "text/yaml"


# The parsers of the endpoints that take a submitted document.
DOCUMENT_PARSERS: Final = (
    StrictJSONParser,
    StrictYAMLParser,
    StrictXYAMLParser,
    StrictTextYAMLParser,
)
