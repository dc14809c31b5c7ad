"""The anchor job: the chain's head recorded outside the database (audit.anchors)."""

import datetime as dt
import json
import logging

import pytest
import time_machine

from audit.anchors import (
    Anchor,
    AnchorFileError,
    AnchorSinkError,
    parse_anchor,
    read_anchors,
    record_anchor,
)
from audit.chain import verify_chain
from audit.codes import EventCode
from audit.tasks import anchor_head
from config.celery import beat_schedule
from tests.webhooks.receiver import webhook_receiver

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
SECRET = "anchor-receiver-secret"


@pytest.fixture
def events(record):
    return [record(code=EventCode.PAUSED, proposal_id=n) for n in (1, 2, 3)]


@pytest.fixture
def file_sink(settings, tmp_path):
    settings.WEDGE_AUDIT_ANCHOR_SINK = "file"
    settings.WEDGE_AUDIT_ANCHOR_FILE = tmp_path / "sub" / "anchors.jsonl"
    return settings.WEDGE_AUDIT_ANCHOR_FILE


@pytest.mark.django_db
def test_the_file_sink_appends_one_json_line_per_head(record, events, file_sink):
    with time_machine.travel(NOW, tick=False):
        first = record_anchor()
    later = record(code=EventCode.STAGE_ADVANCED, proposal_id=1)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        second = record_anchor()
    assert (first.id, first.hash) == (events[-1].id, events[-1].hash)
    assert (second.id, second.hash) == (later.id, later.hash)
    lines = file_sink.read_text().splitlines()
    assert json.loads(lines[0]) == {
        "hash": events[-1].hash,
        "id": events[-1].id,
        "recorded_at": "2026-11-28T09:30:00.000000+00:00",
    }
    assert read_anchors(file_sink) == [
        Anchor(first.id, first.hash, NOW, line=1),
        Anchor(second.id, second.hash, NOW + dt.timedelta(hours=1), line=2),
    ]


@pytest.mark.django_db
def test_an_empty_trail_records_no_anchor(file_sink):
    assert record_anchor() is None
    assert not file_sink.exists()


@pytest.mark.django_db
def test_the_log_sink_writes_a_line_verify_audit_can_read(events, settings, caplog, tmp_path):
    settings.WEDGE_AUDIT_ANCHOR_SINK = "log"
    with caplog.at_level(logging.INFO, logger="audit.anchors"):
        anchor = record_anchor()
    (message,) = [r.getMessage() for r in caplog.records if r.name == "audit.anchors"]
    assert message == f"audit anchor {anchor.serialise()}"
    # A log excerpt, timestamps and all, is an anchors file.
    log = tmp_path / "wedge.log"
    log.write_text(f"2026-11-28 09:30:00,000 INFO audit.anchors: {message}\n\n")
    (read,) = read_anchors(log)
    assert (read.id, read.hash) == (anchor.id, anchor.hash)
    assert verify_chain(anchors=[read]).anchor_mismatches == ()


@pytest.mark.django_db
def test_the_webhook_sink_posts_the_anchor_signed(events, settings):
    with webhook_receiver(SECRET) as receiver:
        settings.WEDGE_AUDIT_ANCHOR_SINK = "webhook"
        settings.WEDGE_AUDIT_ANCHOR_URL = receiver.url
        settings.WEDGE_AUDIT_ANCHOR_SECRET = SECRET
        with time_machine.travel(NOW, tick=False):
            anchor = record_anchor()
        assert receiver.bad_signatures == 0
        # The receiver notes when each POST arrived; that is not part of the anchor.
        assert [{k: v for k, v in e.items() if k != "arrived_at"} for e in receiver.received] == [
            {
                "event": "audit.anchor",
                "delivery": f"audit-anchor-{anchor.id}-{int(NOW.timestamp())}",
                **anchor.to_json(),
            }
        ]


@pytest.mark.django_db
def test_a_receiver_that_refuses_the_anchor_is_an_error(events, settings):
    with webhook_receiver(SECRET) as receiver:
        receiver.fail_first = 1
        settings.WEDGE_AUDIT_ANCHOR_SINK = "webhook"
        settings.WEDGE_AUDIT_ANCHOR_URL = receiver.url
        settings.WEDGE_AUDIT_ANCHOR_SECRET = SECRET
        with pytest.raises(AnchorSinkError, match="answered 500"):
            record_anchor()


@pytest.mark.django_db
def test_the_task_records_the_head(events, file_sink):
    assert anchor_head.run() == read_anchors(file_sink)[0].to_json()


def test_beat_anchors_at_the_configured_interval(settings):
    settings.WEDGE_AUDIT_ANCHOR_SECONDS = 600.0
    entry = beat_schedule(settings)["audit-anchor"]
    assert entry["task"] == anchor_head.name == "audit.tasks.anchor_head"
    assert entry["schedule"] == 600.0


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("just words", "no anchor (a JSON object) on it"),
        ("{not json", "not valid JSON"),
        ('{"hash": "' + "a" * 64 + '", "recorded_at": "2026-11-28T09:30:00+00:00"}', '"id"'),
        ('{"id": true, "hash": "' + "a" * 64 + '", "recorded_at": "2026-11-28T09:30:00Z"}', '"id"'),
        ('{"id": 0, "hash": "' + "a" * 64 + '", "recorded_at": "2026-11-28T09:30:00Z"}', '"id"'),
        ('{"id": 3, "hash": "' + "A" * 64 + '", "recorded_at": "2026-11-28T09:30:00Z"}', '"hash"'),
        ('{"id": 3, "hash": "' + "a" * 64 + '", "recorded_at": "2026-11-28T09:30:00"}', "offset"),
        ('{"id": 3, "hash": "' + "a" * 64 + '", "recorded_at": "yesterday"}', "offset"),
    ],
)
def test_a_line_that_is_not_an_anchor_is_refused_naming_it(line, problem):
    with pytest.raises(AnchorFileError, match=r"^Anchors file, line 7: ") as failure:
        parse_anchor(line, 7)
    assert problem in str(failure.value)


@pytest.mark.django_db
def test_anchor_mismatches_come_earliest_first(events):
    wrong = "f" * 64
    anchors = [
        Anchor(events[2].id, wrong, NOW, line=1),
        Anchor(events[0].id, events[0].hash, NOW, line=2),
        Anchor(events[2].id + 100, wrong, NOW, line=3),
        Anchor(events[1].id, wrong, NOW, line=4),
    ]
    report = verify_chain(anchors=anchors)
    assert report.ok
    assert report.anchors_checked == 4
    assert [(m.anchor.line, m.found) for m in report.anchor_mismatches] == [
        (4, events[1].hash),
        (1, events[2].hash),
        (3, None),
    ]
