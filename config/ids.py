"""Object ids as they arrive in URLs, query strings, forms, alert labels and documents."""

from __future__ import annotations

from typing import Final

MAX_ID: Final = 2**63 - 1  # PostgreSQL's bigint


def object_id(raw: object) -> int | None:
    """``raw`` as an object id: ASCII digits for a number from 1 to ``MAX_ID``; else ``None``.

    ``str.isdigit`` alone also accepts "²" or "①", which ``int`` then refuses
    (a 500 the fuzzer found), and any length of digits.
    """
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
