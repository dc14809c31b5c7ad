"""The ``wedge`` CLI and the YAML reader: what a pipeline step and a YAML body cost.

    .venv/bin/python -m bench.bench_cli

* documents read per second, a 10-stage proposal as JSON and as YAML, through
  ``wedges.policy.documents`` (what the API's parsers and the CLI both use);
* ``wedge validate`` and ``wedge plan`` as a pipeline runs them: a new process
  each time (the installed console script), median and worst of several runs.

Needs no database or server.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from bench.bench_policy import SECONDS, _rate
from bench.measure import Row, check, print_rows
from bench.seed import ten_stage_proposal

RUNS = 10  # processes per command: enough for a stable median on a busy machine
WEDGE = Path(sys.executable).with_name("wedge")


def _yaml_text(document: object) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(document, out)
    return out.getvalue()


def _process_times(*args: str) -> list[float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = subprocess.run(
            [str(WEDGE), *args], capture_output=True, text=True, timeout=60, check=False
        )
        times.append(time.perf_counter() - started)
        check(done.returncode == 0, done.stderr)
    return times


def measure() -> list[Row]:
    from wedges.policy.documents import load_json, load_yaml

    proposal = ten_stage_proposal()
    as_json = json.dumps(proposal, indent=2)
    as_yaml = _yaml_text(proposal)
    check(load_yaml(as_yaml).value == load_json(as_json), "YAML and JSON read differently")
    json_calls, json_rate = _rate(lambda: load_json(as_json), SECONDS)
    yaml_calls, yaml_rate = _rate(lambda: load_yaml(as_yaml), SECONDS)
    section = "cli"
    rows = [
        Row(
            section,
            "10-stage proposal read, JSON",
            f"{json_rate:,.0f} /s",
            f"documents.load_json, {len(as_json):,} bytes, {json_calls:,} calls in {SECONDS:.0f} s",
        ),
        Row(
            section,
            "10-stage proposal read, YAML",
            f"{yaml_rate:,.0f} /s",
            f"documents.load_yaml (one pass over the events: checks, values, positions), "
            f"{len(as_yaml):,} bytes, {yaml_calls:,} calls",
        ),
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "proposal.yaml"
        path.write_text(as_yaml)
        for command in ("validate", "plan"):
            times = _process_times(command, str(path))
            rows.append(
                Row(
                    section,
                    f"wedge {command}, new process",
                    f"{statistics.median(times) * 1000:.0f} ms",
                    f"median of {RUNS} runs of the console script on the 10-stage YAML "
                    f"proposal, start to exit (worst {max(times) * 1000:.0f} ms)",
                )
            )
    return rows


if __name__ == "__main__":
    print_rows("The wedge CLI and the YAML reader", measure())
