"""The reconciler against a real HAProxy and a stand-in Wedge over HTTP."""

import queue
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agent.haproxy import RuntimeAPI
from tests.workers import wait_until

from .conftest import event

T0 = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


def logged(caplog, name):
    return [r.fields for r in caplog.records if r.getMessage() == name]


# --- Reconcile on start, idempotently -----------------------------------------------------------


def test_reconcile_on_start_applies_and_reports_the_desired_state(
    reconciler, wedge, haproxy, caplog
):
    wedge.set(exposure_percentage=5.0, stage_id="initial")
    reconciler.reconcile_all(source="start")
    assert haproxy.weights() == (12, 244)
    assert wedge.reported() == [4.6875]  # what HAProxy has, not the 5 % asked for
    [applied] = logged(caplog, "applied")
    assert applied["canary_weight"] == "0->12"
    assert applied["stable_weight"] == "256->244"
    assert applied["stage"] == "initial"
    assert applied["source"] == "start"
    healthy, status = reconciler.status()
    assert healthy
    assert status["proposals"]["42"]["applied_exposure"] == 4.6875


def test_traffic_follows_the_weights(reconciler, wedge, haproxy):
    wedge.set(exposure_percentage=50.0)
    reconciler.reconcile_all(source="start")
    served = haproxy.served(80)
    # Weighted round robin is smooth, not exact, over a short run.
    assert 30 <= served.count("canary") <= 50
    assert served.count("canary") + served.count("stable") == 80


def test_reconciling_again_changes_nothing_and_reports_nothing_new(
    reconciler, wedge, haproxy, caplog
):
    reconciler.reconcile_all(source="start")
    reconciler.reconcile_all(source="poll")
    reconciler.reconcile_all(source="poll")
    assert len(logged(caplog, "applied")) == 1
    assert wedge.reported() == [9.765625]
    # The polls asked with the ETag and got 304s.
    assert [etag is not None for _, etag in wedge.reads] == [False, True, True]


def test_weights_changed_by_hand_are_put_back(reconciler, wedge, haproxy):
    reconciler.reconcile_all(source="start")
    haproxy.set_weight("canary", 200)
    reconciler.reconcile_all(source="poll")
    assert haproxy.weights() == (25, 231)
    assert wedge.reported() == [9.765625]  # same stage, same exposure: nothing new to say


def test_a_new_stage_is_reported_even_at_the_same_exposure(reconciler, wedge, haproxy):
    reconciler.reconcile_all(source="start")
    wedge.set(stage_id="canary-2")
    reconciler.reconcile_all(source="poll")
    assert wedge.reported() == [9.765625, 9.765625]


def test_a_stable_server_in_maintenance_is_reported_as_full_exposure(reconciler, wedge, haproxy):
    """Reality, not intent: with stable down every request goes to the canary."""
    RuntimeAPI(haproxy.config).command("set server app/stable state maint")
    reconciler.reconcile_all(source="start")
    assert haproxy.weights() == (25, 231)
    assert wedge.reported() == [100.0]


def test_a_report_that_moves_the_wedge_is_applied_at_once(reconciler, wedge, haproxy):
    """Wedge answers a snapshot with its state after evaluating it (a blast-radius rollback)."""
    wedge.after_report = {"wedge_state": "ROLLED_BACK", "exposure_percentage": 0.0}
    reconciler.reconcile_all(source="start")
    assert haproxy.weights() == (0, 256)
    assert wedge.reported() == [9.765625]


def test_nothing_is_reported_for_a_wedge_that_is_not_running(reconciler, wedge, haproxy):
    wedge.set(wedge_state="COMPLETE", stage_id="full", exposure_percentage=90.0)
    reconciler.reconcile_all(source="start")
    assert haproxy.weights() == (230, 26)
    assert wedge.reports == []


def test_an_unknown_proposal_is_logged_and_haproxy_left_alone(reconciler, wedge, haproxy, caplog):
    wedge.states.clear()
    reconciler.reconcile_all(source="start")
    assert haproxy.weights() == (0, 256)
    [refused] = logged(caplog, "wedge_refused")
    assert "404" in refused["error"]
    assert not reconciler.status()[0]


# --- Webhooks and their order -------------------------------------------------------------------


def test_a_webhook_applies_the_desired_state_it_announces(reconciler, wedge, haproxy, caplog):
    reconciler.reconcile_all(source="start")
    wedge.set(wedge_state="ROLLED_BACK", exposure_percentage=0.0)
    reconciler.handle(
        event(code="RWG-003", wedge_state="ROLLED_BACK", exposure_percentage=0.0, delivery="d-rb")
    )
    assert haproxy.weights() == (0, 256)
    applied = logged(caplog, "applied")[-1]
    assert applied["canary_weight"] == "25->0"
    assert applied["source"] == "webhook"
    assert applied["code"] == "RWG-003"
    assert applied["delivery"] == "d-rb"
    assert applied["latency_ms"] >= 0
    assert haproxy.served(10) == ["stable"] * 10


def test_an_older_event_after_a_newer_one_does_not_change_the_weight(
    reconciler, wedge, haproxy, caplog
):
    """Delivered newest first: the late, older event makes the agent re-read, nothing more."""
    wedge.set(stage_id="half", exposure_percentage=50.0)
    reconciler.handle(
        event(
            occurred_at=T0 + timedelta(seconds=5),
            stage_id="half",
            exposure_percentage=50.0,
            delivery="d-2",
        )
    )
    assert haproxy.weights() == (128, 128)
    reconciler.handle(
        event(occurred_at=T0, stage_id="canary", exposure_percentage=10.0, delivery="d-1")
    )
    assert haproxy.weights() == (128, 128)
    [late] = logged(caplog, "webhook_out_of_order")
    assert late["delivery"] == "d-1"
    assert len(wedge.reads) == 2  # it asked desired-state, which is the authority


@pytest.mark.parametrize("wedge_up", [True, False])
def test_an_older_advance_after_a_newer_rollback_does_not_raise_the_weight(
    reconciler, wedge, haproxy, wedge_up
):
    """RWG-003 (0 %) delivered first, the stage's earlier RWG-001 (10 %) late: stays at 0."""
    wedge.set(wedge_state="ROLLED_BACK", exposure_percentage=0.0)
    reconciler.handle(
        event(
            occurred_at=T0 + timedelta(seconds=5),
            code="RWG-003",
            wedge_state="ROLLED_BACK",
            exposure_percentage=0.0,
            delivery="d-2",
        )
    )
    assert haproxy.weights() == (0, 256)
    if not wedge_up:
        wedge.down()
    reconciler.handle(
        event(occurred_at=T0, stage_id="canary", exposure_percentage=10.0, delivery="d-1")
    )
    assert haproxy.weights() == (0, 256)


def test_the_authority_wins_over_an_event_that_looks_newer(reconciler, wedge, haproxy):
    """Wedge stamps an event before it takes the row lock; desired-state is what committed."""
    wedge.set(wedge_state="ROLLED_BACK", exposure_percentage=0.0)
    reconciler.handle(event(occurred_at=T0, stage_id="half", exposure_percentage=50.0))
    assert haproxy.weights() == (0, 256)


def test_with_wedge_down_a_newer_signed_event_is_applied(reconciler, wedge, haproxy, caplog):
    reconciler.reconcile_all(source="start")
    wedge.down()
    reconciler.handle(
        event(occurred_at=T0, code="RWG-003", wedge_state="ROLLED_BACK", exposure_percentage=0.0)
    )
    assert haproxy.weights() == (0, 256)
    assert logged(caplog, "webhook_applied_without_wedge")


def test_with_wedge_down_an_older_event_is_not_applied(reconciler, wedge, haproxy, caplog):
    reconciler.handle(
        event(
            occurred_at=T0 + timedelta(seconds=5),
            stage_id="half",
            exposure_percentage=50.0,
            delivery="d-2",
        )
    )
    wedge.down()
    reconciler.handle(
        event(occurred_at=T0, stage_id="canary", exposure_percentage=10.0, delivery="d-1")
    )
    assert haproxy.weights() == (25, 231)  # desired-state said 10 % at the first event
    [ignored] = logged(caplog, "webhook_not_applied")
    assert ignored["delivery"] == "d-1"
    assert ignored["reason"] == "older than an event already seen"


def test_with_wedge_down_a_rolled_back_wedge_stays_rolled_back(reconciler, wedge, haproxy, caplog):
    """ROLLED_BACK is final: even an event stamped later cannot raise the weight again."""
    wedge.set(wedge_state="ROLLED_BACK", exposure_percentage=0.0)
    reconciler.reconcile_all(source="start")
    wedge.down()
    reconciler.handle(event(occurred_at=T0, stage_id="half", exposure_percentage=50.0))
    assert haproxy.weights() == (0, 256)
    assert logged(caplog, "webhook_not_applied")[0]["reason"] == "wedge is ROLLED_BACK"


# --- Wedge down ---------------------------------------------------------------------------------


def test_wedge_down_holds_the_last_applied_state_and_says_so(reconciler, wedge, haproxy, caplog):
    reconciler.reconcile_all(source="start")
    wedge.down()
    haproxy.set_weight("canary", 256)  # someone's hand, while Wedge is away
    for _ in range(3):
        reconciler.reconcile_all(source="poll")
    assert haproxy.weights() == (25, 231)
    [down] = logged(caplog, "wedge_unreachable")  # once, not at every poll
    assert down["holding"] == "9.765625% (canary=25 stable=231)"
    healthy, status = reconciler.status()
    assert not healthy
    assert status["proposals"]["42"]["wedge_error"]
    assert status["proposals"]["42"]["applied_exposure"] == 9.765625

    wedge.up()
    reconciler.reconcile_all(source="poll")
    assert logged(caplog, "wedge_reachable")
    assert reconciler.status()[0]


def test_wedge_down_at_start_leaves_haproxy_as_it_is(reconciler, wedge, haproxy, caplog):
    haproxy.set_weight("canary", 3)
    wedge.down()
    reconciler.reconcile_all(source="start")
    assert haproxy.weights() == (3, 256)
    assert logged(caplog, "wedge_unreachable")[0]["holding"] == "unknown: HAProxy is left as it is"
    wedge.up()
    reconciler.reconcile_all(source="poll")
    assert haproxy.weights() == (25, 231)


def test_a_report_wedge_did_not_take_is_retried(reconciler, wedge, haproxy):
    wedge.down()
    # Desired state known from a signed event while desired-state is unreachable.
    reconciler.handle(event(occurred_at=T0, exposure_percentage=10.0))
    assert haproxy.weights() == (25, 231)
    assert reconciler.pending
    wedge.up()
    reconciler.retry()
    assert wedge.reported() == [9.765625]
    assert not reconciler.pending


# --- HAProxy down -------------------------------------------------------------------------------


def test_haproxy_down_is_reported_retried_and_never_reported_wrong(
    reconciler, wedge, haproxy, caplog
):
    reconciler.reconcile_all(source="start")
    assert wedge.reported() == [9.765625]
    haproxy.stop()
    wedge.set(stage_id="half", exposure_percentage=50.0)
    reconciler.handle(event(occurred_at=T0, stage_id="half", exposure_percentage=50.0))
    reconciler.retry()
    reconciler.retry()
    [down] = logged(caplog, "haproxy_unreachable")  # once, however many retries
    assert "unreachable" in down["error"]
    assert wedge.reported() == [9.765625]  # no exposure claimed while HAProxy is silent
    healthy, status = reconciler.status()
    assert not healthy
    assert status["proposals"]["42"]["applied_exposure"] is None
    assert reconciler.pending

    haproxy.start()  # a restart: HAProxy is back at its configured weights (0 / 256)
    reconciler.retry()
    assert haproxy.weights() == (128, 128)
    assert wedge.reported() == [9.765625, 50.0]
    assert logged(caplog, "haproxy_reachable")
    assert logged(caplog, "applied")[-1]["canary_weight"] == "0->128"
    assert not reconciler.pending


def test_a_missing_server_is_an_haproxy_error(reconciler, wedge, haproxy, caplog):
    track = reconciler.tracks[42]
    track.follow = replace(track.follow, canary="nope")
    reconciler.reconcile_all(source="start")
    assert "no server nope" in logged(caplog, "haproxy_unreachable")[0]["error"]
    assert wedge.reports == []


@pytest.mark.parametrize("exposure", [0.0, 5.0, 33.3, 100.0])
def test_the_canary_gets_the_exposure_and_stable_the_rest(reconciler, wedge, haproxy, exposure):
    wedge.set(exposure_percentage=exposure)
    reconciler.reconcile_all(source="start")
    canary, stable = haproxy.weights()
    assert canary + stable == 256
    assert canary * 100 / 256 <= exposure
    assert wedge.reported() == [canary * 100 / 256]


def test_the_loop_retries_haproxy_until_it_answers(reconciler, wedge, haproxy):
    haproxy.stop()
    events, stop = queue.Queue(), threading.Event()
    loop = threading.Thread(
        target=reconciler.run,
        args=(events, stop),
        kwargs={"poll_seconds": 60, "retry_seconds": 0.05},
        daemon=True,
    )
    loop.start()
    try:
        assert wait_until(lambda: reconciler.tracks[42].haproxy_error is not None, 5)
        assert wedge.reports == []
        haproxy.start()
        assert wait_until(lambda: wedge.reported() == [9.765625], 5)
        assert haproxy.weights() == (25, 231)
        assert len(wedge.reads) == 1  # retries go to HAProxy, not to Wedge
    finally:
        stop.set()
        events.put(None)
        loop.join(timeout=5)
    assert not loop.is_alive()
