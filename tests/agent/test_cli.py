"""The program as a deployer runs it: `python -m agent`, its exit codes and its log lines."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.workers import wait_until

from .conftest import PROPOSAL, SECRET, free_port, payload, signed

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path, wedge_url, haproxy_socket, *, listen=None, extra=""):
    webhook = f'[webhook]\nlisten = "{listen}"\nsecret = "{SECRET}"\n' if listen is not None else ""
    path = tmp_path / "agent.toml"
    path.write_text(
        f'[wedge]\nurl = "{wedge_url}"\ntoken = "agent-token"\npoll_seconds = 60\n'
        f"timeout_seconds = 1\n{webhook}"
        f'[haproxy]\nsocket = "{haproxy_socket}"\nretry_seconds = 0.1\n{extra}'
        f'[[follow]]\nproposal = {PROPOSAL}\nbackend = "app"\n'
        'stable = "stable"\ncanary = "canary"\n'
    )
    return path


def agent(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )


def lines(stderr, event):
    return [line for line in stderr.splitlines() if f" event={event}" in line]


def test_a_bad_configuration_exits_2_naming_the_problem(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text('[wedge]\nurl = "https://w"\n')
    result = agent("--config", str(path), "--check-config")
    assert result.returncode == 2
    [line] = lines(result.stderr, "config_invalid")
    assert "level=error" in line
    assert "wedge.token: give exactly one of token and token_file" in line
    assert agent(env={**os.environ, "WEDGE_AGENT_CONFIG": ""}).returncode == 2


def test_check_config_exits_0(tmp_path, wedge, haproxy):
    result = agent("-c", str(write_config(tmp_path, wedge.url, haproxy.socket)), "--check-config")
    assert result.returncode == 0, result.stderr
    assert lines(result.stderr, "config_ok")


def test_once_converges_reports_and_exits_0(tmp_path, wedge, haproxy):
    result = agent("-c", str(write_config(tmp_path, wedge.url, haproxy.socket)), "--once")
    assert result.returncode == 0, result.stderr
    assert haproxy.weights() == (25, 231)
    assert wedge.reported() == [9.765625]
    [applied] = lines(result.stderr, "applied")
    assert "proposal=42 stage=canary" in applied
    assert "canary_weight=0->25 stable_weight=256->231" in applied


def test_once_with_wedge_down_exits_4(tmp_path, wedge, haproxy):
    wedge.down()
    result = agent("-c", str(write_config(tmp_path, wedge.url, haproxy.socket)), "--once")
    assert result.returncode == 4, result.stderr
    assert lines(result.stderr, "wedge_unreachable")
    assert haproxy.weights() == (0, 256)


def test_once_with_haproxy_down_exits_5(tmp_path, wedge, haproxy):
    haproxy.stop()
    result = agent("-c", str(write_config(tmp_path, wedge.url, haproxy.socket)), "--once")
    assert result.returncode == 5, result.stderr
    assert lines(result.stderr, "haproxy_unreachable")
    assert wedge.reports == []


def test_a_listen_address_in_use_exits_3(tmp_path, wedge, haproxy):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, wedge.url, haproxy.socket, listen=f"127.0.0.1:{port}")
        result = agent("-c", str(config))
    assert result.returncode == 3, result.stderr
    assert lines(result.stderr, "cannot_listen")


def test_the_daemon_follows_webhooks_and_stops_cleanly_on_sigterm(tmp_path, wedge, haproxy):
    port = free_port()
    config = write_config(tmp_path, wedge.url, haproxy.socket, listen=f"127.0.0.1:{port}")
    log = tmp_path / "agent.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "agent", "-c", str(config)], cwd=ROOT, stderr=out
        )
    try:
        assert wait_until(lambda: haproxy.weights() == (25, 231), 10), log.read_text()
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["proposals"]["42"]["applied_exposure"] == 9.765625

        wedge.set(wedge_state="ROLLED_BACK", exposure_percentage=0.0)
        headers, body = signed(
            payload(code="RWG-003", wedge_state="ROLLED_BACK", exposure_percentage=0.0)
        )
        answer = requests.post(
            f"http://127.0.0.1:{port}/hooks/wedge", data=body, headers=headers, timeout=5
        )
        assert answer.status_code == 202
        assert wait_until(lambda: haproxy.weights() == (0, 256), 10), log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert code == 0, log.read_text()
    text = log.read_text()
    assert lines(text, "started")
    assert "listen=127.0.0.1:" in lines(text, "started")[0]
    [rollback] = [line for line in lines(text, "applied") if "code=RWG-003" in line]
    assert "canary_weight=25->0" in rollback
    assert "latency_ms=" in rollback
    assert lines(text, "stopping")
    assert lines(text, "stopped")
    assert all(line.startswith("ts=20") and " level=" in line for line in text.splitlines())


@pytest.mark.parametrize("module", ["agent.cli", "agent.reconciler"])
def test_the_agent_runs_without_django(module):
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, {module}; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('django', 'rest_framework', 'celery', 'wedges', 'webhooks', 'config')); "
            "print(bad, file=sys.stderr); sys.exit(bool(bad))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
