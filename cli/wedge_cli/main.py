"""The ``wedge`` command: one click group, thin commands, one place that maps failures to exits."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import click

from . import __version__
from .checks import check, load_policy, validation_context, wedge_of
from .errors import CliError, Exit
from .output import FORMATS, Format, annotation, write_report
from .source import Source, read_source

if TYPE_CHECKING:
    from rich.console import Console

    from .api import Client, Refused

# The offline commands import nothing of HTTP or live views (.api, .follow,
# .plan's rich tables are imported where used): a pipeline step starts faster.

_ENVIRONMENT = """\b
Environment:
  WEDGE_URL           the Wedge server, e.g. https://wedge.example.org
  WEDGE_TOKEN         an API token (validate and plan need neither)
  WEDGE_HTTP_TIMEOUT  seconds to wait for each answer (default 30)
"""
_EXITS = {
    0: "valid / done / the rollout completed",
    1: "the document breaks the policy, or the server refused (4xx)",
    2: "bad usage, configuration or input file",
    3: "the rollout was rolled back (watch)",
    4: "the rollout was paused (watch)",
    5: "the server could not be reached, timed out or failed (5xx)",
    6: "watch --timeout ran out while the rollout was still running",
}


def _epilog(*exits: int, environment: bool = True) -> str:
    codes = "\n".join(f"  {code}  {_EXITS[code]}" for code in exits)
    return (_ENVIRONMENT + "\n" if environment else "") + f"\b\nExit codes:\n{codes}\n"


EPILOG = _epilog(*_EXITS)
OFFLINE_EPILOG = _epilog(0, 1, 2, environment=False)
API_EPILOG = _epilog(0, 1, 2, 5)
WATCH_EPILOG = _epilog(0, 1, 2, 3, 4, 5, 6)


class _InOrder(click.Group):
    """Commands listed in the order of a pipeline, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


# action: (the line in `wedge --help`, the command's own help)
OPERATOR_ACTIONS = {
    "start": (
        "Start a rollout at its initial exposure",
        "Start the rollout (PENDING -> ACTIVE) at its initial exposure.",
    ),
    "pause": (
        "Hold a rollout",
        "Hold the rollout (ACTIVE -> PAUSED); nothing advances until it is resumed.",
    ),
    "resume": (
        "Resume a paused rollout",
        "Resume a paused rollout; the open stage gets a fresh observation window.",
    ),
    "advance": (
        "Approve advancing an eligible stage",
        "Approve advancing the open stage; it must be eligible (window passed, criteria "
        "met). The only way a manual wedge advances.",
    ),
    "rollback": ("Roll a rollout back", "Roll the rollout back: exposure to 0."),
}


@dataclass
class Settings:
    url: str | None
    timeout: float

    def client(self) -> Client:
        from .api import Client

        return Client.from_environment(self.url, self.timeout)


def _console() -> Console:
    """Standard output for rich views. Not a terminal (CI logs, pipes): no colour, no live
    redraws, and lines as wide as they are rather than cut at 80 columns."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, 120))
    return console


def _echo(line: str) -> None:
    click.echo(line)


@click.group(
    cls=_InOrder,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="wedge")
@click.option(
    "--url",
    envvar="WEDGE_URL",
    metavar="URL",
    help="The Wedge server (default: $WEDGE_URL).",
)
@click.option(
    "--http-timeout",
    envvar="WEDGE_HTTP_TIMEOUT",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each answer of the server (default: $WEDGE_HTTP_TIMEOUT or 30).",
)
@click.pass_context
def cli(ctx: click.Context, url: str | None, http_timeout: float) -> None:
    """Validate rollout wedges offline, plan them, submit them and follow their rollouts.

    validate and plan run offline with the server's own policy rules; the
    other commands talk to a Wedge server's API with WEDGE_URL and WEDGE_TOKEN.
    """
    ctx.obj = Settings(url, http_timeout)


def _settings() -> Settings:
    return cast(Settings, click.get_current_context().find_object(Settings))


def _stdin() -> BinaryIO:
    return sys.stdin.buffer


# --- Offline --------------------------------------------------------------------------------------

FILE = click.argument("file", metavar="FILE", type=str)
CRITICAL = click.option(
    "--subsystem-critical",
    is_flag=True,
    help="The proposal's subsystem is critical: initial_percentage at most 10 (the server "
    "knows this from the subsystem; offline, say it).",
)
PROVIDERS = click.option(
    "--provider",
    "providers",
    multiple=True,
    envvar="WEDGE_PROVIDERS",
    metavar="NAME",
    help="A metric provider the server has (repeat it, or WEDGE_PROVIDERS='a b'): "
    "metric_queries naming another are errors. Without it, provider names are not checked.",
)


@cli.command(
    epilog=OFFLINE_EPILOG,
    short_help="Check a proposal or its wedge offline, with the server's rules",
)
@FILE
@CRITICAL
@PROVIDERS
@click.option(
    "--policy",
    "policy_file",
    metavar="POLICY",
    default=None,
    help="Judge under a policy version: a JSON file holding its thresholds, or the body of "
    "GET /api/v1/policy-versions/N/. Without it, version 1 (the policy as written).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, json (the server's dry-run body) for programs, github for "
    "annotations on the lines of the fields in a pull request.",
)
def validate(
    file: str,
    subsystem_critical: bool,
    providers: tuple[str, ...],
    policy_file: str | None,
    fmt: Format,
) -> int:
    """Check FILE (a proposal or just its rollout_wedge; JSON or YAML) against the policy.

    Offline, with the server's own rules: the same codes, paths and warnings as
    its dry run. Only whether the subsystem exists is left to the server.
    FILE '-' reads standard input. Exit 0 when valid, 1 when not (every error
    listed), 2 when FILE is not readable JSON or YAML.
    """
    try:
        source = read_source(file, _stdin())
    except CliError as error:
        if fmt == "github":
            click.echo(annotation("error", error.message, error.file or file, error.position))
        raise
    context = validation_context(
        subsystem_critical=subsystem_critical,
        providers=providers,
        thresholds=load_policy(policy_file) if policy_file else None,
    )
    report = check(source.document.value, context)
    write_report(_echo, report, source.document, source.name, fmt)
    return Exit.OK if report.valid else Exit.REFUSED


@cli.command(
    epilog=OFFLINE_EPILOG, short_help="Show the timeline, the totals and the exposure ladder"
)
@FILE
@CRITICAL
@PROVIDERS
@click.option(
    "--start",
    "start",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S"]),
    help="When the rollout would start (ISO 8601, e.g. 2026-12-01T09:00:00+00:00; without "
    "an offset, UTC): times instead of offsets.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: the timeline and the exposure ladder; json: the same figures for programs.",
)
def plan(
    file: str,
    subsystem_critical: bool,
    providers: tuple[str, ...],
    start: datetime | None,
    fmt: str,
) -> int:
    """Show FILE's timeline: each stage's earliest start and end, the totals, the ladder.

    The earliest timeline follows the engine's rules (a stage may advance once its
    observation window and, unless manual, its planned duration have passed); the
    planned total duration is the dry run's (stage durations plus one observation
    window per stage). Exit 1, with the errors, if the wedge is invalid (a plan
    is still shown when only a waiver is missing).
    """
    source = read_source(file, _stdin())
    context = validation_context(subsystem_critical=subsystem_critical, providers=providers)
    report = check(source.document.value, context)
    if not report.valid:
        write_report(
            lambda line: click.echo(line, err=True), report, source.document, source.name, "text"
        )
    if report.total_duration_hours is None or not (report.valid or report.waiver_required):
        return Exit.REFUSED
    from .plan import make_plan, print_plan

    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    the_plan = make_plan(wedge_of(source.document.value), report.total_duration_hours)
    if fmt == "json":
        click.echo(json.dumps(the_plan.to_dict(start), indent=2))
    else:
        document = source.document.value
        title = document.get("title", source.name) if isinstance(document, dict) else source.name
        print_plan(_console(), the_plan, str(title), start)
    return Exit.OK if report.valid else Exit.REFUSED


# --- Against the server ---------------------------------------------------------------------------


ID = click.argument("proposal_id", metavar="ID", type=click.IntRange(min=1))
JSON_OUT = click.option(
    "--json", "as_json", is_flag=True, help="Print the server's answer as JSON."
)


@cli.command(epilog=API_EPILOG, short_help="Submit a proposal (JSON or YAML)")
@FILE
@click.option(
    "--idempotency-key",
    envvar="WEDGE_IDEMPOTENCY_KEY",
    metavar="KEY",
    help="Retries with the same key return the first proposal instead of a second one "
    "(e.g. the pipeline run's id). Default: $WEDGE_IDEMPOTENCY_KEY.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the new proposal's id.")
@JSON_OUT
def submit(file: str, idempotency_key: str | None, quiet: bool, as_json: bool) -> int:
    """Submit the proposal in FILE (JSON or YAML, sent as it is written).

    The server judges it with the same rules as validate (and knows the
    subsystem); a refusal lists every error with its path. Prints the new
    proposal's id, state and address.
    """
    from .api import Refused

    source: Source = read_source(file, _stdin())
    headers = {"Content-Type": source.content_type}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    client = _settings().client()
    try:
        proposal = client.request("POST", "proposals/", content=source.raw, headers=headers)
    except Refused as refused:
        _print_refusal(refused, source)
        return Exit.REFUSED
    if as_json:
        click.echo(json.dumps(proposal, indent=2, ensure_ascii=False))
    elif quiet:
        click.echo(str(proposal["id"]))
    else:
        wedge = proposal["rollout_wedge"]
        waiver = "; needs a waiver before it can start" if proposal.get("waiver_required") else ""
        click.echo(
            f"submitted proposal {proposal['id']} ({wedge['wedge_state']}{waiver}): "
            f"{client.url}/proposals/{proposal['id']}/"
        )
    return Exit.OK


def _print_refusal(refused: Refused, source: Source) -> None:
    click.echo(f"wedge: {refused.message}", err=True)
    if len(refused.errors) > 1:
        for error in refused.errors:
            position = source.document.position_of(error.field)
            where = f"{source.name}:{position.line}:{position.column}" if position else source.name
            click.echo(f"{where}: error: {error.line()}", err=True)


def _operator_command(action: str, short_help: str, help_text: str) -> click.Command:
    @click.command(
        name=action,
        help=f"{help_text}\n\nID is the proposal's id.",
        short_help=short_help,
        epilog=API_EPILOG,
    )
    @ID
    @click.option("--reason", default="", metavar="TEXT", help="Why (kept in the audit trail).")
    @JSON_OUT
    def command(proposal_id: int, reason: str, as_json: bool) -> int:
        client = _settings().client()
        proposal = client.post(f"proposals/{proposal_id}/{action}/", {"reason": reason})
        if as_json:
            click.echo(json.dumps(proposal, indent=2, ensure_ascii=False))
        else:
            wedge = proposal["rollout_wedge"]
            stage = wedge.get("current_stage_id")
            click.echo(
                f"proposal {proposal_id}: {wedge['wedge_state']}"
                + (f" at stage {stage}" if stage else "")
                + f", exposure {wedge['exposure_percentage']:g} %"
            )
        return Exit.OK

    return command


for _action, (_short, _help) in OPERATOR_ACTIONS.items():
    cli.add_command(_operator_command(_action, _short, _help))


@cli.command(epilog=API_EPILOG, short_help="Show a rollout now: stage, criteria, next moment")
@ID
@JSON_OUT
def status(proposal_id: int, as_json: bool) -> int:
    """Show the rollout of proposal ID now: state, stages, criteria, next moment."""
    from .follow import read, render

    client = _settings().client()
    reading = read(client, proposal_id)
    if as_json:
        click.echo(json.dumps({"proposal": reading.proposal, "status": reading.status}, indent=2))
    else:
        console = _console()
        console.print(render(reading, time.monotonic()))
    return Exit.OK


@cli.command(epilog=WATCH_EPILOG, short_help="Follow a rollout to its end (exit 0, 3 or 4)")
@ID
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between looks.",
)
@click.option(
    "--timeout",
    "watch_timeout",
    type=click.FloatRange(min=0),
    help="Give up (exit 6) after this many seconds. Default: follow it to its end.",
)
def watch(proposal_id: int, interval: float, watch_timeout: float | None) -> int:
    """Follow the rollout of proposal ID until it ends; exit 0 COMPLETE, 3 ROLLED_BACK, 4 PAUSED.

    On a terminal: a live view with a progress bar per stage, the criteria with
    the latest values and the time to the next eligible moment. In a log: one
    line whenever something changes. A server that stops answering is retried
    a few times (with growing pauses) before exit 5.
    """
    from .follow import Watch

    client = _settings().client()
    outcome = Watch(client, proposal_id, _console(), interval, watch_timeout).run()
    names = {Exit.OK: "completed", Exit.ROLLED_BACK: "rolled back", Exit.PAUSED: "paused"}
    if outcome in names:
        click.echo(f"proposal {proposal_id}: {names[outcome]}")
    return outcome


# --- Entry point ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wedge``; every failure is one line on stderr and an exit code (see ``--help``)."""
    try:
        result: Any = cli.main(args=argv, prog_name="wedge", standalone_mode=False)
    except click.exceptions.Exit as done:  # --help, --version
        return int(done.exit_code)
    except click.ClickException as error:  # usage errors: exit 2 with the usage line
        error.show()
        return int(error.exit_code)
    except click.exceptions.Abort:
        click.echo("wedge: aborted", err=True)
        return 130
    except CliError as error:
        click.echo(f"wedge: {error.message}", err=True)
        return int(error.exit_code)
    except KeyboardInterrupt:
        click.echo("wedge: interrupted", err=True)
        return 130
    except Exception as error:  # a bug: say so in one line; the trace only on request
        if os.environ.get("WEDGE_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"wedge: internal error: {type(error).__name__}: {error} "
            "(set WEDGE_DEBUG=1 for the traceback)",
            err=True,
        )
        return 1
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
