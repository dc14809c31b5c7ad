import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from audit.models import AuditEvent
from org.mail import drain
from org.models import Section, Subsystem, User
from waivers.demo import DEMO_KEY
from waivers.models import WaiverRequest
from wedges.models import RolloutWedge


def organisation_state() -> dict[str, object]:
    return {
        "users": sorted(
            (
                u.username,
                u.is_service_account,
                u.is_superuser,
                u.password,
                tuple(sorted(u.groups.values_list("name", flat=True))),
            )
            for u in User.objects.all()
        ),
        "sections": sorted(
            (s.slug, s.name, tuple(sorted(s.leads.values_list("username", flat=True))))
            for s in Section.objects.all()
        ),
        "subsystems": sorted(
            Subsystem.objects.values_list("slug", "name", "section__slug", "is_critical")
        ),
        "groups": sorted(
            (g.name, tuple(sorted(g.permissions.values_list("codename", flat=True))))
            for g in Group.objects.all()
        ),
    }


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_organisation(capsys):
    call_command("seed_demo")
    assert "Seeded:" in capsys.readouterr().out
    assert set(Section.objects.values_list("slug", flat=True)) == {"platform", "security"}
    assert set(Subsystem.objects.values_list("slug", "section__slug", "is_critical")) == {
        ("connector-runtime", "platform", False),
        ("control-plane", "platform", True),
    }
    roles = {u.username: set(u.groups.values_list("name", flat=True)) for u in User.objects.all()}
    assert roles["alice"] == {"engineer"}
    assert roles["bob"] == {"section lead"}
    assert roles["frank"] == {"section lead"}
    assert roles["carol"] == {"reviewer"}
    assert roles["dave"] == {"operator"}
    assert roles["erin"] == {"auditor"}
    assert roles["pipeline"] == {"engineer"}
    leads = {s.slug: [u.username for u in s.leads.all()] for s in Section.objects.all()}
    assert leads == {"platform": ["bob"], "security": ["frank"]}
    pipeline = User.objects.get(username="pipeline")
    assert pipeline.is_service_account
    assert not pipeline.has_usable_password()


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    before = organisation_state()
    rollouts = sorted(RolloutWedge.objects.values_list("proposal__title", "wedge_state"))
    events = AuditEvent.objects.count()
    call_command("seed_demo")
    assert organisation_state() == before
    assert sorted(RolloutWedge.objects.values_list("proposal__title", "wedge_state")) == rollouts
    assert AuditEvent.objects.count() == events
    assert "already in place" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_starts_demo_rollouts_and_a_waiver_awaiting_its_reviewer(mailoutbox):
    call_command("seed_demo")
    states = dict(RolloutWedge.objects.values_list("proposal__title", "wedge_state"))
    assert states["Connection pooling for connector runtime 2.4"] == "ACTIVE"
    assert states["Control-plane scheduler rewrite"] == "ACTIVE"
    assert states["Policy engine: stricter egress rules"] == "ROLLED_BACK"
    assert states["Rotate connector signing keys"] == "PENDING"
    assert states["Feature-flag client 1.8"] == "COMPLETE"
    assert states["Quota enforcement in the control plane"] == "PAUSED"
    waiver = WaiverRequest.objects.get(proposal__external_reference=DEMO_KEY)
    assert waiver.state == "PARTIALLY_APPROVED"
    assert list(waiver.approvals.values_list("approver__username", flat=True)) == ["bob"]
    drain()
    assert mailoutbox == []  # the demo emails nobody
