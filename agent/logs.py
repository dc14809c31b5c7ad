"""One line per event, as ``key=value`` pairs (logfmt) that people and log shippers read.

ts=2026-11-28T10:15:02.113Z level=info event=applied proposal=42 stage=canary ...
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER_NAME = "wedge_agent"


def number(value: float) -> str:
    """A float in full up to six decimals (a weight step is 0.390625 %), no trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    text = "null" if value is None else str(value)
    if not text or any(c in text for c in ' ="\\') or any(ord(c) < 32 for c in text):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        pairs: dict[str, Any] = {
            "ts": ts.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        line = " ".join(f"{key}={_value(value)}" for key, value in pairs.items())
        if record.exc_info:
            line += " traceback=" + _value(self.formatException(record.exc_info))
        return line


class EventLog:
    """``log.info("applied", proposal=42, weight="0->12")``: an event name and its fields."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(LOGGER_NAME)

    def _log(self, level: int, event: str, fields: dict[str, Any], exc: bool = False) -> None:
        self.logger.log(level, event, extra={"fields": fields}, exc_info=exc)

    def debug(self, event: str, /, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, /, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, /, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, /, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, /, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields, exc=True)


def configure(stream: TextIO = sys.stderr, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
