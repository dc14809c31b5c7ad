"""The two calls the agent makes to Wedge: read the desired state, report a snapshot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import requests

from agent import __version__
from agent.config import WedgeConfig

# The wedge states in which Wedge takes metric snapshots.
RUNNING_STATES = frozenset({"ACTIVE", "PAUSED"})
# States a wedge never leaves.
FINAL_STATES = frozenset({"ROLLED_BACK", "COMPLETE"})


class WedgeUnavailable(Exception):
    """Wedge did not answer, or answered with a server error: try again later."""


class WedgeRefused(Exception):
    """Wedge answered with a 4xx: retrying the same request will not help."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class DesiredState:
    """What ``desired-state/`` (and every webhook) says the deployer must apply."""

    wedge_state: str
    stage_id: str | None
    exposure_percentage: float
    max_blast_radius: float

    @classmethod
    def from_json(cls, data: Any) -> DesiredState:
        """Raises ``ValueError`` unless ``data`` carries the four fields, well typed."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        state, stage = data.get("wedge_state"), data.get("stage_id")
        if not isinstance(state, str) or not state:
            raise ValueError("wedge_state must be a string")
        if stage is not None and not isinstance(stage, str):
            raise ValueError("stage_id must be a string or null")
        return cls(
            state,
            stage or None,
            _percentage(data, "exposure_percentage"),
            _percentage(data, "max_blast_radius"),
        )

    @property
    def final(self) -> bool:
        return self.wedge_state in FINAL_STATES


def _percentage(data: dict[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"{name} must be a percentage in 0..100")
    return float(value)


@dataclass(frozen=True)
class Fetched:
    state: DesiredState
    etag: str | None


class WedgeClient:
    def __init__(self, config: WedgeConfig, session: requests.Session | None = None) -> None:
        self.base = f"{config.url}/api/v1"
        self.timeout = config.timeout_seconds
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Token {config.token}",
                "Accept": "application/json",
                "User-Agent": f"wedge-agent/{__version__}",
            }
        )

    def desired_state(self, proposal: int, etag: str | None = None) -> Fetched | None:
        """The desired state, or ``None`` when it still matches ``etag`` (304)."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self._call("GET", f"/proposals/{proposal}/desired-state/", headers=headers)
        if response.status_code == 304:
            return None
        try:
            state = DesiredState.from_json(response.json())
        except ValueError as exc:
            raise WedgeUnavailable(f"desired-state of proposal {proposal}: {exc}") from None
        return Fetched(state, response.headers.get("ETag"))

    def report_exposure(self, proposal: int, exposure: float) -> DesiredState | None:
        """POST a snapshot with the applied exposure; Wedge's state after evaluating it."""
        response = self._call(
            "POST",
            f"/proposals/{proposal}/metrics/",
            json={"metrics": {"exposure_percentage": exposure}},
        )
        try:
            return DesiredState.from_json(response.json())
        except ValueError:
            return None  # accepted; the next read of desired-state tells the rest

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(
                method, self.base + path, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise WedgeUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise WedgeUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if 300 <= response.status_code < 500 and response.status_code != 304:
            code, message = _error_of(response)
            raise WedgeRefused(response.status_code, code, message)
        return response


def _error_of(response: requests.Response) -> tuple[str, str]:
    """The first error of Wedge's ``{"errors": [...]}`` body, if it has one."""
    try:
        first = response.json()["errors"][0]
        return str(first.get("code") or "error"), str(first.get("message") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "http_" + str(response.status_code), response.text[:200]
