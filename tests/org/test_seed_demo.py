import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from org.models import Section, Subsystem, User


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
    call_command("seed_demo")
    assert organisation_state() == before
    assert "already in place" in capsys.readouterr().out
