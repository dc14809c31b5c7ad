"""Prometheus: an instant query through ``GET /api/v1/query``.

Answers are read as Argo Rollouts and Flagger users expect:

* a scalar, or a vector of exactly one sample, is the value;
* an empty vector, ``NaN`` or ``±Inf`` is "no data" (``Reading(None)``): the
  metric is missing, so a criterion on it is unmet and a trigger not fired;
* a vector of more than one series is an error for that query (aggregate it,
  ``sum(...)``), as are a range vector or a string;
* a timeout, a refused connection, an HTTP error or ``"status": "error"`` (a
  400 for bad PromQL carries Prometheus's own message) is a failure.

Redirects are not followed and at most ``MAX_BODY`` bytes of an answer are
read, so a misconfigured URL cannot make the poller fetch something large.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urljoin

import requests

from providers.kinds import QueryFailed, Reading

if TYPE_CHECKING:
    from providers.config import ProviderConfig

MAX_BODY: Final = 1024 * 1024
_SHOWN: Final = 300  # characters of a provider's message kept for the pages


class Prometheus:
    def __init__(self, config: ProviderConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session
        self.url = urljoin(config.base_url.rstrip("/") + "/", "api/v1/query")

    def query(self, text: str, at: datetime) -> Reading:
        timeout = self.config.timeout_seconds
        params = {
            "query": text,
            "time": f"{at.timestamp():.3f}",
            # Prometheus stops evaluating when we stop waiting.
            "timeout": f"{timeout:g}s",
        }
        try:
            response = self.session.get(
                self.url,
                params=params,
                headers=self.config.headers(),
                auth=self.config.basic_auth(),
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            )
            try:
                raw = response.raw.read(MAX_BODY + 1, decode_content=True)
            finally:
                response.close()
        except requests.Timeout:
            raise QueryFailed(
                QueryFailed.TIMEOUT, f"no answer within {timeout:g} s from {self._where()}"
            ) from None
        except requests.ConnectionError as exc:
            raise QueryFailed(
                QueryFailed.CONNECTION, f"cannot connect to {self._where()}: {_reason(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise QueryFailed(QueryFailed.CONNECTION, _shorten(str(exc))) from None
        except OSError as exc:  # the socket broke while the body was read
            raise QueryFailed(QueryFailed.CONNECTION, _shorten(str(exc))) from None
        return self._reading(response.status_code, raw)

    def _where(self) -> str:
        return self.config.base_url

    def _reading(self, status: int, raw: bytes) -> Reading:
        if len(raw) > MAX_BODY:
            raise QueryFailed(
                QueryFailed.BAD_RESPONSE, f"the answer is larger than {MAX_BODY // 1024} KiB"
            )
        body = _json(raw)
        if body is not None and body.get("status") == "error":
            kind = body.get("errorType") or "error"
            message = _shorten(str(body.get("error") or "no message"))
            raise QueryFailed(
                QueryFailed.QUERY,
                f"Prometheus refused the query (HTTP {status}, {kind}): {message}",
            )
        if status != 200:
            raise QueryFailed(QueryFailed.HTTP, f"HTTP {status} from {self._where()}")
        if (
            body is None
            or body.get("status") != "success"
            or not isinstance(body.get("data"), dict)
        ):
            raise QueryFailed(
                QueryFailed.BAD_RESPONSE, f"{self._where()} did not answer like Prometheus"
            )
        return _value(body["data"])


def _value(data: dict[str, Any]) -> Reading:
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return _sample(result)
    if kind == "vector" and isinstance(result, list):
        if not result:
            return Reading(None, "empty result")
        if len(result) > 1:
            raise QueryFailed(
                QueryFailed.MULTIPLE_SERIES,
                f"the query returned {len(result)} series, not one; aggregate it "
                "(sum, max, avg ...) to a single value",
            )
        entry = result[0]
        return _sample(entry.get("value") if isinstance(entry, dict) else None)
    if kind == "matrix":
        raise QueryFailed(
            QueryFailed.BAD_RESPONSE,
            "the query returned a range vector; use an instant vector (rate(x[1m]), not x[1m])",
        )
    raise QueryFailed(QueryFailed.BAD_RESPONSE, f"the query returned a {kind}, not a number")


def _sample(sample: object) -> Reading:
    """``[timestamp, "value"]`` as a reading; NaN and infinities are no data."""
    if not isinstance(sample, list) or len(sample) != 2 or not isinstance(sample[1], str):
        raise QueryFailed(QueryFailed.BAD_RESPONSE, "a sample is not [time, value]")
    try:
        value = float(sample[1])
    except ValueError:
        raise QueryFailed(
            QueryFailed.BAD_RESPONSE, f"the value {sample[1][:40]!r} is not a number"
        ) from None
    if math.isnan(value):
        return Reading(None, "NaN")
    if math.isinf(value):
        return Reading(None, "+Inf" if value > 0 else "-Inf")
    return Reading(value)


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _reason(exc: requests.ConnectionError) -> str:
    """The innermost reason ("Connection refused"), without urllib3's long wrapping."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return _shorten(text)


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
