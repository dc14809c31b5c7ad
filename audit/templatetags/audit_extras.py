from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def compact_json(value: Any) -> str:
    """``{"p99": 180, "error_rate": 0.004}`` -> ``error_rate=0.004 p99=180``."""
    if not value:
        return ""
    if isinstance(value, dict):
        return " ".join(
            f"{key}={json.dumps(item, ensure_ascii=False) if not isinstance(item, str) else item}"
            for key, item in sorted(value.items())
        )
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
