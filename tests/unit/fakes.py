"""Fakes shared by unit tests that stand in for what the lab answers."""

from __future__ import annotations

from workshop.lab.results import RunResult


def result(
    node: str,
    command: str,
    rc: int | None = 0,
    stdout: str = "",
    stderr: str = "",
    error: str | None = None,
) -> RunResult:
    """What one node answered, as `lab.run` returns it."""
    return RunResult(
        node=node,
        command=command,
        rc=rc,
        stdout=stdout,
        stderr=stderr,
        duration=0.01,
        started=0.0,
        finished=0.01,
        error=error,
    )
