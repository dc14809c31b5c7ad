"""Reading a submitted document: JSON or YAML text into the JSON values the policy judges.

The API's parsers (``config.api.parsers``) and the ``wedge`` command-line tool
read documents through this module, so both refuse the same text and hand
``validate`` the same values. The tool also keeps where each field sits in
the source (``Document.positions``), to point its annotations at the line.

JSON is read by the standard library's decoder, refusing ``NaN`` and
``Infinity`` (no JSON client can produce them) and nesting deeper than
``max_depth`` (counted before decoding: the C decoder recurses).

YAML is read as YAML 1.2, limited to what JSON can say, so a YAML document
means exactly what the same document written as JSON means:

* scalars are text, numbers, ``true``/``false`` and ``null``; ``yes``, ``no``,
  ``on`` and ``off`` are text (YAML 1.2). A ``%YAML`` directive other than 1.2
  and any ``%TAG`` directive are refused, so no document can switch to YAML
  1.1's booleans;
* no anchors, aliases or merge keys (``<<``): every value is written out once,
  so no "billion laughs" expansion can happen, and what a reviewer reads is
  what the server reads;
* no explicit tags (``!!python/object``, ``!!binary``, ``!custom``);
* keys are text, and unique: a repeated key is refused (JSON's decoder keeps
  the last one, as it always has);
* ``.inf`` and ``.nan`` are refused like JSON's ``Infinity`` and ``NaN``;
* a date (``2026-01-05``) is refused with a hint to quote it: no field takes
  a date, and silently turning one into text would hide the mistake;
* exactly one document, nested at most ``max_depth`` levels (checked on the
  event stream, before anything is built).

Every refusal is a ``DocumentError`` naming the line and column. Text that
parses but holds characters no UTF-8 text can store (a NUL, a lone surrogate)
is the caller's to refuse, with ``unstorable_strings``.

``ruamel.yaml`` is imported only when YAML is read, so the policy core itself
still needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from . import codes
from .validation import Issue, child_path, unstorable_character

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "Document",
    "DocumentError",
    "Position",
    "load_json",
    "load_yaml",
    "locate_json",
    "unstorable_strings",
]

DEFAULT_MAX_DEPTH: Final = 32

_STR: Final = "tag:yaml.org,2002:str"
_NULL: Final = "tag:yaml.org,2002:null"
_BOOL: Final = "tag:yaml.org,2002:bool"
_INT: Final = "tag:yaml.org,2002:int"
_FLOAT: Final = "tag:yaml.org,2002:float"
_TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
_MERGE: Final = "tag:yaml.org,2002:merge"
_SPECIAL_FLOAT: Final = re.compile(r"[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)")
# A JSON string, written as an "unrolled loop": runs of plain characters are
# matched in one step, not one alternation per character.
_JSON_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS: Final = re.compile(r"[\[\]{}]")
_NOT_YAML_TEXT: Final = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


@dataclass(frozen=True)
class Position:
    """A place in the source text, 1-based as editors and CI annotations count."""

    line: int
    column: int


class DocumentError(ValueError):
    """The text is not a document the policy can read; ``position`` when it is known."""

    def __init__(self, message: str, position: Position | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"line {self.position.line}, column {self.position.column}: {self.message}"


@dataclass(frozen=True)
class Document:
    """The JSON value of a document and, by field path, where each field starts.

    A path is the policy's (``rollout_wedge.wedge_stages[1].target_percentage``);
    a mapping member is located at its key, a list item at the item.
    """

    value: Any
    positions: dict[str | None, Position] = field(default_factory=dict)

    def position_of(self, path: str | None) -> Position | None:
        """Where ``path`` is written, or its nearest written ancestor (a missing field's parent)."""
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None
            path = _parent(path)


# --- JSON ---------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send a finite number.")


def load_json(text: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode JSON, refusing NaN/Infinity and nesting deeper than ``max_depth`` (``ValueError``)."""
    # The brackets outside strings, found by two regular expressions (C speed), not a
    # loop over every character.
    depth = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                raise ValueError(f"JSON is nested deeper than {max_depth} levels.")
        else:
            depth -= 1
    return json.loads(text, parse_constant=_reject_constant)


def locate_json(text: str) -> dict[str | None, Position]:
    """Where each field of a JSON document is written; empty when that cannot be told.

    JSON text is also YAML 1.2 flow text, so the YAML composer finds the
    positions; the values themselves always come from ``load_json``. (Not
    quite always YAML: a key longer than 1024 characters is not, and then no
    position is known.)
    """
    from ruamel.yaml.error import YAMLError

    # Characters JSON allows raw but YAML refuses (DEL, C1 controls) or reads as a
    # line break (NEL, LS, PS) become one printable character each, so every
    # position stays where an editor shows it; only a key holding one loses its own.
    text = _NOT_YAML_TEXT.sub("?", text)
    try:
        node = _yaml().compose(text)
    except (YAMLError, ValueError, RecursionError):
        return {}
    positions: dict[str | None, Position] = {}
    if node is not None:
        _locate(node, None, positions)
    return positions


def _locate(node: Node, path: str | None, positions: dict[str | None, Position]) -> None:
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    positions.setdefault(path, _position(node))
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                child = child_path(path, _paired(key.value))
                positions[child] = _position(key)
                _locate(value, child, positions)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _locate(item, f"{path or ''}[{index}]", positions)


def _paired(text: str) -> str:
    """JSON's "\\ud83d\\ude00" escapes one character; YAML reads two halves: join them."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


# --- YAML ---------------------------------------------------------------------------------------


def load_yaml(text: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Document:
    """Read YAML under the profile in the module docstring; ``DocumentError`` if refused.

    One pass over the parser's events, building the JSON value as they come:
    nothing is composed or constructed before its event has passed the checks,
    and the text is scanned once (ruamel's scanner is pure Python).
    """
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = _yaml()
    builder = _Builder(yaml.resolver, yaml.constructor, max_depth)
    try:
        for event in yaml.parse(text):
            builder.feed(event)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "not valid YAML"
        raise DocumentError(f"not valid YAML: {problem}", _position_of_mark(mark)) from None
    except YAMLError as error:
        raise DocumentError(f"not valid YAML: {error}") from None
    return builder.document()


def _yaml() -> Any:
    from ruamel.yaml import YAML

    # The pure-Python "safe" loader: it builds no Python objects from tags, and
    # its parser keeps its own stack instead of recursing.
    return YAML(typ="safe", pure=True)


@dataclass
class _Frame:
    """An open mapping or sequence: its value, path, and (mappings) the key awaiting a value."""

    value: dict[str, Any] | list[Any]
    path: str | None
    key: str | None = None
    seen: dict[str, Position] = field(default_factory=dict)


@dataclass
class _Builder:
    """Parser events to a JSON value, refusing what the profile excludes on the way."""

    resolver: Any  # the loader's YAML 1.2 resolver: which tag a plain scalar has
    constructor: Any  # and its constructor, which reads numbers as that resolver says
    max_depth: int
    positions: dict[str | None, Position] = field(default_factory=dict)
    stack: list[_Frame] = field(default_factory=list)
    documents: int = 0
    root: list[Any] = field(default_factory=list)

    def document(self) -> Document:
        if not self.root:
            raise DocumentError("the YAML document is empty")
        return Document(self.root[0], self.positions)

    def feed(self, event: Any) -> None:
        from ruamel.yaml import events as ev

        if isinstance(event, ev.DocumentStartEvent):
            self._document_start(event)
        elif isinstance(event, ev.AliasEvent):
            raise DocumentError(
                f"aliases (*{event.anchor}) are not accepted; write the value out", _start(event)
            )
        elif isinstance(event, ev.NodeEvent):
            self._node(event)
        elif isinstance(event, ev.CollectionEndEvent):
            self.stack.pop()

    def _document_start(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise DocumentError("send one YAML document, not several", _start(event))
        if event.version is not None and tuple(event.version) != (1, 2):
            version = ".".join(str(part) for part in event.version)
            raise DocumentError(
                f"%YAML {version} is not accepted; documents are read as YAML 1.2", _start(event)
            )
        if event.tags:
            raise DocumentError("%TAG directives are not accepted", _start(event))

    def _node(self, event: Any) -> None:
        from ruamel.yaml import events as ev

        where = _start(event) or Position(1, 1)
        if event.anchor is not None:
            raise DocumentError(
                f"anchors (&{event.anchor}) are not accepted; write each value out", where
            )
        tag = getattr(event, "tag", None)  # scalars and collections carry one
        if tag is not None:
            shown = str(tag).replace("tag:yaml.org,2002:", "!!")
            raise DocumentError(f"explicit tags ({shown}) are not accepted", where)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and isinstance(frame.value, dict) and frame.key is None:
            self._key(event, frame, where)  # a mapping's key: text only
            return
        path = self._child_path(frame)
        self.positions.setdefault(path, where)
        if isinstance(event, ev.ScalarEvent):
            self._attach(frame, self._scalar(event, where))
            return
        if len(self.stack) >= self.max_depth:
            raise DocumentError(f"YAML is nested deeper than {self.max_depth} levels", where)
        container: dict[str, Any] | list[Any] = (
            {} if isinstance(event, ev.MappingStartEvent) else []
        )
        self._attach(frame, container)
        self.stack.append(_Frame(container, path))

    def _key(self, event: Any, frame: _Frame, where: Position) -> None:
        from ruamel.yaml import events as ev

        if not isinstance(event, ev.ScalarEvent):
            raise DocumentError("a key must be text; quote the key", where)
        tag = self._tag(event)
        if tag == _MERGE:
            raise DocumentError("merge keys (<<) are not accepted; write each field out", where)
        if tag != _STR:
            raise DocumentError(f"a key must be text; quote {event.value}", where)
        key: str = event.value
        if key in frame.seen:
            raise DocumentError(
                f"duplicate key {key!r} (first at line {frame.seen[key].line})", where
            )
        frame.seen[key] = where
        frame.key = key
        self.positions[child_path(frame.path, key)] = where

    def _child_path(self, frame: _Frame | None) -> str | None:
        if frame is None:
            return None
        if isinstance(frame.value, dict):
            return child_path(frame.path, frame.key)
        return f"{frame.path or ''}[{len(frame.value)}]"

    def _attach(self, frame: _Frame | None, value: Any) -> None:
        if frame is None:
            self.root.append(value)
        elif isinstance(frame.value, dict):
            assert frame.key is not None  # set by _key just before
            frame.value[frame.key] = value
            frame.key = None
        else:
            frame.value.append(value)

    def _tag(self, event: Any) -> str:
        from ruamel.yaml.nodes import ScalarNode

        if event.style:  # quoted or block: always text
            return _STR
        tag: str = self.resolver.resolve(ScalarNode, event.value, event.implicit)
        return tag

    def _scalar(self, event: Any, where: Position) -> Any:
        from ruamel.yaml.nodes import ScalarNode

        text: str = event.value
        tag = self._tag(event)
        if tag == _STR:
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text.lower() == "true"
        if tag in (_INT, _FLOAT):
            if _SPECIAL_FLOAT.fullmatch(text):
                raise DocumentError(f"{text} is not accepted; write a finite number", where)
            node = ScalarNode(tag, text, event.start_mark, event.end_mark)
            try:
                # ruamel's own reading of YAML 1.2 numbers (0o17, 0x1f, 1_000, 1e3). A float
                # too large for its type is infinite, as in JSON: the policy says not_finite.
                return self.constructor.construct_object(node)
            except ValueError:  # an integer longer than Python converts (4300 digits)
                raise DocumentError("the number is too long to read", where) from None
        if tag == _TIMESTAMP:
            raise DocumentError(f"{text} reads as a date in YAML; quote it to send text", where)
        raise DocumentError(f"values of type {tag} are not accepted", where)


def _position(node: Node) -> Position:
    return _position_of_mark(node.start_mark) or Position(1, 1)


def _start(event: Any) -> Position | None:
    return _position_of_mark(event.start_mark)


def _position_of_mark(mark: Any) -> Position | None:
    if mark is None:
        return None
    return Position(mark.line + 1, mark.column + 1)


def _parent(path: str) -> str | None:
    """``a.b[2]`` -> ``a.b`` -> ``a`` -> ``None`` (quoted keys: ``a["x.y"]`` -> ``a``)."""
    if path.endswith("]"):
        cut = path.rfind("[")
        if path[cut + 1 : cut + 2] == '"':  # a quoted key: find its opening '["'
            cut = path.rfind('["', 0, len(path) - 1)
        return path[:cut] or None
    cut = path.rfind(".")
    return path[:cut] if cut > 0 else None


# --- Text no UTF-8 column can hold -------------------------------------------------------------


def unstorable_strings(document: Any) -> list[Issue]:
    """Every key and string in ``document`` that holds a NUL or a surrogate, in document order.

    Each is an ``invalid_characters`` issue at the value's path (a key's, at
    the path it leads to). A loop, not recursion: documents may be deep.
    """
    return list(_unstorable(document))


def _unstorable(document: Any) -> Iterator[Issue]:
    pending: list[tuple[str | None, str | None, Any]] = [(None, None, document)]
    while pending:
        path, key, value = pending.pop()
        if key is not None and (problem := unstorable_character(key)) is not None:
            yield _unstorable_issue(path, "the key", problem)
        children: list[tuple[str | None, str | None, Any]] = []
        if isinstance(value, str):
            if (problem := unstorable_character(value)) is not None:
                yield _unstorable_issue(path, "the text", problem)
        elif isinstance(value, dict):
            children = [(child_path(path, name), name, child) for name, child in value.items()]
        elif isinstance(value, list):
            children = [(f"{path or ''}[{i}]", None, child) for i, child in enumerate(value)]
        pending.extend(reversed(children))


def _unstorable_issue(path: str | None, what: str, problem: str) -> Issue:
    message = f"{what} contains {problem}; send Unicode text without NUL characters"
    return Issue(path, codes.INVALID_CHARACTERS, message, None)
