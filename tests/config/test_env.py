import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_float, env_int, env_list, env_str, env_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("X", "X_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_accepts_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X", raw)
    assert env_bool("X", not expected) is expected


def test_env_bool_rejects_other_values_naming_the_variable(monkeypatch):
    monkeypatch.setenv("X", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"^X must be a boolean.*'maybe'"):
        env_bool("X", False)


def test_env_bool_default_when_unset():
    assert env_bool("X", True) is True


def test_env_int_edges(monkeypatch):
    monkeypatch.setenv("X", "0")
    assert env_int("X", 5, minimum=0) == 0
    monkeypatch.setenv("X", "-1")
    with pytest.raises(ImproperlyConfigured, match="X must be at least 0"):
        env_int("X", 5, minimum=0)
    monkeypatch.setenv("X", "1.5")
    with pytest.raises(ImproperlyConfigured, match="X must be an integer"):
        env_int("X", 5)


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf"])
def test_env_float_rejects_non_finite(monkeypatch, raw):
    monkeypatch.setenv("X", raw)
    with pytest.raises(ImproperlyConfigured, match="X must be a finite number"):
        env_float("X", 1.0)


def test_env_str_required_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match="X is required but not set"):
        env_str("X")


def test_env_str_reads_file_variant(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("X_FILE", str(secret))
    assert env_str("X") == "s3cret"


def test_env_str_unreadable_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("X_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="X_FILE: cannot read"):
        env_str("X")


def test_env_list_splits_and_strips(monkeypatch):
    monkeypatch.setenv("X", " a.example, b.example ,,")
    assert env_list("X", []) == ["a.example", "b.example"]


def test_database_url_postgres(monkeypatch):
    monkeypatch.setenv("X", "postgres://u:p@db.internal:5433/wedge")
    config = env_database("X", "sqlite:///unused.sqlite3")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["HOST"], config["PORT"], config["USER"]) == (
        "wedge",
        "db.internal",
        5433,
        "u",
    )


def test_database_url_sqlite_is_wal_with_immediate_transactions(monkeypatch, tmp_path):
    monkeypatch.setenv("X", f"sqlite:///{tmp_path}/db.sqlite3")
    config = env_database("X", "sqlite:///unused.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/wedge", "X must be a sqlite:// or postgres:// URL, got scheme 'mysql'"),
        ("not a url", "X must be a sqlite:// or postgres:// URL, got scheme 'none'"),
        ("postgres://localhost", "X must name a database"),
    ],
)
def test_bad_database_url_fails_with_a_clear_message(monkeypatch, url, message):
    monkeypatch.setenv("X", url)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_database("X", "sqlite:///unused.sqlite3")


def test_env_url_checks_scheme(monkeypatch):
    assert env_url("X", schemes={"redis"}) is None
    monkeypatch.setenv("X", "redis://127.0.0.1:6379/0")
    assert env_url("X", schemes={"redis"}) == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("X", "amqp://guest@localhost//")
    with pytest.raises(ImproperlyConfigured, match="X must use one of the schemes redis"):
        env_url("X", schemes={"redis"})


def test_postgres_connections_never_jit_compile(monkeypatch):
    monkeypatch.setenv("X", "postgres://u:p@db.internal:5433/wedge")
    assert env_database("X", "sqlite:///unused.sqlite3")["OPTIONS"]["options"] == "-c jit=off"


def test_a_urls_own_server_options_are_kept_beside_jit_off(monkeypatch):
    monkeypatch.setenv("X", "postgres://db.internal/wedge?options=-c%20statement_timeout%3D5000")
    options = env_database("X", "sqlite:///unused.sqlite3")["OPTIONS"]["options"]
    assert options == "-c statement_timeout=5000 -c jit=off"


@pytest.mark.django_db
def test_the_running_connection_has_jit_off():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
