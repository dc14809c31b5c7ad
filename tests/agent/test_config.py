"""The configuration file: every problem named at once, secrets from files."""

import shutil
from pathlib import Path

import pytest

from agent.config import ConfigError, Follow, load, parse

EXAMPLE = Path(__file__).resolve().parents[2] / "agent" / "example.toml"


def valid(**tables):
    data = {
        "wedge": {"url": "https://wedge.example.org/", "token": "t0ken"},
        "webhook": {"listen": "127.0.0.1:8787", "secret": "s3cret"},
        "haproxy": {"socket": "/run/haproxy/admin.sock"},
        "follow": [{"proposal": 42, "backend": "app", "stable": "stable", "canary": "canary"}],
    }
    data.update(tables)
    return data


def problems(data):
    with pytest.raises(ConfigError) as error:
        parse(data)
    return str(error.value)


def test_the_example_configuration_loads(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "agent.toml")
    (tmp_path / "token").write_text("t0ken\n")
    (tmp_path / "webhook-secret").write_text("s3cret\n")
    config = load(tmp_path / "agent.toml")
    assert config.wedge.url == "https://wedge.example.org"
    assert config.wedge.token == "t0ken"
    assert config.webhook is not None
    assert (config.webhook.host, config.webhook.port, config.webhook.path) == (
        "0.0.0.0",
        8787,
        "/hooks/wedge",
    )
    assert config.webhook.secret == "s3cret"
    assert config.haproxy.socket == "/run/haproxy/admin.sock"
    assert config.follows == (Follow(42, "connector", "stable", "canary"),)


def test_a_minimal_configuration_takes_the_defaults():
    config = parse(valid())
    assert config.wedge.url == "https://wedge.example.org"  # no trailing slash
    assert config.wedge.poll_seconds == 10
    assert config.haproxy.timeout_seconds == 2


def test_without_a_webhook_table_the_agent_only_polls():
    data = valid()
    del data["webhook"]
    assert parse(data).webhook is None


def test_haproxy_over_tcp():
    config = parse(valid(haproxy={"address": "127.0.0.1:9999"}))
    assert config.haproxy.address == ("127.0.0.1", 9999)
    assert config.haproxy.describe() == "127.0.0.1:9999"


def test_every_problem_is_named_at_once():
    message = problems(
        {
            "wedge": {"url": "ftp://x", "token": "a", "token_file": "b", "poll_secs": 5},
            "webhook": {"listen": "8787", "secret": "s", "path": "hooks"},
            "haproxy": {"socket": "/s", "address": "h:1"},
            "follow": [
                {"proposal": "42", "backend": "app", "stable": "a", "canary": "a"},
                {"proposal": 7, "backend": "app; shutdown", "canary": "c"},
            ],
            "extra": 1,
        }
    )
    for expected in (
        "extra: unknown key",
        "wedge.poll_secs: unknown key",
        "wedge.url: must be an http(s) URL",
        "wedge.token: give exactly one of token and token_file",
        'webhook.listen: must be "host:port"',
        "webhook.path: must start with /",
        "haproxy: give exactly one of socket",
        "follow[0].proposal: must be a proposal id",
        "follow[0]: stable and canary must be different servers",
        "follow[1].backend: not a valid HAProxy name",
        "follow[1].stable: required",
    ):
        assert expected in message


def test_required_tables():
    message = problems({})
    assert "wedge: required table is missing" in message
    assert "haproxy: required table is missing" in message
    assert "follow: name at least one proposal" in message


def test_a_proposal_or_a_server_followed_twice_is_refused():
    follow = {"proposal": 42, "backend": "app", "stable": "stable", "canary": "canary"}
    assert "proposal 42 is followed twice" in problems(valid(follow=[follow, follow]))
    other = {**follow, "proposal": 43, "stable": "other"}
    assert "server app/canary belongs to two proposals" in problems(valid(follow=[follow, other]))


@pytest.mark.parametrize("value", [0, -1, True, "10", float("nan")])
def test_bad_numbers(value):
    assert "wedge.poll_seconds: must be a number" in problems(
        valid(wedge={"url": "https://w", "token": "t", "poll_seconds": value})
    )


def test_an_unreadable_or_empty_secret_file(tmp_path):
    (tmp_path / "empty").write_text("\n")
    data = valid(wedge={"url": "https://w", "token_file": "missing"})
    data["webhook"] = {"listen": "127.0.0.1:1", "secret_file": "empty"}
    with pytest.raises(ConfigError) as error:
        parse(data, base=tmp_path)
    assert "wedge.token_file: cannot read" in str(error.value)
    assert "webhook.secret_file: " in str(error.value)
    assert "is empty" in str(error.value)


def test_a_file_that_is_not_toml(tmp_path):
    (tmp_path / "agent.toml").write_text("[wedge\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path / "agent.toml")
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")
