"""Background threads for work handed over once a transaction commits.

One thread per purpose and process (the outbox's broker publishes, the
emails), created on first use: a process that gunicorn or Celery forks
starts its own rather than inheriting a copy whose thread does not run.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_executors: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def background(name: str) -> ThreadPoolExecutor:
    """This process's one-thread executor for ``name`` (also its threads' name prefix)."""
    with _lock:
        executor = _executors.get(name)
        if executor is None:
            executor = _executors[name] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        return executor
