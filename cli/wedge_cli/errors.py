"""Exit codes and the one error type the commands raise.

Pipelines branch on the exit code, so each means one thing, for every command.
"""

from __future__ import annotations

from enum import IntEnum

from wedge_policy.documents import Position


class Exit(IntEnum):
    OK = 0
    # The document breaks the policy, or the server refused the request (a 4xx).
    REFUSED = 1
    # Bad arguments or configuration, or a file that cannot be read as JSON or YAML.
    USAGE = 2
    # `wedge watch`: the rollout ended rolled back, or it was paused.
    ROLLED_BACK = 3
    PAUSED = 4
    # The server could not be reached, timed out, or failed (a 5xx).
    UNREACHABLE = 5
    # `wedge watch --timeout`: the rollout was still running when time ran out.
    TIMED_OUT = 6


class CliError(Exception):
    """A failure to report in one line on stderr, with its exit code.

    ``file`` and ``position`` say where in an input file the problem is, for
    annotations (``--format github``).
    """

    def __init__(
        self,
        message: str,
        exit_code: Exit = Exit.USAGE,
        *,
        file: str | None = None,
        position: Position | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.file = file
        self.position = position
