"""The embedded default: no REDIS_URL, a filesystem broker and results under var/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

QUEUE_A_TASK = "from config.celery import ping\nresult = ping.delay(41)\nprint(result.id)\n"


def run_embedded(code: str, var_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    ours = ("DJANGO_", "DATABASE_", "REDIS_", "SECRET_", "DEBUG", "ALLOWED_", "CELERY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", WEDGE_VAR_DIR=str(var_dir))
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_task_queued_from_a_shell_finds_its_broker_folders(tmp_path):
    """Outside `make run` nothing has made var/broker or var/results beforehand."""
    var_dir = tmp_path / "var"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    result = run_embedded(QUEUE_A_TASK, var_dir, cwd)
    assert result.returncode == 0, result.stderr
    queued = list((var_dir / "broker" / "queue").iterdir())
    assert len(queued) == 1
    assert (var_dir / "results").is_dir()
    # The transport's exchange table lives under var/ too, not in the working directory.
    assert (var_dir / "broker" / "control").is_dir()
    assert list(cwd.iterdir()) == []
