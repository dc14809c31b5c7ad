"""``wedge-agent --config agent.toml``: the one entry point.

Exit codes:

    0  stopped by SIGTERM or SIGINT; with --once, every proposal converged and reported
    1  an unexpected error (its traceback is logged)
    2  bad usage or configuration (every problem is named)
    3  the webhook listener cannot bind its address
    4  with --once: Wedge did not answer or refused, so a desired state is unknown
       or a report did not reach it
    5  with --once: HAProxy did not answer or refused a command
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from agent import __version__, logs
from agent.config import Config, ConfigError, load
from agent.haproxy import RuntimeAPI
from agent.reconciler import Reconciler
from agent.webhook import Event, Listener
from agent.wedge import WedgeClient

OK = 0
UNEXPECTED = 1
BAD_CONFIG = 2
CANNOT_LISTEN = 3
WEDGE_FAILED = 4
HAPROXY_FAILED = 5


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wedge-agent",
        description="Follow Wedge's desired exposure and apply it as HAProxy server weights.",
        epilog="Exit codes: 0 stopped or converged, 1 unexpected error, 2 bad configuration, "
        "3 cannot listen, 4 (--once) Wedge failed, 5 (--once) HAProxy failed.",
    )
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=os.environ.get("WEDGE_AGENT_CONFIG"),
        help="the TOML configuration (default: $WEDGE_AGENT_CONFIG)",
    )
    parser.add_argument(
        "--once", action="store_true", help="reconcile once, report, and exit (no listener)"
    )
    parser.add_argument(
        "--check-config", action="store_true", help="check the configuration and exit"
    )
    parser.add_argument("--debug", action="store_true", help="also log ignored deliveries")
    parser.add_argument("--version", action="version", version=f"wedge-agent {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure(level=10 if args.debug else 20)
    log = logs.EventLog()
    if args.config is None:
        log.error("config_invalid", error="no configuration: pass --config or $WEDGE_AGENT_CONFIG")
        return BAD_CONFIG
    try:
        config = load(args.config)
    except ConfigError as exc:
        log.error("config_invalid", path=str(args.config), error=str(exc))
        return BAD_CONFIG
    if args.check_config:
        log.info("config_ok", path=str(args.config), proposals=len(config.follows))
        return OK
    try:
        return run(config, once=args.once, log=log)
    except Exception:
        log.exception("crashed")
        return UNEXPECTED


def run(config: Config, *, once: bool, log: logs.EventLog) -> int:
    reconciler = Reconciler(
        config.follows, WedgeClient(config.wedge), RuntimeAPI(config.haproxy), log
    )
    follows = " ".join(f"{f.proposal}:{f.backend}/{f.canary}+{f.stable}" for f in config.follows)
    if once:
        reconciler.reconcile_all(source="start")
        tracks = reconciler.tracks.values()
        if any(track.haproxy_error for track in tracks):
            return HAPROXY_FAILED
        if any(t.wedge_error or t.desired is None or t.report_due for t in tracks):
            return WEDGE_FAILED
        return OK

    events: queue.Queue[Event | None] = queue.Queue()
    stop = threading.Event()
    listener = None
    if config.webhook is not None:
        try:
            listener = Listener(
                config.webhook,
                followed={f.proposal for f in config.follows},
                accept=events.put,
                status=reconciler.status,
                log=log,
            )
        except OSError as exc:
            log.error(
                "cannot_listen",
                address=f"{config.webhook.host}:{config.webhook.port}",
                error=str(exc),
            )
            return CANNOT_LISTEN
        listener.serve_in_background()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()
        events.put(None)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info(
        "started",
        version=__version__,
        wedge=config.wedge.url,
        haproxy=config.haproxy.describe(),
        listen="{}:{}{}".format(*listener.address, config.webhook.path)
        if listener and config.webhook
        else "off (polling only)",
        follows=follows,
    )
    try:
        reconciler.run(
            events,
            stop,
            poll_seconds=config.wedge.poll_seconds,
            retry_seconds=config.haproxy.retry_seconds,
        )
    finally:
        if listener is not None:
            listener.close()
    log.info("stopped")
    return OK


if __name__ == "__main__":
    sys.exit(main())
