"""Real processes on loopback for the tests and the benchmarks: Prometheus, Alertmanager,
HAProxy, small HTTP backends and a bounded load generator.

Nothing here imports Django or an app (an import contract checks it), so a
benchmark can use it without the test suite, and the tests without a benchmark.
Every process is started with ``subprocess.Popen`` and stopped by that PID.
"""
