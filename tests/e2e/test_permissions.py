import pytest
from playwright.sync_api import Page, expect

from wedges.models import RolloutWedge
from wedges.services import wedge_start

pytestmark = pytest.mark.django_db(transaction=True)


def test_user_without_the_right_sees_no_controls_and_gets_403(
    page: Page, live_server, sign_in, submit, demo
):
    proposal = submit("alice", title="Guarded rollout")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    sign_in(page, "erin")
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    expect(page.get_by_text("Guarded rollout").first).to_be_visible()
    expect(page.get_by_role("button", name="Roll back")).to_have_count(0)
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    # Posting anyway, with a valid CSRF token from the page, is refused.
    status = page.evaluate(
        """async (url) => {
            const token = document.querySelector('body').getAttribute('hx-headers');
            const csrf = JSON.parse(token)['X-CSRFToken'];
            const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': csrf,
                'Content-Type': 'application/x-www-form-urlencoded'}, body: 'reason=sneaky'});
            return r.status;
        }""",
        f"{live_server.url}/proposals/{proposal.pk}/rollback/",
    )
    assert status == 403
    assert RolloutWedge.objects.get(proposal=proposal).wedge_state == "ACTIVE"
