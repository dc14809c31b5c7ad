"""The dependency direction is enforced by import-linter, and the check has teeth."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's packages and contracts, copied so a test can add a bad import."""
    tree = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in (
        "config",
        "org",
        "audit",
        "webhooks",
        "policies",
        "wedges",
        "providers",
        "waivers",
        "gates",
        "freezes",
        "governance",
    ):
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copytree(ROOT / "agent", tree / "agent", ignore=shutil.ignore_patterns("*.pyc", "build"))
    shutil.copytree(ROOT / "harness", tree / "harness", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copytree(
        ROOT / "cli" / "wedge_cli", tree / "wedge_cli", ignore=shutil.ignore_patterns("*.pyc")
    )
    for package in ("bench", "tests"):
        (tree / package).mkdir()
        (tree / package / "__init__.py").touch()
    return tree


def test_the_project_keeps_its_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("audit/services.py", "import wedges.models", "Apps depend one way"),
        ("org/models.py", "from waivers import rules", "Apps depend one way"),
        ("wedges/models.py", "import governance.models", "Apps depend one way"),
        ("wedges/services/rollout.py", "import providers.models", "Apps depend one way"),
        ("waivers/services.py", "import providers.services", "Apps depend one way"),
        ("wedges/policy/engine.py", "import django.db", "The policy core"),
        ("waivers/services.py", "import tests.factories", "Nothing in the product imports"),
        ("agent/haproxy.py", "import django.conf", "The agent imports no app"),
        ("agent/wedge.py", "from wedges.api import desired_state_body", "The agent imports no app"),
        ("waivers/services.py", "import harness.haproxy", "Nothing in the product imports"),
        ("agent/reconciler.py", "import harness.processes", "The agent imports no app"),
        ("harness/haproxy.py", "import django.conf", "The harness imports no app"),
        ("harness/prometheus.py", "import tests.workers", "The harness imports no app"),
        ("wedge_cli/api.py", "import django.conf", "The CLI imports no app"),
        ("wedge_cli/checks.py", "from wedges.policy import validate", "The CLI imports no app"),
        ("wedge_cli/main.py", "import agent.config", "The CLI imports no app"),
    ],
)
def test_a_back_edge_breaks_the_build(tree_copy, module, line, contract):
    target = tree_copy / module
    original = target.read_text()
    target.write_text(f"{line}  # noqa\n{original}")
    try:
        result = lint_imports(tree_copy)
    finally:
        target.write_text(original)
    assert result.returncode == 1, result.stdout
    verdicts = [row for row in result.stdout.splitlines() if row.startswith(contract)]
    assert verdicts, result.stdout
    # "BROKEN", or "BROKEN (n ignored imports)" for a contract that ignores some.
    assert " BROKEN" in verdicts[0], result.stdout
