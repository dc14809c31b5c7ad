"""Test settings: the real stack (PostgreSQL and Redis), fast hashing.

As in production, two roles: the test database is created and migrated by
the owner (``postgres``), and the tests' own connection runs as the
application role (``wedge_app``, created by the test setup if missing), so
the suite exercises the privileges the application really has.
"""

import copy
import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("DATABASE_URL", "postgres://wedge_app:wedge_app@127.0.0.1:5432/wedge")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Under pytest-xdist each worker process has a database of its own (pytest-django
# suffixes its name with the worker's id) and a Redis database of its own, so the
# Celery worker each one starts never takes another's tasks.
# Processes the tests start inherit both variables: the marker keeps them from
# moving to yet another database.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER.startswith("gw") and os.environ.get("WEDGE_XDIST_REDIS") != _XDIST_WORKER:
    _redis_base, _, _redis_db = os.environ["REDIS_URL"].rpartition("/")
    os.environ["REDIS_URL"] = f"{_redis_base}/{(int(_redis_db) - int(_XDIST_WORKER[2:])) % 16}"
    os.environ["WEDGE_XDIST_REDIS"] = _XDIST_WORKER

from config.settings import *  # noqa: E402, F403

# Separate names let several test sessions share one PostgreSQL and Redis.
_TEST_DB_NAME = os.environ.get("WEDGE_TEST_DB_NAME", "test_wedge")
DATABASES["default"]["TEST"] = {"NAME": _TEST_DB_NAME}  # noqa: F405
# The owner's connection is made here, not through DATABASE_OWNER_URL, so
# subprocesses the tests start on other settings do not inherit it. A run
# whose DATABASE_URL already connects as the owner (the benchmarks) keeps one
# role for everything.
_TEST_DB_OWNER = "postgres"
_app_database = DATABASES["default"]  # noqa: F405
if "owner" not in DATABASES and _app_database.get("USER") not in ("", _TEST_DB_OWNER):  # noqa: F405
    _owner_database = copy.deepcopy(_app_database)
    _owner_database.update(USER=_TEST_DB_OWNER, PASSWORD="postgres")
    DATABASES["owner"] = _owner_database  # noqa: F405
if "owner" in DATABASES:  # noqa: F405
    DATABASES["owner"]["TEST"] = {"NAME": _TEST_DB_NAME}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WEDGE_WEBHOOK_ALLOW_PRIVATE = WEDGE_WEBHOOK_ALLOW_HTTP = True  # receivers on loopback, plain http
# Every test client is 127.0.0.1 and the counts live in Redis across tests:
# the failed-token throttle's own tests set a small limit.
WEDGE_API_TOKEN_FAILURES_PER_MINUTE = 1_000_000
