import pytest
from pytest_django.asserts import assertContains, assertNotContains

from wedges.models import ChangeProposal

from .form_data import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, demo):
    client.force_login(demo["alice"])
    return client


def test_form_page_offers_two_stage_rows(alice):
    response = alice.get("/proposals/new/")
    assert response.status_code == 200
    assertContains(response, 'name="stages-TOTAL_FORMS" value="2"', html=False)
    assertContains(response, 'id="stage-template"')
    assertContains(response, 'for="id_title"')


def test_submitting_a_valid_form_stores_the_proposal(alice, proposal_body):
    response = alice.post("/proposals/new/", form_data(proposal_body))
    proposal = ChangeProposal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/proposals/{proposal.pk}/"
    assert proposal.author.username == "alice"
    assert [s.stage_id for s in proposal.rollout_wedge.stages.all()] == ["canary", "half", "full"]
    assert proposal.rollout_wedge.stages.all()[0].success_criteria == [
        "error_rate < 0.01",
        "p99 <= 200ms",
    ]
    page = alice.get(response["Location"])
    assertContains(page, "Roll out connector runtime 2.4")
    assertContains(page, "was submitted")


def test_every_error_is_shown_next_to_its_input(alice, proposal_body):
    proposal_body["rollout_wedge"]["observation_window_hours"] = 0.99
    proposal_body["rollout_wedge"]["wedge_stages"][1]["target_percentage"] = 10
    response = alice.post("/proposals/new/", form_data(proposal_body))
    assert response.status_code == 400
    html = response.content.decode()
    window_errors = html.split('id="err-observation_window_hours"')[1].split("</div>")[0]
    assert 'data-code="observation_window_too_short"' in window_errors
    assert "The policy observes every stage for at least 1 hour." in window_errors
    stage_errors = html.split('id="err-stages-1-target_percentage"')[1].split("</div>")[0]
    assert 'data-code="targets_not_increasing"' in stage_errors
    assert "Targets rise from stage to stage: enter more than stage 1&#x27;s 10 %." in stage_errors
    assert ChangeProposal.objects.count() == 0


def test_a_refused_submit_summarises_the_errors_with_links_and_marks_the_inputs(
    alice, proposal_body
):
    proposal_body["title"] = ""
    proposal_body["rollout_wedge"]["wedge_stages"][1]["target_percentage"] = 10
    response = alice.post("/proposals/new/", form_data(proposal_body))
    html = response.content.decode()
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    assert "2 problems to fix" in summary
    assert '<a href="#id_title">Title</a>: Enter a title that says what the change does.' in summary
    assert '<a href="#id_stages-1-target_percentage">Stage 2, target (%)</a>' in summary
    assert 'name="title"' in html
    assert html.split('name="title"')[1].split(">")[0].count('aria-invalid="true"') == 1
    assert html.count('aria-invalid="true"') == 2
    assert "data-submitted" in html
    # Nothing in the API's language reaches the page.
    for api_word in ("required", "targets_not_increasing", "wedge_stages", "rollout_wedge."):
        assert api_word not in summary


def test_removed_rows_do_not_count(alice, proposal_body):
    data = form_data(proposal_body, extra_rows=1)
    data["stages-3-stage_id"] = "ghost"
    data["stages-3-DELETE"] = "on"
    data["stages-1-DELETE"] = "on"  # remove "half": 10 -> 90 is still a valid ladder
    response = alice.post("/proposals/new/", data)
    assert response.status_code == 302
    stages = ChangeProposal.objects.get().rollout_wedge.stages.all()
    assert [s.stage_id for s in stages] == ["canary", "full"]


def test_errors_after_a_removed_row_land_on_the_right_row(alice, proposal_body):
    proposal_body["rollout_wedge"]["wedge_stages"][2]["rollback_trigger"] = "p99 >"
    data = form_data(proposal_body)
    data["stages-1-DELETE"] = "on"
    html = alice.post("/proposals/new/", data).content.decode()
    row_two = html.split('id="err-stages-2-rollback_trigger"')[1].split("</div>")[0]
    assert "expression_invalid" in row_two
    # The removed row comes back hidden and still removed, with what it held: not
    # as an empty row, and not counted in the stage numbers of the summary.
    removed = html.split('name="stages-1-stage_id"')[0].rsplit("<fieldset", 1)[1]
    assert "hidden" in removed.split(">")[0]
    assert 'name="stages-1-stage_id" value="half"' in html
    assert 'name="stages-1-DELETE" id="id_stages-1-DELETE" checked' in html
    assert "Stage 2, rollback trigger" in html


def test_live_validation_places_errors_out_of_band(alice, proposal_body):
    proposal_body["rollout_wedge"]["initial_percentage"] = 0
    response = alice.post(
        "/proposals/new/validate/", form_data(proposal_body), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 problem to fix" in html
    initial = html.split('id="err-initial_percentage"')[1].split("</div>")[0]
    assert 'hx-swap-oob="true"' in initial
    assert 'data-code="initial_not_positive"' in initial
    assert "Enter a percentage greater than 0." in initial
    # Fields without errors get an empty container, clearing stale messages.
    assert (
        'id="err-title" class="field-errors" aria-live="polite" data-errors-for="title" '
        'hx-swap-oob="true"></div>' in html
    )
    assert ChangeProposal.objects.count() == 0


def test_live_validation_of_a_valid_form(alice, proposal_body):
    response = alice.post("/proposals/new/validate/", form_data(proposal_body))
    assertContains(response, "The wedge is valid.")
    # Three 1 h stages with a 1 h window: the total is taken apart.
    assertContains(
        response,
        "<strong>Planned total: 6 h</strong> — the stages' durations (3 h) plus one 1 h "
        "observation window for each of the 3 stages (3 h).",
    )
    assertContains(response, "At the earliest it finishes in 3 h")


def test_the_limits_follow_the_chosen_subsystem(alice, proposal_body):
    page = alice.get("/proposals/new/")
    assertContains(page, "at most 10 % on a critical subsystem")
    proposal_body["subsystem"] = "control-plane"
    live = alice.post("/proposals/new/validate/", form_data(proposal_body))
    help_text = live.content.decode().split('id="id_initial_percentage_help"')[1]
    assert "Control plane is critical: at most 10 %" in help_text.split("</small>")[0]
    proposal_body["subsystem"] = "connector-runtime"
    live = alice.post("/proposals/new/validate/", form_data(proposal_body))
    help_text = live.content.decode().split('id="id_initial_percentage_help"')[1]
    assert "Connector runtime is not critical" in help_text.split("</small>")[0]


def test_generate_stages_fills_rows_from_the_policy(alice):
    data = {
        "initial_percentage": "5",
        "max_blast_radius": "80",
        "increment_policy": "exponential",
        "observation_window_hours": "2",
        "stage_count": "5",
        "stages-0-success_criteria": "error_rate < 0.01",
        "stages-0-rollback_trigger": "error_rate > 0.05",
    }
    response = alice.post("/proposals/new/ladder/", data)
    html = response.content.decode()
    assert 'name="stages-TOTAL_FORMS" value="5"' in html
    assert 'name="stages-0-target_percentage" value="5"' in html
    assert 'name="stages-4-target_percentage" value="80"' in html
    assert 'name="stages-2-target_percentage" value="20"' in html  # 5 * 2^2
    assert 'name="stages-3-duration_hours" value="2"' in html
    assert html.count("error_rate &gt; 0.05") >= 5


def test_generate_stages_uses_round_numbers_and_the_first_stage_s_criteria(alice):
    data = {
        "initial_percentage": "5",
        "max_blast_radius": "100",
        "increment_policy": "linear",
        "observation_window_hours": "1",
        "stage_count": "3",
        "stages-TOTAL_FORMS": "2",
        "stages-INITIAL_FORMS": "0",
        "stages-0-stage_id": "canary",
        "stages-0-DELETE": "on",
        "stages-1-stage_id": "",
        "stages-1-success_criteria": "error_rate < 0.01\np99 <= 200ms",
        "stages-1-rollback_trigger": "error_rate > 0.05",
    }
    html = alice.post("/proposals/new/ladder/", data).content.decode()
    targets = [
        html.split(f'name="stages-{n}-target_percentage" value="')[1].split('"')[0]
        for n in range(3)
    ]
    assert targets == ["5", "50", "100"]  # not 52.5
    assert html.count("error_rate &lt; 0.01\np99 &lt;= 200ms</textarea>") == 3
    assert html.count('value="error_rate &gt; 0.05"') == 3
    # The removed row's id is not reused.
    assert 'name="stages-0-stage_id" value="stage-1"' in html


def test_generate_stages_explains_missing_inputs(alice):
    response = alice.post("/proposals/new/ladder/", {"stage_count": "3"})
    assertContains(response, "Fill in the initial percentage and the max blast radius first.")


def test_form_for_waivable_proposal_warns_it_needs_a_waiver(alice, proposal_body):
    proposal_body["rollout_wedge"]["wedge_stages"] = proposal_body["rollout_wedge"]["wedge_stages"][
        :1
    ]
    response = alice.post("/proposals/new/", form_data(proposal_body), follow=True)
    assertContains(response, "needs a waiver before it can start")
    assert ChangeProposal.objects.get().waiver_required


@pytest.mark.parametrize("username", ["carol", "erin"])
def test_roles_without_engineer_rights_get_403(client, demo, username, proposal_body):
    client.force_login(demo[username])
    assert client.get("/proposals/new/").status_code == 403
    assert client.post("/proposals/new/", form_data(proposal_body)).status_code == 403
    assert ChangeProposal.objects.count() == 0


def test_list_page_filters(client, demo, submit):
    submit("alice", title="Pool connections")
    submit("alice", title="Rotate keys", change_type="security_patch")
    client.force_login(demo["erin"])
    response = client.get("/proposals/", {"change_type": "security_patch"})
    assertContains(response, "Rotate keys")
    assertNotContains(response, "Pool connections")
    assertNotContains(response, "New proposal")  # auditors cannot submit


# Each input of the form, and where its error is shown.
EVERY_INPUT = [
    ("title", "err-title"),
    ("description", "err-description"),
    ("change_type", "err-change_type"),
    ("subsystem", "err-subsystem"),
    ("external_reference", "err-external_reference"),
    ("initial_percentage", "err-initial_percentage"),
    ("increment_policy", "err-increment_policy"),
    ("max_blast_radius", "err-max_blast_radius"),
    ("observation_window_hours", "err-observation_window_hours"),
    ("stages-1-stage_id", "err-stages-1-stage_id"),
    ("stages-1-target_percentage", "err-stages-1-target_percentage"),
    ("stages-1-duration_hours", "err-stages-1-duration_hours"),
    ("stages-1-success_criteria", "err-stages-1-success_criteria"),
    ("stages-1-rollback_trigger", "err-stages-1-rollback_trigger"),
]


@pytest.mark.parametrize(("name", "container"), EVERY_INPUT)
def test_a_nul_in_any_input_is_shown_next_to_it(alice, proposal_body, name, container):
    data = form_data(proposal_body)
    data[name] = data[name][:2] + "\x00" + data[name][2:]
    response = alice.post("/proposals/new/", data)
    assert response.status_code == 400
    errors = response.content.decode().split(f'id="{container}"')[1].split("</div>")[0]
    assert "invalid_characters" in errors
    assert ChangeProposal.objects.count() == 0
    live = alice.post("/proposals/new/validate/", data, HTTP_HX_REQUEST="true")
    assert live.status_code == 200
    assert "invalid_characters" in live.content.decode().split(f'id="{container}"')[1]


@pytest.mark.parametrize(
    ("name", "value", "container", "code"),
    [
        ("change_type", "rocket_launch", "err-change_type", "invalid_choice"),
        ("subsystem", "no-such-subsystem", "err-subsystem", "unknown_subsystem"),
        ("increment_policy", "geometric", "err-increment_policy", "increment_policy_invalid"),
        ("title", "x" * 201, "err-title", "too_long"),
    ],
)
def test_values_the_page_never_offers_are_judged_not_dropped(
    alice, proposal_body, name, value, container, code
):
    data = form_data(proposal_body)
    data[name] = value
    response = alice.post("/proposals/new/", data)
    assert response.status_code == 400
    assert code in response.content.decode().split(f'id="{container}"')[1].split("</div>")[0]
