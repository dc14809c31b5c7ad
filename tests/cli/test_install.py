"""``pip install ./cli`` into a fresh virtual environment gives a working ``wedge`` without Django.

Only ``cli/`` and ``wedges/policy/`` are copied from the repository, so this
also proves the distribution needs nothing else from it, and that the policy
core it installs (as ``wedge_policy``) is the repository's, not a copy kept in
``cli/``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.documents import PROPOSAL

from .conftest import ROOT, as_yaml

pytestmark = pytest.mark.timeout(600)


def sh(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], capture_output=True, text=True, timeout=540, cwd=cwd
    )


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with nothing but ``pip install ./cli`` from a copy of the two folders."""
    base = tmp_path_factory.mktemp("install")
    checkout = base / "checkout"
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT / "cli", checkout / "cli", ignore=skip)
    shutil.copytree(ROOT / "wedges" / "policy", checkout / "wedges" / "policy", ignore=skip)
    venv = base / "venv"
    made = sh(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    installed = sh(
        venv / "bin" / "python", "-m", "pip", "install", "--quiet", "./cli", cwd=checkout
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def test_wedge_runs_without_django(fresh, tmp_path):
    wedge = fresh / "bin" / "wedge"
    version = sh(wedge, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "wedge, version 0.1.0"
    good = tmp_path / "proposal.yaml"
    good.write_text(as_yaml(PROPOSAL))
    result = sh(wedge, "validate", good)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "valid; planned total duration 6 h"
    bad = tmp_path / "wedge.yaml"
    bad.write_text(as_yaml({**PROPOSAL["rollout_wedge"], "observation_window_hours": 0.5}))
    result = sh(wedge, "validate", bad, "--format", "github")
    assert result.returncode == 1
    assert "title=observation_window_too_short" in result.stdout
    assert sh(wedge, "plan", good).returncode == 0


def test_nothing_of_the_server_is_installed(fresh):
    python = fresh / "bin" / "python"
    for module in ("django", "rest_framework", "wedges", "config"):
        probe = sh(python, "-c", f"import {module}", cwd=fresh)
        assert probe.returncode == 1, f"{module} is importable"
        assert "ModuleNotFoundError" in probe.stderr


def test_the_policy_is_installed_under_its_own_name(fresh):
    python = fresh / "bin" / "python"
    probe = sh(
        python,
        "-c",
        "import wedge_policy, wedge_policy.validation as v; print(wedge_policy.__file__);"
        " print(v.validate.__module__)",
        cwd=fresh,
    )
    assert probe.returncode == 0, probe.stderr
    location, module = probe.stdout.split()
    assert Path(location).is_relative_to(fresh)
    assert module == "wedge_policy.validation"
    # The very modules of the repository's policy core, byte for byte.
    for source in (ROOT / "wedges" / "policy").glob("*.py"):
        assert (Path(location).parent / source.name).read_bytes() == source.read_bytes()
