"""A demo waiver for `make run`: a single-stage security fix whose waiver has the
section lead's approval and waits for a reviewer's (carol's inbox)."""

from __future__ import annotations

from django.db import transaction

from org.models import User
from waivers.models import WaiverRequest
from waivers.services import waiver_approve, waiver_request
from wedges.demo import DEMO_REFERENCE
from wedges.models import ChangeProposal
from wedges.services import proposal_submit
from wedges.submission import check_submission

DEMO_KEY = f"{DEMO_REFERENCE}tls-hotfix"
HOTFIX = {
    "title": "Emergency TLS certificate rotation",
    "description": "The certificate expires in 36 hours; a staged rollout would not finish.",
    "change_type": "security_patch",
    "subsystem": "connector-runtime",
    "external_reference": DEMO_KEY,
    "rollout_wedge": {
        "wedge_stages": [
            {
                "stage_id": "everywhere",
                "target_percentage": 100,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01"],
                "rollback_trigger": "error_rate > 0.05",
            }
        ],
        "initial_percentage": 100,
        "increment_policy": "manual",
        "max_blast_radius": 100,
        "observation_window_hours": 1.0,
    },
}


@transaction.atomic
def seed_demo_waivers() -> list[str]:
    """Create the demo waiver once; returns what it created."""
    if ChangeProposal.objects.filter(external_reference=DEMO_KEY).exists():
        return []
    users = {u.username: u for u in User.objects.filter(username__in=["alice", "bob"])}
    check = check_submission(HOTFIX)
    assert check.waiver_required, check.to_dict()
    proposal = proposal_submit(check=check, author=users["alice"]).proposal
    waiver: WaiverRequest = waiver_request(
        requester=users["alice"],
        rationale="A certificate swap with no behaviour change; every node must have it "
        "before the old certificate expires.",
        duration_days=7,
        proposal=proposal,
    )
    waiver_approve(waiver=waiver, approver=users["bob"], comment="Agreed as section lead.")
    return [f"waiver #{waiver.pk} for {proposal.title!r}"]
