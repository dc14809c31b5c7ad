import threading

import pytest
from django.db import connection, transaction

from audit.chain import verify_chain
from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import record_event

WRITERS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_writing_at_once_leave_one_unbroken_chain():
    start = threading.Barrier(WRITERS, timeout=30)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            connection.ensure_connection()  # each thread has its own connection
            start.wait()
            with transaction.atomic():
                record_event(code=EventCode.STAGE_ADVANCED, proposal_id=n + 1, data={"writer": n})
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]

    assert AuditEvent.objects.exclude(code="WDG-302").count() == WRITERS
    writers = sorted(AuditEvent.objects.values_list("data__writer", flat=True))
    assert writers == list(range(WRITERS))
    report = verify_chain()
    assert (report.ok, report.verified) == (True, WRITERS), report.broken
    # One chain, no fork: every row but the first follows exactly one other.
    assert AuditEvent.objects.values("prev_hash").distinct().count() == WRITERS
