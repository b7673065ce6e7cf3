"""Fakes shared by unit tests that stand in for what the lab answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workshop.lab import InventorySource, Node
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


class FakeSource(InventorySource):
    """An inventory-like source whose hosts are given, not read from a file."""

    def __init__(self, nodes: Sequence[Node] = ()) -> None:
        super().__init__(Path("inventory.yml"))
        self.nodes = list(nodes)

    def discover(self) -> list[Node]:
        return list(self.nodes)
