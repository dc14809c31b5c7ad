"""Every benchmark, then one summary table (what ``make bench`` runs).

    .venv/bin/python -m bench.run

1. ``bench.bench_stack``: the rollout engine on gunicorn + Celery worker + beat
   + PostgreSQL + Redis, started and stopped here;
2. ``bench.bench_metrics``: metric gates reading a real Prometheus, on a worker and
   beat started and stopped here, in the stack benchmark's database;
3. ``bench.bench_policy``: validations per second in process;
   ``bench.bench_cli``: documents read per second (JSON, YAML) and the ``wedge``
   CLI's validate and plan as new processes;
4. ``bench.bench_audit`` (when present): the audit trail's writes and exports,
   in a separate process with its own database, its output shown as printed;
5. ``bench.bench_retention``: snapshot retention at 10 million rows
   (``WEDGE_BENCH_SNAPSHOT_ROWS``), the same way;
6. ``bench.bench_closed_loop``: a failing canary behind HAProxy until its traffic
   is off it (Prometheus, Wedge, the agent), with Flagger's and Argo Rollouts'
   defaults beside it, the same way (its own database).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from bench import bench_cli, bench_metrics, bench_policy, bench_stack
from bench.measure import Row, print_rows, print_summary
from bench.stack import BENCH_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
AUDIT_TIMEOUT = 300  # seconds; bench_audit aims at well under two minutes
RETENTION_TIMEOUT = 1200  # seconds; loading 10 million rows takes a few minutes
LOOP_TIMEOUT = 900  # seconds; 11 runs of about 20 s each, plus the stack's start


def machine() -> str:
    cores = os.cpu_count() or 0
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    return (
        f"{platform.node()}: {cores} cores, {total_kib / 1024 / 1024:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def run_script(module: str, section: str, timeout: int) -> list[Row]:
    """``python -m <module>`` in its own process; the rows of the table it prints, parsed back."""
    if not (ROOT / (module.replace(".", "/") + ".py")).is_file():
        return [Row(section, module, "not run", f"{module} does not exist")]
    # Its own settings and database: drop ours.
    ours = set(BENCH_ENVIRONMENT)
    env = {k: v for k, v in os.environ.items() if k not in ours}
    print(f"\n== {module} (its own output) ==", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        # A busy machine: the figures printed so far still stand, this one is missing.
        print(str(expired.stdout or "")[-3000:], flush=True)
        return [Row(section, module, "timed out", f"no answer within {timeout} s")]
    elapsed = time.perf_counter() - started
    print(done.stdout, end="", flush=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return [Row(section, module, f"failed ({done.returncode})", "see its output")]
    rows = []
    in_table = False
    for line in done.stdout.splitlines():
        if line.startswith("----"):
            in_table = True
            continue
        if not in_table or not line.strip():
            continue
        cells = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        if len(cells) >= 2:
            figure = ("  " if line.startswith("  ") else "") + cells[0]
            rows.append(Row(section, figure, cells[1], cells[2] if len(cells) > 2 else ""))
    rows.append(Row(section, f"{module} run time", f"{elapsed:.0f} s", "wall clock"))
    return rows


def main() -> None:
    started = time.perf_counter()
    print(f"Wedge benchmarks on {machine()}", flush=True)
    rows = bench_stack.run()
    rows += bench_metrics.run()
    rows += bench_policy.measure()
    rows += bench_cli.measure()
    sections: dict[str, list[Row]] = {}
    for row in rows:
        sections.setdefault(row.section, []).append(row)
    for title, section_rows in sections.items():
        print_rows(title, section_rows)
    rows += run_script("bench.bench_audit", "audit", AUDIT_TIMEOUT)
    rows += run_script("bench.bench_retention", "retention", RETENTION_TIMEOUT)
    rows += run_script("bench.bench_closed_loop", "closed loop", LOOP_TIMEOUT)
    order = list(dict.fromkeys(row.section for row in rows))
    rows.sort(key=lambda row: order.index(row.section))
    print_summary(rows)
    print(f"make bench: {time.perf_counter() - started:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
