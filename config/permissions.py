"""The permission table: who may do what, through the web and the API alike.

One row (``Action``) per thing a person or a pipeline can do. A row names the
pages and the API endpoints that do it, by URL name; what each kind of
caller gets (``Action.who``); and, for each API endpoint, what an API token
needs for it (``Api.scope``) and how the token's subsystem limit applies
(``Api.reach``). This module is where those facts live, once:

- the token authentication (``config.api.auth``) reads each call's scope and
  reach from here (``api_endpoint``), for every API view: a view declares
  nothing itself;
- ``docs/permissions.md`` is generated from it (``manage.py permissions_table``);
- ``tests/test_permission_table.py`` walks every row through every page and
  endpoint named in it, as every kind of caller and with every token scope,
  and fails when a URL is missing from the table or a row names one that
  is gone.

Who may act is still decided by the role checks (``org.access``) and the
services, on the server, for every request; the table says what they must
add up to, and the walk holds them to it. Adding a page or an endpoint
means adding it to a row here (or a new row), nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from urllib.parse import unquote

from org.models import Scope


class Principal(StrEnum):
    """The table's columns: kinds of caller, each in a fixed relation to the object acted on.

    The object is a proposal (or a waiver, incident ... of one) that the
    engineer authored, on a subsystem of the section the section lead leads.
    """

    ENGINEER = "engineer"
    OTHER_ENGINEER = "another engineer"
    OPERATOR = "operator"
    LEAD = "section lead"
    OTHER_LEAD = "lead elsewhere"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SERVICE = "service account"
    ANONYMOUS = "anonymous"


PRINCIPAL_NOTES: Final[Mapping[Principal, str]] = MappingProxyType(
    {
        Principal.ENGINEER: "the engineer who authored the proposal (and requested its waiver)",
        Principal.OTHER_ENGINEER: "an engineer who did not",
        Principal.OPERATOR: "an operator",
        Principal.LEAD: "a section lead of the section owning the proposal's subsystem",
        Principal.OTHER_LEAD: "a section lead of another section",
        Principal.REVIEWER: "a reviewer",
        Principal.AUDITOR: "an auditor",
        Principal.ADMIN: "an administrator (superuser), holding no role",
        Principal.SERVICE: "a pipeline's service account (an engineer that signs in with "
        "API tokens only), not the author; its fleet-agent tokens are in the token table",
        Principal.ANONYMOUS: "not signed in",
    }
)

SIGNED_IN: Final = frozenset(Principal) - {Principal.ANONYMOUS}
PEOPLE: Final = SIGNED_IN - {Principal.SERVICE}
# Holders of org.view_all (and the administrator): they read everything.
READ_ALL: Final = frozenset(
    {
        Principal.OPERATOR,
        Principal.LEAD,
        Principal.OTHER_LEAD,
        Principal.REVIEWER,
        Principal.AUDITOR,
        Principal.ADMIN,
    }
)
OPERATE: Final = frozenset({Principal.OPERATOR, Principal.LEAD, Principal.ADMIN})
# Those who may submit proposals (org.act_as_engineer, or the administrator).
SUBMIT: Final = frozenset(
    {
        Principal.ENGINEER,
        Principal.OTHER_ENGINEER,
        Principal.OPERATOR,
        Principal.LEAD,
        Principal.OTHER_LEAD,
        Principal.ADMIN,
        Principal.SERVICE,
    }
)


class Outcome(StrEnum):
    YES = "yes"
    FORBIDDEN = "403"  # may read the object (or there is none), may not do this
    HIDDEN = "404"  # may not read the object: answered as if it did not exist
    SIGN_IN = "sign in"  # the sign-in page; 401 from the API
    NO_SCOPE = "scope"  # a token without the scope: 403 insufficient_scope
    NONE = "n/a"  # service accounts have no web session


class Subject(StrEnum):
    """What an action is done to, as the table's walk sets it up."""

    NOTHING = "—"
    PROPOSAL = "a pending proposal"
    RUNNING = "an active rollout"
    PAUSED = "a paused rollout"
    ELIGIBLE = "a manual rollout whose stage is eligible"
    NEEDS_WAIVER = "a proposal that needs a waiver"
    WAIVER = "an open waiver request"
    INCIDENT = "an incident of the proposal"
    SUBSCRIPTION = "a webhook subscription of the section"
    TOKEN = "one's own API token"
    PROVIDER = "a metric provider"
    CANARY = "a canary bound to the proposal"
    POLICY_CHANGE = "a policy change under review, proposed by a third section lead"
    FREEZE = "a scheduled change freeze of the proposal's subsystem"


class Reach(StrEnum):
    """How an API token's subsystem limit applies to an endpoint."""

    ANY = "does not apply"
    LIST = "narrows the answer"
    OBJECT = "its subsystems' objects, others 404"
    TARGET = "its subsystems, others 403"
    UNLIMITED = "not allowed"


@dataclass(frozen=True)
class Api:
    """An API endpoint: method and URL name, and what a token needs for it."""

    method: str
    route: str
    scope: Scope | None  # None: any token of the caller
    reach: Reach
    # A service account's token holding ``scope`` by name reaches every proposal
    # of the token's subsystems, not only its own (org.scopes.acts_for_fleet).
    fleet: bool = False
    # What the endpoint answers for an object the caller may not read, when the
    # object is named in the body rather than the URL (as for an unknown id).
    hidden_status: int = 404


@dataclass(frozen=True)
class Page:
    """A page or form of the web app: method, URL name and fixed URL arguments."""

    method: str
    route: str
    kwargs: Mapping[str, str] = field(default_factory=dict)
    hidden_status: int = 404


@dataclass(frozen=True)
class Action:
    key: str
    does: str
    subject: Subject
    who: Mapping[Principal, Outcome]
    api: tuple[Api, ...] = ()
    web: tuple[Page, ...] = ()
    note: str = ""
    # For an endpoint the walk cannot call as the table's callers (one that
    # authenticates by a secret of its own, like a receiver of another tool's
    # alerts): the test module that holds it to this row instead.
    tested_in: str = ""


def who(
    *,
    yes: Iterable[Principal] = (),
    forbidden: Iterable[Principal] = (),
    hidden: Iterable[Principal] = (),
    public: bool = False,
) -> Mapping[Principal, Outcome]:
    """One row's cells. Every signed-in kind of caller must be named once.

    The service account may be left out of a row with pages only: it has no
    web session (``Outcome.NONE``). Anonymous callers are sent to sign in
    unless the row is ``public``.
    """
    cells: dict[Principal, Outcome] = {}
    for outcome, principals in (
        (Outcome.YES, yes),
        (Outcome.FORBIDDEN, forbidden),
        (Outcome.HIDDEN, hidden),
    ):
        for principal in principals:
            if principal in cells:
                raise ValueError(f"{principal} named twice")
            cells[principal] = outcome
    cells.setdefault(Principal.SERVICE, Outcome.NONE)
    missing = SIGNED_IN - set(cells)
    if missing:
        raise ValueError(f"no outcome for {sorted(missing)}")
    cells[Principal.ANONYMOUS] = Outcome.YES if public else Outcome.SIGN_IN
    return MappingProxyType(cells)


def _operate(action: str, does: str, subject: Subject) -> Action:
    return Action(
        key=f"proposal.{action}",
        does=does,
        subject=subject,
        who=who(
            yes=OPERATE,
            forbidden={
                Principal.ENGINEER,
                Principal.OTHER_LEAD,
                Principal.REVIEWER,
                Principal.AUDITOR,
            },
            hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
        ),
        api=(Api("POST", f"api:proposal-{action}", Scope.OPERATE, Reach.OBJECT),),
        web=(Page("POST", "proposals:operate", {"action": action}),),
    )


READ_PROPOSAL: Final = who(
    yes={Principal.ENGINEER, *READ_ALL},
    hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
)
EVERYONE_SIGNED_IN: Final = who(yes=SIGNED_IN)
EVERY_PERSON: Final = who(yes=PEOPLE)
PUBLIC: Final = who(yes=PEOPLE, public=True)
WAIVER_VOTE: Final = who(
    yes={Principal.LEAD, Principal.OTHER_LEAD, Principal.REVIEWER},
    forbidden={Principal.ENGINEER, Principal.OPERATOR, Principal.AUDITOR, Principal.ADMIN},
    hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
)
MANAGE_SUBSCRIPTION: Final = who(
    yes=OPERATE,
    hidden={Principal.OTHER_LEAD},
    forbidden={
        Principal.ENGINEER,
        Principal.OTHER_ENGINEER,
        Principal.REVIEWER,
        Principal.AUDITOR,
        Principal.SERVICE,
    },
)
POLICY_REVIEW: Final = who(
    yes={Principal.LEAD, Principal.OTHER_LEAD},
    forbidden=SIGNED_IN - {Principal.LEAD, Principal.OTHER_LEAD},
)
# Those who report a running rollout's health (metrics, alerts, canary reports):
# the author and the operators; a fleet agent's token by its scope.
REPORT_METRICS: Final = who(
    yes={Principal.ENGINEER, *OPERATE},
    forbidden={Principal.OTHER_LEAD, Principal.REVIEWER, Principal.AUDITOR},
    hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
)
# Declaring and ending change freezes: the section's lead (any lead for the
# whole organisation) and the administrator.
MANAGE_FREEZE: Final = who(
    yes={Principal.LEAD, Principal.ADMIN},
    forbidden=SIGNED_IN - {Principal.LEAD, Principal.ADMIN},
)
NOT_WEBHOOK_MANAGERS: Final = frozenset(
    {
        Principal.ENGINEER,
        Principal.OTHER_ENGINEER,
        Principal.REVIEWER,
        Principal.AUDITOR,
        Principal.SERVICE,
    }
)

ACTIONS: Final[tuple[Action, ...]] = (
    # --- Proposals -------------------------------------------------------------------
    Action(
        "dashboard",
        "See the running rollouts",
        Subject.NOTHING,
        EVERY_PERSON,
        web=(Page("GET", "dashboard"),),
        note="Each sees the rollouts of the proposals they may read.",
    ),
    Action(
        "proposal.list",
        "List and search proposals",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(Api("GET", "api:proposal-list", None, Reach.LIST),),
        web=(Page("GET", "proposals:list"),),
        note="Each sees the proposals they may read: engineers and service accounts "
        "their own, everyone else all.",
    ),
    Action(
        "proposal.read",
        "Read a proposal, its wedge, chart and trail",
        Subject.PROPOSAL,
        READ_PROPOSAL,
        api=(
            Api("GET", "api:proposal-detail", None, Reach.OBJECT),
            Api("GET", "api:proposal-status", None, Reach.OBJECT),
        ),
        web=(
            Page("GET", "proposals:detail"),
            Page("GET", "proposals:live"),
            Page("GET", "providers:proposal_queries"),
        ),
        note="`status/` is the rollout's state in one read, for `wedge status` and "
        "`wedge watch`; the queries panel refreshes the page's metric queries.",
    ),
    Action(
        "proposal.submit",
        "Submit a proposal",
        Subject.NOTHING,
        who(yes=SUBMIT, forbidden={Principal.REVIEWER, Principal.AUDITOR}),
        api=(Api("POST", "api:proposal-list", Scope.PROPOSALS_WRITE, Reach.TARGET),),
        web=(Page("GET", "proposals:create"), Page("POST", "proposals:create")),
    ),
    Action(
        "proposal.dry_run",
        "Dry-run a submission; build a stage ladder",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(Api("POST", "api:proposal-validate", Scope.PROPOSALS_WRITE, Reach.ANY),),
        web=(Page("POST", "proposals:validate"), Page("POST", "proposals:ladder")),
        note="Creates nothing.",
    ),
    _operate("start", "Start a rollout", Subject.PROPOSAL),
    _operate("advance", "Approve an eligible stage's advance", Subject.ELIGIBLE),
    _operate("pause", "Pause a rollout", Subject.RUNNING),
    _operate("resume", "Resume a paused rollout", Subject.PAUSED),
    _operate("rollback", "Roll a rollout back", Subject.RUNNING),
    Action(
        "proposal.metrics",
        "Report a metric snapshot",
        Subject.RUNNING,
        REPORT_METRICS,
        api=(Api("POST", "api:proposal-metrics", Scope.METRICS_WRITE, Reach.OBJECT, fleet=True),),
        note="A service account's token with metrics:write reports for every proposal of "
        "its subsystems (a deployment agent).",
    ),
    Action(
        "proposal.desired_state",
        "Read the desired exposure",
        Subject.RUNNING,
        READ_PROPOSAL,
        api=(
            Api(
                "GET",
                "api:proposal-desired-state",
                Scope.DESIRED_STATE_READ,
                Reach.OBJECT,
                fleet=True,
            ),
        ),
        note="A service account's token with desired-state:read reads it for every "
        "proposal of its subsystems (a deployment agent).",
    ),
    Action(
        "alerts.receive",
        "Send Alertmanager's firing alerts, which roll their wedges back",
        Subject.RUNNING,
        REPORT_METRICS,
        api=(Api("POST", "api:alertmanager", Scope.METRICS_WRITE, Reach.OBJECT, fleet=True),),
        note="Alertmanager sends the token as `Authorization: Token <key>`. Each alert "
        "names its proposal or subsystem in a label; one the caller may not roll back is "
        "refused in the answer, per alert, and the call is still 200 (Alertmanager would "
        "retry anything else).",
        tested_in="tests/providers/test_alertmanager.py",
    ),
    Action(
        "gate.ask",
        "Ask a Flagger or Argo Rollouts gate whether the canary may take its step",
        Subject.RUNNING,
        READ_PROPOSAL,
        api=(
            *(
                Api(
                    "POST",
                    f"api:gate-flagger-{gate}",
                    Scope.DESIRED_STATE_READ,
                    Reach.OBJECT,
                    fleet=True,
                )
                for gate in (
                    "confirm-rollout",
                    "pre-rollout",
                    "rollout",
                    "confirm-traffic-increase",
                    "confirm-promotion",
                    "rollback",
                )
            ),
            Api("GET", "api:gate-argo", Scope.DESIRED_STATE_READ, Reach.OBJECT, fleet=True),
        ),
        note="Flagger sends no headers: the token travels in `metadata.token` or `?token=`. "
        "A token limited to subsystems finds only their proposals (404 otherwise). A held "
        "step is a 403 with the policy's reason, not a refusal of the caller.",
        tested_in="tests/gates/test_refused_calls.py",
    ),
    Action(
        "gate.report",
        "Report a canary's events and results from Flagger or Argo Rollouts",
        Subject.RUNNING,
        REPORT_METRICS,
        api=(
            Api("POST", "api:gate-flagger-event", Scope.METRICS_WRITE, Reach.OBJECT, fleet=True),
            Api(
                "POST",
                "api:gate-flagger-post-rollout",
                Scope.METRICS_WRITE,
                Reach.OBJECT,
                fleet=True,
            ),
            Api("POST", "api:gate-argo-report", Scope.METRICS_WRITE, Reach.OBJECT, fleet=True),
        ),
        note="What a report may change (a failure rolls the wedge back) is what a metric "
        "snapshot may: the author, operators, and a fleet agent's token for its subsystems.",
        tested_in="tests/gates/test_two_clusters.py",
    ),
    Action(
        "gate.detach",
        "Detach a canary (a cluster) from a proposal, so the wedge no longer waits for it",
        Subject.CANARY,
        who(
            yes=OPERATE,
            forbidden={
                Principal.ENGINEER,
                Principal.OTHER_LEAD,
                Principal.REVIEWER,
                Principal.AUDITOR,
            },
            hidden={Principal.OTHER_ENGINEER},
        ),
        web=(Page("POST", "gates:detach"),),
        tested_in="tests/gates/test_two_clusters.py",
    ),
    Action(
        "proposal.approvals",
        "See the manual stages waiting for one's approval",
        Subject.NOTHING,
        EVERY_PERSON,
        web=(Page("GET", "proposals:approvals"),),
        note="Lists only what the user may operate: empty for everyone else.",
    ),
    # --- Incidents -------------------------------------------------------------------
    Action(
        "incident.list",
        "List incidents",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(Api("GET", "api:incident-list", None, Reach.LIST),),
        note="Those of the proposals the caller may read.",
    ),
    Action(
        "incident.read",
        "Read an incident",
        Subject.INCIDENT,
        READ_PROPOSAL,
        api=(Api("GET", "api:incident-detail", None, Reach.OBJECT),),
    ),
    Action(
        "incident.list_of_proposal",
        "List a proposal's incidents",
        Subject.RUNNING,
        READ_PROPOSAL,
        api=(Api("GET", "api:proposal-incidents", None, Reach.OBJECT),),
        note="The proposal's page shows the same incidents.",
    ),
    Action(
        "incident.record",
        "Record an incident against a proposal",
        Subject.RUNNING,
        who(
            yes=OPERATE,
            forbidden={
                Principal.ENGINEER,
                Principal.OTHER_LEAD,
                Principal.REVIEWER,
                Principal.AUDITOR,
            },
            hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
        ),
        api=(Api("POST", "api:proposal-incidents", Scope.OPERATE, Reach.OBJECT),),
        web=(
            Page("GET", "reports:incident_create"),
            Page("POST", "reports:incident_create"),
        ),
    ),
    Action(
        "incident.upsert",
        "Create or update an incident from an incident tool",
        Subject.RUNNING,
        who(
            yes=OPERATE,
            forbidden={
                Principal.ENGINEER,
                Principal.OTHER_LEAD,
                Principal.REVIEWER,
                Principal.AUDITOR,
            },
            hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
        ),
        api=(Api("POST", "api:incident-list", Scope.OPERATE, Reach.OBJECT, hidden_status=400),),
        note="Keyed by source and external id: the same pair again updates. A proposal one "
        "may not read is an unknown id (400 `does_not_exist` on `proposal`). The CSV "
        "import (`manage.py import_incidents`) does the same from a file.",
    ),
    Action(
        "incident.import",
        "Import incidents from an incident tool's CSV export",
        Subject.NOTHING,
        who(
            yes=OPERATE | {Principal.OTHER_LEAD},
            forbidden={
                Principal.ENGINEER,
                Principal.OTHER_ENGINEER,
                Principal.REVIEWER,
                Principal.AUDITOR,
            },
        ),
        web=(Page("GET", "reports:incident_import"), Page("POST", "reports:incident_import")),
        note="Operators and section leads; each row is judged like `POST /api/v1/incidents/` "
        "(a row on a subsystem the importer may not operate is refused and listed).",
    ),
    # --- Waivers ---------------------------------------------------------------------
    Action(
        "waiver.list",
        "List waivers",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(Api("GET", "api:waiver-list", None, Reach.LIST),),
        web=(Page("GET", "waivers:list"),),
        note="Engineers and service accounts see the waivers they requested or that "
        "concern their proposals; everyone else all.",
    ),
    Action(
        "waiver.inbox",
        "See the waivers waiting for one's approval",
        Subject.NOTHING,
        who(
            yes={Principal.LEAD, Principal.OTHER_LEAD, Principal.REVIEWER},
            forbidden={
                Principal.ENGINEER,
                Principal.OTHER_ENGINEER,
                Principal.OPERATOR,
                Principal.AUDITOR,
                Principal.ADMIN,
            },
        ),
        web=(Page("GET", "waivers:inbox"),),
        note="The API's `?awaiting_me=true` filter is the same list.",
    ),
    Action(
        "waiver.read",
        "Read a waiver with its approvals and trail",
        Subject.WAIVER,
        READ_PROPOSAL,
        api=(Api("GET", "api:waiver-detail", None, Reach.OBJECT),),
        web=(Page("GET", "waivers:detail"),),
    ),
    Action(
        "waiver.request_form",
        "Open the waiver request form",
        Subject.NOTHING,
        who(yes=SUBMIT - {Principal.SERVICE}, forbidden={Principal.REVIEWER, Principal.AUDITOR}),
        web=(Page("GET", "waivers:create"),),
    ),
    Action(
        "waiver.request",
        "Request a waiver for a proposal",
        Subject.NEEDS_WAIVER,
        who(
            yes=SUBMIT - {Principal.OTHER_ENGINEER, Principal.SERVICE},
            forbidden={Principal.REVIEWER, Principal.AUDITOR},
            hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
        ),
        api=(
            Api("POST", "api:waiver-list", Scope.PROPOSALS_WRITE, Reach.OBJECT, hidden_status=400),
        ),
        web=(Page("POST", "waivers:create", hidden_status=400),),
        note="A proposal one may not read is answered like an unknown id (400 "
        "`does_not_exist` on `proposal`). A standing waiver's subsystem must be one of a "
        "token's subsystems (403 insufficient_scope).",
    ),
    Action(
        "waiver.approve",
        "Approve a waiver",
        Subject.WAIVER,
        WAIVER_VOTE,
        api=(Api("POST", "api:waiver-approve", Scope.ADMIN, Reach.OBJECT),),
        web=(Page("POST", "waivers:approve"),),
        note="By role, never by the superuser flag. The owning section's lead fills the "
        "lead's slot, anyone else who may review the reviewer's; never the requester or "
        "the proposal's author (409).",
    ),
    Action(
        "waiver.reject",
        "Reject a waiver",
        Subject.WAIVER,
        WAIVER_VOTE,
        api=(Api("POST", "api:waiver-reject", Scope.ADMIN, Reach.OBJECT),),
        web=(Page("POST", "waivers:reject"),),
    ),
    Action(
        "waiver.revoke",
        "Revoke a waiver",
        Subject.WAIVER,
        who(
            yes={Principal.LEAD, Principal.ADMIN},
            forbidden={
                Principal.ENGINEER,
                Principal.OPERATOR,
                Principal.OTHER_LEAD,
                Principal.REVIEWER,
                Principal.AUDITOR,
            },
            hidden={Principal.OTHER_ENGINEER, Principal.SERVICE},
        ),
        api=(Api("POST", "api:waiver-revoke", Scope.ADMIN, Reach.OBJECT),),
        web=(Page("POST", "waivers:revoke"),),
    ),
    # --- Audit and governance --------------------------------------------------------
    Action(
        "audit.read",
        "Read, filter and export the audit trail",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(
            Api("GET", "api:audit-events", Scope.AUDIT_READ, Reach.LIST),
            Api("GET", "api:audit-events-export", Scope.AUDIT_READ, Reach.LIST),
        ),
        web=(Page("GET", "audit:list"),),
        note="Each reads the events of what they may read, and their own sign-in and token "
        "events. A token limited to subsystems reads only the events of their proposals "
        "and waivers.",
    ),
    Action(
        "governance.report",
        "Read the quarterly governance report (and its CSV)",
        Subject.NOTHING,
        who(yes=READ_ALL, forbidden={Principal.ENGINEER, Principal.OTHER_ENGINEER}),
        web=(Page("GET", "reports:governance"),),
    ),
    # --- Policy versions ---------------------------------------------------------------
    Action(
        "policy.list",
        "Read the policy versions and the one in force",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(Api("GET", "api:policy-version-list", None, Reach.ANY),),
        web=(Page("GET", "policies:versions"),),
        note="The policy is everyone's: every signed-in caller reads every version.",
    ),
    Action(
        "policy.read",
        "Read one policy version",
        Subject.POLICY_CHANGE,
        EVERYONE_SIGNED_IN,
        api=(Api("GET", "api:policy-version-detail", None, Reach.ANY),),
    ),
    Action(
        "policy.propose",
        "Propose a policy version",
        Subject.NOTHING,
        POLICY_REVIEW,
        api=(Api("POST", "api:policy-version-list", Scope.ADMIN, Reach.UNLIMITED),),
        web=(Page("POST", "policies:propose"),),
        note="Section leads, by their role (never by the superuser flag). A token limited "
        "to subsystems cannot change the organisation's policy.",
    ),
    Action(
        "policy.approve",
        "Approve a policy version",
        Subject.POLICY_CHANGE,
        POLICY_REVIEW,
        api=(Api("POST", "api:policy-version-approve", Scope.ADMIN, Reach.UNLIMITED),),
        web=(Page("POST", "policies:decide", {"action": "approve"}),),
        note="Any section lead but the proposer (409 `self_approval`).",
    ),
    Action(
        "policy.reject",
        "Reject a policy version",
        Subject.POLICY_CHANGE,
        POLICY_REVIEW,
        api=(Api("POST", "api:policy-version-reject", Scope.ADMIN, Reach.UNLIMITED),),
        web=(Page("POST", "policies:decide", {"action": "reject"}),),
        note="Any section lead but the proposer (409 `self_approval`).",
    ),
    Action(
        "policy.withdraw",
        "Withdraw a policy proposal",
        Subject.POLICY_CHANGE,
        who(forbidden=PEOPLE),
        web=(Page("POST", "policies:decide", {"action": "withdraw"}),),
        note="Only the section lead who proposed it, none of the table's callers; on the "
        "policy page (the API has no withdrawal).",
    ),
    # --- Change freezes ---------------------------------------------------------------
    Action(
        "freeze.list",
        "List change freezes",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(Api("GET", "api:freeze-list", None, Reach.ANY),),
        web=(Page("GET", "freezes:list"),),
        note="Everyone reads them: a freeze stops everyone's rollouts in its scope.",
    ),
    Action(
        "freeze.read",
        "Read a change freeze",
        Subject.FREEZE,
        EVERYONE_SIGNED_IN,
        api=(Api("GET", "api:freeze-detail", None, Reach.ANY),),
    ),
    Action(
        "freeze.declare",
        "Declare a change freeze",
        Subject.NOTHING,
        MANAGE_FREEZE,
        api=(Api("POST", "api:freeze-list", Scope.OPERATE, Reach.UNLIMITED),),
        web=(Page("POST", "freezes:list"),),
        note="The walk freezes the proposal's subsystem. A section lead freezes the "
        "subsystems of their sections; any section lead may freeze the whole organisation. "
        "A freeze may cover every subsystem, so a token limited to subsystems may not "
        "declare one.",
    ),
    Action(
        "freeze.end",
        "End a change freeze early, or cancel one not yet started",
        Subject.FREEZE,
        MANAGE_FREEZE,
        api=(Api("POST", "api:freeze-end", Scope.OPERATE, Reach.UNLIMITED),),
        web=(Page("POST", "freezes:end"),),
        note="Whoever could have declared the freeze.",
    ),
    # --- Webhooks --------------------------------------------------------------------
    Action(
        "webhook.list",
        "List webhook subscriptions",
        Subject.NOTHING,
        who(yes={*OPERATE, Principal.OTHER_LEAD}, forbidden=NOT_WEBHOOK_MANAGERS),
        api=(Api("GET", "api:webhook-list", Scope.OPERATE, Reach.UNLIMITED),),
        note="Section leads see their sections' subscriptions; operators and admins all.",
    ),
    Action(
        "webhook.subscribe",
        "Subscribe a URL for a section",
        Subject.NOTHING,
        who(yes=OPERATE, forbidden={Principal.OTHER_LEAD, *NOT_WEBHOOK_MANAGERS}),
        api=(Api("POST", "api:webhook-list", Scope.OPERATE, Reach.UNLIMITED),),
        note="A subscription of one section receives every event of its subsystems, so a "
        "token limited to subsystems may not manage any.",
    ),
    Action(
        "webhook.manage",
        "Read, change or delete a subscription; read its delivery log",
        Subject.SUBSCRIPTION,
        MANAGE_SUBSCRIPTION,
        api=(
            Api("GET", "api:webhook-detail", Scope.OPERATE, Reach.UNLIMITED),
            Api("PATCH", "api:webhook-detail", Scope.OPERATE, Reach.UNLIMITED),
            Api("DELETE", "api:webhook-detail", Scope.OPERATE, Reach.UNLIMITED),
            Api("GET", "api:webhook-deliveries", Scope.OPERATE, Reach.UNLIMITED),
        ),
    ),
    # --- Metric providers ------------------------------------------------------------
    Action(
        "provider.read",
        "List and read the metric providers (never their credentials)",
        Subject.PROVIDER,
        EVERYONE_SIGNED_IN,
        api=(
            Api("GET", "api:metric-provider-list", None, Reach.ANY),
            Api("GET", "api:metric-provider-detail", None, Reach.ANY),
        ),
        note="Administrators configure them in the admin; wedge documents name them in "
        "`metric_queries`.",
    ),
    # --- The API's description -------------------------------------------------------
    Action(
        "api.schema",
        "Read the OpenAPI document and its browsable docs",
        Subject.NOTHING,
        EVERYONE_SIGNED_IN,
        api=(
            Api("GET", "api:schema", None, Reach.ANY),
            Api("GET", "api:docs", None, Reach.ANY),
        ),
    ),
    # --- Accounts --------------------------------------------------------------------
    Action(
        "account.tokens",
        "List, create and revoke one's own API tokens",
        Subject.TOKEN,
        EVERY_PERSON,
        web=(
            Page("GET", "account:tokens"),
            Page("POST", "account:tokens"),
            Page("GET", "account:token-revoke"),
            Page("POST", "account:token-revoke"),
        ),
        note="Someone else's token is a 404. A token carries only scopes its owner's roles "
        "can use. Service accounts get theirs from `create_api_token`.",
    ),
    Action(
        "account.password",
        "Change one's password",
        Subject.NOTHING,
        EVERY_PERSON,
        web=(
            Page("GET", "password_change"),
            Page("POST", "password_change"),
            Page("GET", "password_change_done"),
        ),
        note="Through the password validators.",
    ),
    Action(
        "account.sign_in",
        "Sign in and out; reset a forgotten password by email",
        Subject.NOTHING,
        PUBLIC,
        web=(
            Page("GET", "login"),
            Page("POST", "logout"),
            Page("GET", "password_reset"),
            Page("GET", "password_reset_done"),
            Page("GET", "password_reset_confirm", {"uidb64": "MQ", "token": "set-password"}),
            Page("GET", "password_reset_complete"),
        ),
        note="Service accounts cannot sign in. Failed sign-ins lock the user name and the "
        "address (see the README).",
    ),
    Action(
        "healthz",
        "Health check",
        Subject.NOTHING,
        PUBLIC,
        web=(Page("GET", "healthz"),),
        note="Details for staff only.",
    ),
    Action(
        "admin",
        "Use the Django admin",
        Subject.NOTHING,
        who(yes={Principal.ADMIN}, forbidden=PEOPLE - {Principal.ADMIN}),
        web=(Page("GET", "admin:index"),),
        note="Staff only; within it, Django's model permissions.",
    ),
)

# The routes the table does not cover on purpose, with why.
NOT_ACTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "api:not-found": "any other path under /api/v1/: 404 in the API's error shape",
    }
)

ANY_METHOD: Final = frozenset({"OPTIONS"})
_API: Final[Mapping[tuple[str, str], Api]] = MappingProxyType(
    {(api.method, api.route): api for action in ACTIONS for api in action.api}
)
# OPTIONS describes an endpoint and changes nothing: any token may ask.
_DESCRIBE: Final = Api("OPTIONS", "", None, Reach.ANY)


def api_endpoint(method: str, route: str | None) -> Api | None:
    """The table's entry for an API call (HEAD as GET); ``None`` when it has none."""
    if route is None:
        return None
    method = "GET" if method == "HEAD" else method
    if method in ANY_METHOD:
        return _DESCRIBE
    return _API.get((method, route))


class TokenLimit(StrEnum):
    """A token's subsystem limit, relative to the object acted on."""

    NONE = "no subsystem limit"
    SAME = "limited to the object's subsystem"
    OTHER = "limited to another subsystem"


def token_outcome(
    api: Api, scope: Scope, limit: TokenLimit, *, owner: Outcome, fleet_owner: bool = False
) -> Outcome:
    """What a token with ``scope`` and ``limit`` gets, its owner getting ``owner`` by role.

    ``fleet_owner``: the token's owner is a service account that may act as an
    engineer, so ``api.fleet`` applies.
    """
    if api.scope is not None and scope not in (api.scope, Scope.ADMIN):
        return Outcome.NO_SCOPE
    if api.reach is Reach.UNLIMITED and limit is not TokenLimit.NONE:
        return Outcome.NO_SCOPE
    outcome = owner
    if api.fleet and fleet_owner and scope == api.scope:
        outcome = Outcome.YES
    if limit is TokenLimit.OTHER:
        if api.reach is Reach.OBJECT and outcome is not Outcome.SIGN_IN:
            return Outcome.HIDDEN
        if api.reach is Reach.TARGET and outcome is Outcome.YES:
            return Outcome.NO_SCOPE
    return outcome


# --- docs/permissions.md --------------------------------------------------------------

_MARK: Final = {
    Outcome.YES: "✓",
    Outcome.FORBIDDEN: "403",
    Outcome.HIDDEN: "404",
    Outcome.SIGN_IN: "sign in",
    Outcome.NO_SCOPE: "—",
    Outcome.NONE: "n/a",
}
_PLACEHOLDER_ID: Final = 987654321
SUBJECT_KEYS: Final = ("pk", "id", "name")


def path_of(route: str, kwargs: Mapping[str, str] | None = None, *, subject: bool) -> str:
    """The URL of ``route`` as the docs write it: ``{id}`` where the object's id goes."""
    from django.urls import NoReverseMatch, reverse

    fixed = dict(kwargs or {})
    # The object goes in the URL by ``pk``, or by the ``id`` or ``name`` a route
    # names it by (the Argo gate, a metric provider); a route about no object
    # takes none of them.
    for key in [*(SUBJECT_KEYS if subject else ()), None]:
        arguments = fixed if key is None else {**fixed, key: str(_PLACEHOLDER_ID)}
        try:
            path = reverse(route, kwargs=arguments or None)
        except NoReverseMatch:
            continue
        return unquote(path).replace(str(_PLACEHOLDER_ID), "{name}" if key == "name" else "{id}")
    raise NoReverseMatch(f"{route}: no URL with these arguments")


def _endpoint(method: str, route: str, kwargs: Mapping[str, str] | None = None) -> str:
    return f"`{method} {path_of(route, kwargs, subject=True)}`"


def markdown() -> str:
    """``docs/permissions.md``, generated from ``ACTIONS``."""
    columns = list(Principal)
    lines = [
        "# Permissions",
        "",
        "<!-- Generated from config/permissions.py by `manage.py permissions_table"
        " > docs/permissions.md`; do not edit. -->",
        "",
        "Who may do what, in the web app and through the API alike. The table is code "
        "(`config/permissions.py`): the API's token check reads it, this page is generated "
        "from it, and `tests/test_permission_table.py` walks every row through every page "
        "and endpoint, as every kind of caller below and with every token scope, and fails "
        "when a page or an endpoint is missing from it.",
        "",
        "## Who may do what",
        "",
        "Each action is done to the object named in the *on* column: a proposal authored by "
        "the engineer, on a subsystem of the section the section lead leads (or a waiver, "
        "incident or subscription of it). The columns:",
        "",
    ]
    lines += [f"- **{principal.value}**: {PRINCIPAL_NOTES[principal]}" for principal in columns]
    lines += [
        "",
        "Cells: ✓ allowed; 403 refused; 404 answered as if the object did not exist (it may "
        "not be read, so its existence is not told); *sign in*: the sign-in page, or 401 "
        "from the API; n/a: service accounts have no web session. The API answers "
        "sessions and tokens alike; a token never does more than its owner's roles allow.",
        "",
        "| action | on | pages | API | " + " | ".join(p.value for p in columns) + " |",
        "|---|---|---|---|" + "---|" * len(columns),
    ]
    for action in ACTIONS:
        pages = "<br>".join(_endpoint(p.method, p.route, p.kwargs) for p in action.web) or "—"
        apis = "<br>".join(_endpoint(a.method, a.route) for a in action.api) or "—"
        cells = " | ".join(_MARK[action.who[p]] for p in columns)
        lines.append(f"| {action.does} | {action.subject.value} | {pages} | {apis} | {cells} |")
    lines += ["", "Notes:", ""]
    for action in ACTIONS:
        held = f" (Held to this row by `{action.tested_in}`.)" if action.tested_in else ""
        if action.note or held:
            lines.append(f"- *{action.does}*: {(action.note + held).strip()}")
    scopes = list(Scope)
    lines += [
        "",
        "## API tokens",
        "",
        "A token carries scopes and may be limited to subsystems (`create_api_token "
        "--scope ... --subsystem ...`, or the *API tokens* page). It is refused "
        "(`403 insufficient_scope`) where it lacks the scope an endpoint needs; `admin` "
        "stands for every scope. Where it has the scope it does what its owner's roles "
        "allow, as in the table above, within its subsystems:",
        "",
    ]
    lines += [f"- *{reach.value}*: {_REACH_NOTES[reach]}" for reach in Reach]
    lines += [
        "",
        "A token may carry only scopes its owner's roles can use: `proposals:write` "
        "for those who may submit, `metrics:write` for them and for operators and leads, "
        "`operate` for operators and leads; the others for everyone.",
        "",
        "| endpoint | subsystem limit | " + " | ".join(f"`{s.value}`" for s in scopes) + " |",
        "|---|---|" + "---|" * len(scopes),
    ]
    for action in ACTIONS:
        for api in action.api:
            marks = [
                _MARK[token_outcome(api, scope, TokenLimit.NONE, owner=Outcome.YES)]
                for scope in scopes
            ]
            reach = api.reach.value + (" (fleet)" if api.fleet else "")
            lines.append(f"| {_endpoint(api.method, api.route)} | {reach} | {' | '.join(marks)} |")
    lines += [
        "",
        "*(fleet)*: a token of a service account (an engineer by role) holding that scope by "
        "name, not through `admin`, reaches every proposal of its subsystems, not only the "
        "ones its account authored: a deployment agent reports metrics and reads the "
        "desired state of the whole fleet of a subsystem without operator rights.",
        "",
    ]
    return "\n".join(lines)


_REACH_NOTES: Final[Mapping[Reach, str]] = MappingProxyType(
    {
        Reach.ANY: "the call is about no subsystem; the limit does not matter.",
        Reach.LIST: "the answer lists only what belongs to the token's subsystems.",
        Reach.OBJECT: "an object of another subsystem is answered 404, as one the caller "
        "may not read.",
        Reach.TARGET: "the subsystem named in the body must be one of the token's "
        "(otherwise `403 insufficient_scope`).",
        Reach.UNLIMITED: "only a token without a subsystem limit may call it (otherwise "
        "`403 insufficient_scope`).",
    }
)
