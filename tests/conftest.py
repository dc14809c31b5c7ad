from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pgtrigger
import pytest
from rest_framework.test import APIClient

from org.demo import seed_demo
from org.models import User
from tests.db import owner_connection
from tests.documents import PROPOSAL
from wedges.models import ChangeProposal
from wedges.services import proposal_submit
from wedges.submission import check_submission


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    django_db_modify_db_settings: None,
) -> Iterator[None]:
    """The test database, created and migrated by the owner; tests connect as the app role.

    pytest-django's own fixture would create and migrate through the default
    alias, which here is the application role: it may not create databases,
    and tables it created would be its own. So the owner alias creates the
    database (``migrate`` then grants the application role its privileges,
    as in production) and the default alias is pointed at it afterwards.
    """
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.test.utils import setup_databases, teardown_databases

    from audit.roles import OWNER_DB_ALIAS, create_login_role

    verbosity = request.config.option.verbose
    keepdb = django_db_keepdb and not django_db_createdb
    app = connections[DEFAULT_DB_ALIAS].settings_dict
    with django_db_blocker.unblock():
        if OWNER_DB_ALIAS not in connections:
            # One role for everything (DATABASE_URL connects as the owner).
            config = setup_databases(verbosity=verbosity, interactive=False, keepdb=keepdb)
        else:
            with connections[OWNER_DB_ALIAS]._nodb_cursor() as cursor:
                create_login_role(cursor, app["USER"], app["PASSWORD"] or None)
            config = setup_databases(
                verbosity=verbosity,
                interactive=False,
                keepdb=keepdb,
                # The stubs ask for a mapping; Django only tests membership.
                aliases={OWNER_DB_ALIAS},  # type: ignore[arg-type]
                serialized_aliases=set(),
            )
            connections[DEFAULT_DB_ALIAS].close()
            app["NAME"] = connections[OWNER_DB_ALIAS].settings_dict["NAME"]
    yield
    with django_db_blocker.unblock():
        # The database cannot be dropped while the application role is connected.
        connections[DEFAULT_DB_ALIAS].close()
        if not keepdb:
            teardown_databases(config, verbosity=verbosity)


@contextmanager
def _flush_as_owner() -> Iterator[None]:
    """After a transactional test, let the owner empty the tables.

    The application role may not TRUNCATE (and on the audit table may not
    delete at all), but Django cleans up after a ``transaction=True`` test
    with one TRUNCATE of every table through the default alias. For the
    teardown only, in this thread only, the default alias becomes an owner
    connection of its own. Tests wrapped in a transaction roll it back
    instead, on the application role's connection: those are left alone.
    """
    from django.db import DEFAULT_DB_ALIAS, connections

    from audit.roles import OWNER_DB_ALIAS

    application = connections[DEFAULT_DB_ALIAS]
    if OWNER_DB_ALIAS not in connections or application.in_atomic_block:
        yield
        return
    # Under the default alias (``owner_connection`` makes it so): the flush
    # looks its connection up by the alias, and Django's test case refuses
    # the owner alias to tests that did not ask for it.
    with owner_connection() as owner:
        _retry_flush_on_deadlock(owner)
        # Closed now, not when the test case reloads its connections: after the
        # last test the session's teardown (dropping the database) runs in here.
        application.close()
        connections[DEFAULT_DB_ALIAS] = owner
        try:
            yield
        finally:
            connections[DEFAULT_DB_ALIAS] = application


def _retry_flush_on_deadlock(connection: Any, attempts: int = 5) -> None:
    """Let this connection's flush try again when its TRUNCATE is picked as a deadlock victim.

    The session's Celery worker may still be running a task the test queued
    (a delivery, an email) when the test ends: its reads and the TRUNCATE of
    every table can wait on each other, and PostgreSQL cancels the TRUNCATE.
    The task finishes a moment later; the flush, tried again, goes through.
    """
    from django.db import OperationalError

    flush = connection.ops.execute_sql_flush

    def execute_sql_flush(sql_list: list[str]) -> None:
        for attempt in range(attempts):
            try:
                return flush(sql_list)
            except OperationalError as error:
                if "deadlock detected" not in str(error) or attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    connection.ops.execute_sql_flush = execute_sql_flush


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Let pytest-django's flush TRUNCATE the audit table after transactional tests.

    The flush runs as the owner (``_flush_as_owner``), and the audit table
    refuses TRUNCATE even to its owner (its ``protect_truncate`` trigger):
    only that trigger is ignored, and only during teardown.
    """
    with _flush_as_owner(), pgtrigger.ignore("audit.AuditEvent:protect_truncate"):
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
    """A real Celery worker on Redis, pointed at the test database, consuming every queue.

    Tests that use it must commit their data (``transaction=True``) so the
    worker's own connections can see it.
    """
    import redis
    from django.conf import settings

    from config.celery import app
    from tests.workers import Worker

    redis.Redis.from_url(str(settings.REDIS_URL)).flushdb()
    worker = Worker(
        str(settings.REDIS_URL),
        tmp_path_factory.mktemp("celery") / "worker.log",
        # A polled wedge is due again a second after each poll, as in the benchmarks:
        # the tests that send poll rounds (standing in for beat) see a breach at once.
        extra_env={"WEDGE_METRICS_POLL_SECONDS": "1"},
    )
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


@pytest.fixture
def workers_alive(db: None) -> None:
    """Both periodic jobs ran just now: the engine (tick) and the webhook workers (re-drive),
    so /healthz has nothing to say of them."""
    from org import health

    health.beat(health.ENGINE)
    health.beat(health.WEBHOOKS)
