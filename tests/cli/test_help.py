"""``wedge --help`` and every command's help say what it does, its input and its exit codes."""

from __future__ import annotations

import pytest

from .conftest import run, run_program

COMMANDS = {
    "validate": "Check FILE (a proposal or just its rollout_wedge; JSON or YAML)",
    "plan": "Show FILE's timeline: each stage's earliest start and end",
    "submit": "Submit the proposal in FILE (JSON or YAML, sent as it is written).",
    "start": "Start the rollout (PENDING -> ACTIVE) at its initial exposure.",
    "pause": "Hold the rollout (ACTIVE -> PAUSED)",
    "resume": "Resume a paused rollout; the open stage gets a fresh observation window.",
    "advance": "Approve advancing the open stage; it must be eligible",
    "rollback": "Roll the rollout back: exposure to 0.",
    "status": "Show the rollout of proposal ID now",
    "watch": "Follow the rollout of proposal ID until it ends; exit 0 COMPLETE, 3",
}


def test_the_overview_lists_every_command_in_pipeline_order():
    result = run("--help")
    assert result.code == 0
    listed = result.out.split("Commands:")[1].split("Environment:")[0].split()
    names = [word for word in listed if word in COMMANDS]
    assert names == list(COMMANDS)
    for line in ("WEDGE_URL", "WEDGE_TOKEN", "3  the rollout was rolled back (watch)"):
        assert line in result.out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_explains_itself(command):
    result = run(command, "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert text.startswith(f"Usage: wedge {command} [OPTIONS] ")
    assert " ".join(COMMANDS[command].split()) in text
    assert "Exit codes: 0 " in text
    if command in ("validate", "plan"):
        assert "WEDGE_TOKEN" not in text  # offline
    else:
        assert "WEDGE_URL" in text
        assert "5 the server could not be reached" in text


def test_version_and_short_help_flag():
    assert run("--version").out.strip() == "wedge, version 0.1.0"
    assert run("validate", "-h").code == 0


def test_usage_errors_are_exit_2_with_a_hint():
    for args in (("start",), ("start", "abc"), ("status", "0"), ("watch", "1", "--interval", "0")):
        result = run(*args)
        assert result.code == 2, args
        assert "Try 'wedge " in result.err
        assert "Traceback" not in result.err


def test_the_console_script_is_installed():
    result = run_program("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: wedge [OPTIONS] COMMAND [ARGS]...")
