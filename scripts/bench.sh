#!/usr/bin/env bash
# `make bench`: every benchmark on the real stack, then a summary table.
# The Makefile has installed the dev dependencies and made sure PostgreSQL and
# Redis run on 127.0.0.1. The benchmarks create their own databases
# (wedge_bench_stack, wedge_bench) and use Redis database 12; they start
# gunicorn, a Celery worker and beat themselves and stop them (by PID) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

export PYTHONUNBUFFERED=1
# A hard ceiling, so a wedged run cannot hold the machine: the whole suite
# takes about four minutes on two cores, the metric providers' part a few more.
exec timeout --signal=INT --kill-after=30 1800 .venv/bin/python -m bench.run "$@"
