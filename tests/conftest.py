from __future__ import annotations

import copy
from typing import Any

import pgtrigger
import pytest
from rest_framework.test import APIClient

from org.demo import seed_demo
from org.models import User
from tests.documents import PROPOSAL
from wedges.models import ChangeProposal
from wedges.services import proposal_submit
from wedges.submission import check_submission


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Let pytest-django's flush TRUNCATE the audit table after transactional tests.

    The audit table refuses TRUNCATE (its ``protect_truncate`` trigger), and
    after a ``transaction=True`` test Django empties every table with one
    TRUNCATE. Only that trigger is ignored, and only during teardown.
    """
    with pgtrigger.ignore("audit.AuditEvent:protect_truncate"):
        return (yield)


@pytest.fixture
def demo(db: None) -> dict[str, User]:
    """The demo organisation of `seed_demo`, users by name."""
    seed_demo()
    return {user.username: user for user in User.objects.all()}


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def token_client(demo: dict[str, User]):
    """An API client authenticated with a token, for a demo user by name.

    The token counts as just used: its first use would otherwise also write
    its last use, and a test's first call would cost a query its later calls
    do not.
    """
    from django.utils import timezone

    from org.models import ApiToken
    from org.tokens import token_issue

    def make(username: str) -> APIClient:
        issued = token_issue(owner=demo[username], actor=demo[username])
        ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=timezone.now())
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
        return client

    return make


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory):
    """A real Celery worker on Redis, pointed at the test database.

    Tests that use it must commit their data (``transaction=True``) so the
    worker's own connections can see it.
    """
    import redis
    from django.conf import settings

    from config.celery import app
    from tests.workers import Worker

    redis.Redis.from_url(str(settings.REDIS_URL)).flushdb()
    worker = Worker(str(settings.REDIS_URL), tmp_path_factory.mktemp("celery") / "worker.log")
    worker.start()
    try:
        app.send_task("wedge.ping", args=[0]).get(timeout=60)
        yield worker.process
    except Exception:
        print(worker.output())
        raise
    finally:
        worker.stop()


@pytest.fixture
def proposal_body() -> dict[str, Any]:
    """A valid submission; a fresh deep copy for each test to mutate."""
    return copy.deepcopy(PROPOSAL)


@pytest.fixture
def submit(demo: dict[str, User]):
    """Store a proposal through the real submission path."""

    def make(author: str = "alice", **changes: Any) -> ChangeProposal:
        body = copy.deepcopy(PROPOSAL)
        wedge_changes = changes.pop("rollout_wedge", {})
        body.update(changes)
        body["rollout_wedge"].update(wedge_changes)
        check = check_submission(body)
        assert check.storable, check.to_dict()
        return proposal_submit(check=check, author=demo[author]).proposal

    return make
