"""Policy versions through the API and the page, end to end."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from policies.demo import seed_demo_policy_change
from policies.models import PolicyVersion, Status


def test_propose_and_approve_through_the_api(demo, token_client):
    effective = (timezone.now() + timedelta(days=1)).isoformat()
    bob, frank = token_client("bob"), token_client("frank")
    loose = bob.post(
        "/api/v1/policy-versions/",
        {"critical_initial_cap": 15, "rationale": "More room.", "effective_at": effective},
        format="json",
    )
    assert loose.status_code == 400
    assert loose.json()["errors"][0]["field"] == "critical_initial_cap"
    assert loose.json()["errors"][0]["code"] == "loosens_policy"
    created = bob.post(
        "/api/v1/policy-versions/",
        {"min_stages": 3, "rationale": "Three stages.", "effective_at": effective},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["changes"] == [
        {"field": "min_stages", "label": "Minimum number of stages", "from": 2, "to": 3}
    ]
    assert bob.post("/api/v1/policy-versions/2/approve/").json()["errors"][0]["code"] == (
        "self_approval"
    )
    approved = frank.post("/api/v1/policy-versions/2/approve/", {"reason": "ok"}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    listed = bob.get("/api/v1/policy-versions/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["number"] for row in rows] == [2, 1]
    assert [row["in_force"] for row in rows] == [False, True]  # effective tomorrow


def test_the_page_shows_versions_and_lets_another_lead_decide(demo):
    seed_demo_policy_change()
    version = PolicyVersion.objects.get(status=Status.PROPOSED)
    bob, frank = Client(), Client()
    bob.force_login(demo["bob"])
    frank.force_login(demo["frank"])
    page = bob.get("/policy/").content.decode()
    assert "In force" in page
    assert "Review version 2" in page
    assert "Approve version 2" not in page
    other = frank.get("/policy/").content.decode()
    assert "Approve version 2" in other
    assert "(was 25 %)" in other
    response = frank.post(f"/policy/{version.number}/approve/", {"reason": "Agreed."})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == Status.APPROVED
    assert version.decided_by == demo["frank"]


def test_the_propose_form_shows_field_errors(demo):
    client = Client()
    client.force_login(demo["frank"])
    response = client.post(
        "/policy/propose/",
        {"first_stage_cap": "40", "rationale": "", "effective_at": ""},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "first_stage_cap" in form.errors
    assert "rationale" in form.errors


def test_the_proposal_page_speaks_in_its_versions_numbers(demo, submit):
    from policies import services

    now = timezone.now()
    version = services.policy_version_propose(
        actor=demo["bob"],
        values={"min_stages": 5},
        rationale="More stages.",
        effective_at=now,
        now=now,
    )
    services.policy_version_approve(version=version, actor=demo["frank"], now=now)
    proposal = submit()  # four stages: one short of version 2's five
    assert proposal.waiver_required
    client = Client()
    client.force_login(demo["alice"])
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "Validated under policy version 2" in page
    assert "fewer than 5 stages" in page
