import pytest

from config.celery import app, ping

pytestmark = pytest.mark.integration


def test_a_task_goes_through_redis_to_a_real_worker_and_back(celery_worker_process):
    assert app.conf.broker_url.startswith("redis://")
    result = ping.delay(41)
    assert result.get(timeout=30) == 42
    assert result.successful()
    # The answer came from the worker process, not from an eager call in ours.
    assert result.backend.get_task_meta(result.id)["status"] == "SUCCESS"
    assert celery_worker_process.poll() is None
