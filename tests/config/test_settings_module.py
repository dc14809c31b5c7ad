"""The settings module as a whole, imported in fresh interpreters."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_django(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    ours = ("DJANGO_", "DATABASE_", "REDIS_", "SECRET_", "DEBUG", "ALLOWED_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_database_url_stops_start_up_naming_the_variable(tmp_path):
    result = run_django(
        ["check"], DEBUG="1", DATABASE_URL="mysql://nowhere/db", WEDGE_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "DATABASE_URL must be a sqlite:// or postgres:// URL" in result.stderr


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    result = run_django(["check"], DEBUG="0", WEDGE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY is required but not set" in result.stderr


@pytest.mark.parametrize("debug", ["0"])
def test_check_deploy_is_clean_with_a_real_secret(tmp_path, debug):
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DEBUG=debug,
        SECRET_KEY="x" * 20 + "a-real-secret-of-sufficient-length-and-variety-9f8e7d",
        ALLOWED_HOSTS="wedge.example.com",
        WEDGE_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(tmp_path):
    script = (
        "from django.db import connection, transaction\n"
        "with connection.cursor() as c:\n"
        "    c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])\n"
        "    c.execute('PRAGMA busy_timeout'); print(c.fetchone()[0])\n"
        "print(connection.settings_dict['OPTIONS']['transaction_mode'])\n"
    )
    result = run_django(
        ["shell", "-c", script],
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path}/wedge.sqlite3",
        WEDGE_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["wal", "20000", "IMMEDIATE"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8761", "WEDGE_MAX_STAGE_HOURS must be at most 8760"),
        ("0.5", "WEDGE_MAX_STAGE_HOURS must be at least 1.0"),
        ("a year", "WEDGE_MAX_STAGE_HOURS must be a number"),
    ],
)
def test_the_stage_hours_bound_cannot_exceed_a_year(tmp_path, value, message):
    result = run_django(
        ["check"], DEBUG="1", WEDGE_VAR_DIR=str(tmp_path), WEDGE_MAX_STAGE_HOURS=value
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_the_stage_hours_bound_can_be_lowered(tmp_path):
    script = "from django.conf import settings; print(settings.WEDGE_MAX_STAGE_HOURS)"
    result = run_django(
        ["shell", "-c", script], DEBUG="1", WEDGE_VAR_DIR=str(tmp_path), WEDGE_MAX_STAGE_HOURS="72"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "72.0"


def _production(tmp_path: Path) -> dict[str, str]:
    """What the README's production section sets: PostgreSQL with two roles, Redis,
    a secret from a file, the host names, a reverse proxy in front."""
    secret = tmp_path / "secret_key"
    secret.write_text("p" * 20 + "-a-real-secret-read-from-a-file-7c6b5a4d3e2f1a0b\n")
    return {
        "DEBUG": "0",
        "SECRET_KEY_FILE": str(secret),
        "ALLOWED_HOSTS": "wedge.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://wedge.example.com",
        "DATABASE_URL": "postgres://wedge_app:app-password@db.internal:5432/wedge",
        "DATABASE_OWNER_URL": "postgres://wedge_owner:owner-password@db.internal:5432/wedge",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "WEDGE_TRUSTED_PROXIES": "1",
        "WEDGE_VAR_DIR": str(tmp_path),
    }


def test_check_deploy_is_clean_with_a_production_environment(tmp_path):
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], **_production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_production_environment_turns_every_protection_on(tmp_path):
    script = (
        "from django.conf import settings as s\n"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS > 0, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE, len(s.AUTH_PASSWORD_VALIDATORS),"
        " s.WEDGE_WEBHOOK_ALLOW_PRIVATE, s.WEDGE_WEBHOOK_ALLOW_HTTP, s.X_FRAME_OPTIONS)\n"
        "print(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'])\n"
    )
    result = run_django(["shell", "-c", script], **_production(tmp_path))
    assert result.returncode == 0, result.stderr
    flags, script_src = result.stdout.strip().splitlines()[-2:]
    assert flags.split() == [
        "True", "True", "True", "True", "True", "True", "Lax", "4", "False", "False", "DENY",
    ]  # fmt: skip
    assert script_src == "[\"'self'\"]"
