"""Handing outbox work to the broker once a transition commits (``webhooks.dispatch``)."""

from __future__ import annotations

import threading
import time
from unittest import mock

import pytest
from django.db import transaction

from webhooks import dispatch


@pytest.mark.django_db
def test_the_committing_thread_waits_for_the_publish_it_handed_over(
    django_capture_on_commit_callbacks,
):
    calls: list[tuple[str, list[str], str]] = []

    def publish(task: str, ids: list[str]) -> int:
        time.sleep(0.01)  # a broker round trip
        calls.append((task, ids, threading.current_thread().name))
        return len(ids)

    with mock.patch.object(dispatch, "publish", publish):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            dispatch.publish_on_commit(dispatch.FAN_OUT, ["7"])
            assert calls == []  # not before the commit
        # Done by the time the commit's callbacks have returned, on the background thread.
        assert len(calls) == 1
        task, ids, thread = calls[0]
    assert (task, ids) == (dispatch.FAN_OUT, ["7"])
    assert thread.startswith("wedge-outbox")


@pytest.mark.django_db
def test_a_publish_that_hangs_is_left_to_the_background_thread(django_capture_on_commit_callbacks):
    broker_back = threading.Event()
    published = threading.Event()

    def publish(task: str, ids: list[str]) -> int:
        broker_back.wait(10)  # redis-py retrying a dead broker
        published.set()
        return len(ids)

    with mock.patch.object(dispatch, "publish", publish):
        began = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            dispatch.publish_on_commit(dispatch.FAN_OUT, ["7"])
        waited = time.monotonic() - began
        assert not published.is_set()
        broker_back.set()
        assert published.wait(5)
    # The caller waited about HAND_OVER_SECONDS, not for the broker.
    assert dispatch.HAND_OVER_SECONDS <= waited < 5


@pytest.mark.django_db
def test_nothing_is_handed_over_for_no_rows(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        dispatch.publish_on_commit(dispatch.FAN_OUT, [])
    assert callbacks == []
