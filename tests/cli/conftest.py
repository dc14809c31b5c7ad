"""Running ``wedge`` in tests: in process (fast, any environment) or as the installed program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML
from wedge_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
WEDGE = Path(sys.executable).with_name("wedge")


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run(*args: object, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Ran:
    """``wedge ARGS`` in this process, with stdin, stdout, stderr and the environment isolated.

    The ``WEDGE_*`` variables are cleared unless ``env`` gives them.
    """
    environment: dict[str, str | None] = dict.fromkeys(
        (
            "WEDGE_URL",
            "WEDGE_TOKEN",
            "WEDGE_HTTP_TIMEOUT",
            "WEDGE_IDEMPOTENCY_KEY",
            "WEDGE_DEBUG",
            "WEDGE_PROVIDERS",
        )
    )
    environment.update(env or {})
    with CliRunner().isolation(input=input, env=environment) as (out, err, _):
        code = main([str(arg) for arg in args])
        sys.stdout.flush()
        sys.stderr.flush()
        return Ran(code, out.getvalue().decode(), err.getvalue().decode())


def run_program(
    *args: object, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The installed ``wedge`` console script, as a pipeline runs it."""
    return subprocess.run(
        [str(WEDGE), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "WEDGE_URL": "", "WEDGE_TOKEN": "", **(env or {})},
    )


def as_yaml(document: Any) -> str:
    import io

    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(document, out)
    return out.getvalue()


@pytest.fixture
def write(tmp_path: Path):
    """Write a document (JSON unless the name ends in .yaml) or raw text; return the path."""

    def make(name: str, document: Any) -> Path:
        path = tmp_path / name
        if isinstance(document, str | bytes):
            path.write_bytes(document.encode() if isinstance(document, str) else document)
        elif name.endswith((".yaml", ".yml")):
            path.write_text(as_yaml(document))
        else:
            path.write_text(json.dumps(document, indent=2))
        return path

    return make
