"""What a deployer's call says, parsed from the tool's own payload.

Flagger POSTs ``{"name", "namespace", "phase", "checksum", "metadata"}`` to
every webhook (Flagger's "Webhooks" document); ``metadata`` is the
webhook's own string map from the Canary spec, plus ``eventMessage``,
``eventType`` and ``timestamp`` for event hooks. Argo Rollouts' ``web``
metric provider sends a GET whose query the AnalysisTemplate fills in, and
its notifications' ``webhook`` service a POST whose body a template writes.

Keys the tools may add in later versions are ignored, not refused: a
deployer upgrade must not close every gate. What is there must have the
right type; every problem is reported at once, with its field path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from config.refusals import FieldError, InvalidInput
from gates import errors
from gates.models import Tool

# Flagger's hook types, as its Canary spec names them.
READ_GATES: Final = (
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "rollback",
)
REPORT_GATES: Final = ("event", "post-rollout")
ARGO_GATE: Final = "argo"
ARGO_REPORT: Final = "argo-report"

# Kubernetes names (RFC 1123 labels and subdomains) and a cluster's name.
_NAMESPACE: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_NAME: Final = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_CLUSTER: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.:/]{0,98}[A-Za-z0-9])?")
_TEXT_MAX: Final = 500


@dataclass(frozen=True)
class CanaryCall:
    """One call from one canary: who it is, which gate, what it reported."""

    tool: str
    gate: str
    namespace: str
    name: str
    cluster: str = ""
    phase: str = ""
    checksum: str = ""
    proposal_id: int | None = None
    event_type: str = ""
    event_message: str = ""
    # What the tool sent besides identity and credentials, for the audit trail.
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def canary(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.cluster}: {self.canary}" if self.cluster else self.canary

    def facts(self) -> dict[str, Any]:
        """The call as the audit trail records it: never the token."""
        facts: dict[str, Any] = {
            "tool": self.tool,
            "gate": self.gate,
            "cluster": self.cluster,
            "canary": self.canary,
        }
        if self.phase:
            facts["phase"] = self.phase
        if self.checksum:
            facts["checksum"] = self.checksum
        return facts


def _string(
    problems: list[FieldError],
    path: str,
    value: object,
    *,
    required: bool,
    pattern: re.Pattern[str] | None = None,
    limit: int = _TEXT_MAX,
) -> str:
    if value is None or value == "":
        if required:
            problems.append(FieldError(path, errors.REQUIRED, f"{path} is required."))
        return ""
    if not isinstance(value, str):
        problems.append(FieldError(path, errors.WRONG_TYPE, f"{path} must be a string."))
        return ""
    if pattern is not None and not pattern.fullmatch(value):
        problems.append(
            FieldError(
                path,
                errors.INVALID_NAME,
                f"{path} {value[:80]!r} is not a valid name here.",
            )
        )
        return ""
    if len(value) > limit:
        problems.append(
            FieldError(path, errors.TOO_LONG, f"{path} is longer than {limit} characters.")
        )
        return ""
    return value


def _proposal_id(problems: list[FieldError], path: str, value: object) -> int | None:
    """A proposal id as Flagger's string map carries it ("42"), or as a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.append(FieldError(path, errors.WRONG_TYPE, f"{path} must be a proposal id."))
        return None
    text = str(value).strip().lstrip("#")
    if not text.isdigit() or not 0 < int(text) < 2**63:
        problems.append(
            FieldError(path, errors.NOT_A_PROPOSAL_ID, f"{path} {str(value)[:40]!r} is no id.")
        )
        return None
    return int(text)


def parse_flagger(gate: str, body: object) -> CanaryCall:
    """A Flagger webhook call to ``gate``; ``InvalidInput`` names every problem."""
    if not isinstance(body, dict):
        raise InvalidInput(
            [FieldError(None, errors.NOT_AN_OBJECT, "Send Flagger's webhook payload object.")]
        )
    problems: list[FieldError] = []
    name = _string(problems, "name", body.get("name"), required=True, pattern=_NAME)
    namespace = _string(
        problems, "namespace", body.get("namespace"), required=True, pattern=_NAMESPACE
    )
    phase = _string(problems, "phase", body.get("phase"), required=False, limit=32)
    checksum = _string(problems, "checksum", body.get("checksum"), required=False, limit=64)
    raw_metadata = body.get("metadata")
    metadata: dict[str, Any] = {}
    if raw_metadata is not None and not isinstance(raw_metadata, dict):
        problems.append(
            FieldError("metadata", errors.WRONG_TYPE, "metadata must be an object (a string map).")
        )
    elif raw_metadata is not None:
        metadata = raw_metadata
    token = metadata.get("token")
    if token is not None and not isinstance(token, str):
        problems.append(FieldError("metadata.token", errors.WRONG_TYPE, "The token is a string."))
    cluster = _string(
        problems, "metadata.cluster", metadata.get("cluster"), required=False, pattern=_CLUSTER
    )
    proposal_id = _proposal_id(problems, "metadata.proposal", metadata.get("proposal"))
    event_type = event_message = ""
    if gate == "event":
        event_type = _string(
            problems, "metadata.eventType", metadata.get("eventType"), required=True, limit=16
        )
        event_message = _string(
            problems, "metadata.eventMessage", metadata.get("eventMessage"), required=True
        )[:_TEXT_MAX]
    if problems:
        raise InvalidInput(problems)
    details = {
        key: value[:_TEXT_MAX]
        for key, value in sorted(metadata.items())
        if isinstance(value, str)
        and key not in {"token", "cluster", "proposal", "eventType", "eventMessage"}
    }
    return CanaryCall(
        tool=Tool.FLAGGER,
        gate=gate,
        namespace=namespace,
        name=name,
        cluster=cluster,
        phase=phase,
        checksum=checksum,
        proposal_id=proposal_id,
        event_type=event_type,
        event_message=event_message,
        details=details,
    )


def parse_argo_query(proposal_id: int, query: Mapping[str, str]) -> CanaryCall | None:
    """The Rollout asking, from ``?cluster=&namespace=&rollout=``; ``None`` when it does not say.

    An anonymous call is answered but binds nothing, so it can neither be
    counted step by step nor hold the wedge.
    """
    problems: list[FieldError] = []
    name = _string(problems, "rollout", query.get("rollout"), required=False, pattern=_NAME)
    namespace = _string(
        problems, "namespace", query.get("namespace"), required=bool(name), pattern=_NAMESPACE
    )
    cluster = _string(problems, "cluster", query.get("cluster"), required=False, pattern=_CLUSTER)
    if problems:
        raise InvalidInput(problems)
    if not name:
        return None
    return CanaryCall(
        tool=Tool.ARGO,
        gate=ARGO_GATE,
        namespace=namespace,
        name=name,
        cluster=cluster,
        proposal_id=proposal_id,
    )


# Argo Rollouts' status phases; an aborted rollout is Degraded.
ARGO_PHASES: Final = ("Progressing", "Paused", "Healthy", "Degraded")


def parse_argo_report(proposal_id: int, body: object) -> CanaryCall:
    """A Rollout's report from Argo's notifications: ``{"cluster", "namespace", "rollout",
    "phase", "message"}`` (``docs/integrations/argo-rollouts.md``)."""
    if not isinstance(body, dict):
        raise InvalidInput(
            [FieldError(None, errors.NOT_AN_OBJECT, "Send the report as a JSON object.")]
        )
    problems: list[FieldError] = []
    name = _string(problems, "rollout", body.get("rollout"), required=True, pattern=_NAME)
    namespace = _string(
        problems, "namespace", body.get("namespace"), required=True, pattern=_NAMESPACE
    )
    cluster = _string(problems, "cluster", body.get("cluster"), required=False, pattern=_CLUSTER)
    phase = _string(problems, "phase", body.get("phase"), required=True, limit=32)
    if phase and phase not in ARGO_PHASES:
        problems.append(
            FieldError(
                "phase",
                errors.UNKNOWN_PHASE,
                f"phase {phase!r} is none of Argo Rollouts' {', '.join(ARGO_PHASES)}.",
            )
        )
    message = _string(problems, "message", body.get("message"), required=False, limit=10_000)
    if problems:
        raise InvalidInput(problems)
    return CanaryCall(
        tool=Tool.ARGO,
        gate=ARGO_REPORT,
        namespace=namespace,
        name=name,
        cluster=cluster,
        phase=phase,
        proposal_id=proposal_id,
        event_type="Warning" if phase == "Degraded" else "Normal",
        event_message=message[:_TEXT_MAX],
    )


def token_in(body: object) -> str | None:
    """``metadata.token`` of a Flagger payload, if it has a string one."""
    if isinstance(body, dict):
        metadata = body.get("metadata")
        if isinstance(metadata, dict):
            token = metadata.get("token")
            if isinstance(token, str):
                return token
    return None
