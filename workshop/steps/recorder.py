"""What a step tells as it runs, and what it did on each node.

:class:`StepRecorder` collects the changes a step made (or found in place) node by
node, times the step, and builds its :class:`~workshop.steps.report.StepResult`.
:func:`headlines` thins the image builder's log down to its headlines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from workshop.progress import Progress, quiet
from workshop.steps.report import NodeChange, StepResult

__all__ = ["StepRecorder", "headlines"]

_HEADLINES = ("Making", "Importing", "Pulling", "No registry")
#: The builder's own "Building <tag> from <folder>" (not apt's "Building dependency tree").
_BUILDING = re.compile(r"Building \S+ from ")


def headlines(progress: Progress) -> Progress:
    """A progress sink that forwards only the image builder's headlines, not build logs."""

    def forward(line: str) -> None:
        if line.startswith(_HEADLINES) or _BUILDING.match(line):
            progress(line)

    return forward


def _each(nodes: str | Sequence[str]) -> Sequence[str]:
    return [nodes] if isinstance(nodes, str) else nodes


class StepRecorder:
    """Collects what a step did on each node, and how long it took."""

    def __init__(self, step: str, progress: Progress = quiet) -> None:
        self.step = step
        self.progress = progress
        self.started = time.monotonic()
        self._changes: dict[str, NodeChange] = {}
        self._notes: list[str] = []

    def say(self, line: str) -> None:
        """Report progress, prefixed with the step's name."""
        self.progress(f"{self.step}: {line}")

    def changed(self, nodes: str | Sequence[str], detail: str) -> None:
        """Record a change on one or more nodes (details of several changes add up)."""
        for node in _each(nodes):
            before = self._changes.get(node)
            if before is not None and before.changed:
                detail_here = f"{before.detail}; {detail}"
            else:
                detail_here = detail
            self._changes[node] = NodeChange(node, True, detail_here)

    def unchanged(self, nodes: str | Sequence[str], detail: str) -> None:
        """Record that nothing needed doing on nodes (keeps an earlier change)."""
        for node in _each(nodes):
            if node not in self._changes:
                self._changes[node] = NodeChange(node, False, detail)

    def note(self, text: str) -> None:
        """Add a fact about the whole lab."""
        self._notes.append(text)

    def result(self) -> StepResult:
        """The step's result."""
        return StepResult(
            step=self.step,
            nodes=tuple(self._changes.values()),
            duration=time.monotonic() - self.started,
            notes=tuple(self._notes),
        )
