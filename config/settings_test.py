"""Test settings: the real stack (PostgreSQL and Redis), fast hashing."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/wedge")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from config.settings import *  # noqa: F403

# Separate names let several test sessions share one PostgreSQL and Redis.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("WEDGE_TEST_DB_NAME", "test_wedge")}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Every test client is 127.0.0.1 and the counts live in Redis across tests:
# the failed-token throttle's own tests set a small limit.
WEDGE_API_TOKEN_FAILURES_PER_MINUTE = 1_000_000
