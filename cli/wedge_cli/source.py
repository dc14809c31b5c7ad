"""Reading an input file: JSON or YAML, with where each field is written.

The text is read exactly as the server reads a request body
(``wedge_policy.documents``): the same refusals, the same values. JSON is told
from YAML by the file's extension (``.json``; ``.yaml``/``.yml``), otherwise by
its first character (``{`` or ``[`` is JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from wedge_policy.documents import (
    Document,
    DocumentError,
    Position,
    load_json,
    load_yaml,
    locate_json,
)

from .errors import CliError

Kind = Literal["json", "yaml"]
CONTENT_TYPES: dict[Kind, str] = {"json": "application/json", "yaml": "application/yaml"}


@dataclass(frozen=True)
class Source:
    name: str  # as given ("-" reads standard input and is called "stdin")
    raw: bytes
    kind: Kind
    document: Document

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


def read_source(path: str, stdin: BinaryIO) -> Source:
    """Read and parse ``path``; a ``CliError`` (exit 2) naming the file and line if it cannot be."""
    name = "stdin" if path == "-" else path
    try:
        raw = stdin.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        raise CliError(f"{name}: cannot read: {error.strerror or error}", file=name) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CliError(f"{name}: not UTF-8 text (byte {error.start + 1})", file=name) from None
    kind = _kind(path, text)
    return Source(name, raw, kind, _parse(name, kind, text))


def _kind(path: str, text: str) -> Kind:
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "json" if text.lstrip()[:1] in ("{", "[") else "yaml"


def _parse(name: str, kind: Kind, text: str) -> Document:
    if kind == "yaml":
        try:
            return load_yaml(text)
        except DocumentError as error:
            raise CliError(f"{name}: {error}", file=name, position=error.position) from None
    try:
        value = load_json(text)
    except json.JSONDecodeError as error:
        raise CliError(
            f"{name}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
            file=name,
            position=Position(error.lineno, error.colno),
        ) from None
    except (ValueError, RecursionError) as error:
        raise CliError(f"{name}: not valid JSON: {error}", file=name) from None
    return Document(value, locate_json(text))
