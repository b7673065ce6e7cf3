"""What a provisioning step did, node by node, for a terminal and for Jupyter.

A step returns a :class:`StepResult`: one :class:`NodeChange` per node it looked at
(changed or not, and what), plus notes about the whole lab. ``lab.require()``
returns a :class:`RequireReport` of the states it found or reached and the step
results on the way. Both render through the same two table helpers, and every
text they show goes through :func:`workshop.secrets.mask_secrets`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from workshop.lab.results import node_sort_key
from workshop.secrets import mask_secrets

__all__ = [
    "NodeChange",
    "RequireReport",
    "StateOutcome",
    "StepResult",
    "html_table",
    "text_table",
]

_CELL = "padding:2px 8px;text-align:left;vertical-align:top"
_CHANGED_STYLE = "background:#e3f2e1"


def text_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Render rows as aligned plain-text columns (the last column is not padded).

    Args:
        header: Column titles.
        rows: Cells, one sequence per row, as many as ``header``.

    Returns:
        The table, masked, one line per row after the header.
    """
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = []
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return mask_secrets("\n".join(lines))


def html_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    highlight: Sequence[bool] = (),
    caption: str | None = None,
    css_class: str = "workshop-step",
) -> str:
    """Render rows as an HTML table; cells are plain text (escaped and masked).

    Args:
        header: Column titles.
        rows: Cells, one sequence per row.
        highlight: Per row, whether to shade it (a change).
        caption: Text above the table.
        css_class: The table's class.

    Returns:
        The ``<table>`` markup.
    """
    parts = [f'<table class="{css_class}" style="border-collapse:collapse">']
    if caption:
        parts.append(
            f'<caption style="text-align:left"><b>{html.escape(mask_secrets(caption))}</b>'
            "</caption>"
        )
    parts.append(
        "<thead><tr>"
        + "".join(f'<th style="{_CELL}">{html.escape(h)}</th>' for h in header)
        + "</tr></thead><tbody>"
    )
    marks = list(highlight)
    for index, row in enumerate(rows):
        style = _CHANGED_STYLE if index < len(marks) and marks[index] else ""
        cells = "".join(
            f'<td style="{_CELL}"><pre style="margin:0;white-space:pre-wrap">'
            f"{html.escape(mask_secrets(cell))}</pre></td>"
            for cell in row
        )
        parts.append(f'<tr style="{style}">{cells}</tr>')
    parts.append("</tbody></table>")
    return "".join(parts)


@dataclass(frozen=True)
class NodeChange:
    """What a step did on one node.

    Attributes:
        node: Node name.
        changed: Whether the step changed anything there.
        detail: What it did, or what it found already in place.
    """

    node: str
    changed: bool
    detail: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", mask_secrets(self.detail))


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step on the lab.

    Attributes:
        step: The step's name, e.g. ``install_docker``.
        nodes: One entry per node the step looked at, in node order.
        duration: Seconds the step took.
        notes: Facts about the whole lab (e.g. which publishing mode was chosen).
    """

    step: str
    nodes: tuple[NodeChange, ...]
    duration: float = 0.0
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.nodes, key=lambda c: node_sort_key(c.node)))
        object.__setattr__(self, "nodes", ordered)
        object.__setattr__(self, "notes", tuple(mask_secrets(n) for n in self.notes))

    @property
    def changed(self) -> bool:
        """Whether anything changed on any node."""
        return any(c.changed for c in self.nodes)

    @property
    def changed_nodes(self) -> list[str]:
        """Names of the nodes where something changed."""
        return [c.node for c in self.nodes if c.changed]

    def __getitem__(self, node: str) -> NodeChange:
        for change in self.nodes:
            if change.node == node:
                return change
        raise KeyError(node)

    def summary(self) -> str:
        """One line: the step, where it changed something, and how long it took."""
        changed = self.changed_nodes
        what = f"changed on {', '.join(changed)}" if changed else "no change"
        return f"{self.step}: {what} ({self.duration:.1f} s)"

    def _rows(self) -> list[list[str]]:
        return [[c.node, "changed" if c.changed else "no change", c.detail] for c in self.nodes]

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.nodes:
            table = text_table(("node", "result", "detail"), self._rows())
            lines.extend(f"  {line}" for line in table.splitlines())
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<StepResult {self.summary()}>"

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return (
            html_table(
                ("node", "result", "detail"),
                self._rows(),
                highlight=[c.changed for c in self.nodes],
                caption=self.summary(),
            )
            + notes
        )


@dataclass(frozen=True)
class StateOutcome:
    """One state of ``lab.require()``: already there, or reached by some steps.

    Attributes:
        state: The state's name.
        reached: True if steps ran to reach it, False if it was already there.
        steps: The results of the steps that ran.
    """

    state: str
    reached: bool
    steps: tuple[StepResult, ...] = ()

    def describe(self) -> str:
        """A short description: ``already there`` or the steps that changed something."""
        if not self.reached:
            return "already there"
        changed = [s.summary() for s in self.steps if s.changed]
        return "reached: " + ("; ".join(changed) if changed else "nothing needed changing")


@dataclass(frozen=True)
class RequireReport:
    """What ``lab.require()`` found and did, state by state.

    Attributes:
        wanted: The states asked for.
        states: Every state checked, in order.
        duration: Seconds the whole call took.
    """

    wanted: tuple[str, ...]
    states: tuple[StateOutcome, ...]
    duration: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether any step changed anything."""
        return any(step.changed for state in self.states for step in state.steps)

    @property
    def steps(self) -> list[StepResult]:
        """Every step that ran, in order."""
        return [step for state in self.states for step in state.steps]

    def summary(self) -> str:
        """One line: what was asked, and whether anything had to be done."""
        reached = [s.state for s in self.states if s.reached]
        what = f"reached {', '.join(reached)}" if reached else "already there"
        return f"require({', '.join(map(repr, self.wanted))}): {what} ({self.duration:.1f} s)"

    def _rows(self) -> list[list[str]]:
        return [[s.state, s.describe()] for s in self.states]

    def __str__(self) -> str:
        table = text_table(("state", "result"), self._rows())
        return "\n".join([self.summary(), *(f"  {line}" for line in table.splitlines())])

    def __repr__(self) -> str:
        return f"<RequireReport {self.summary()}>"

    def _repr_html_(self) -> str:
        return html_table(
            ("state", "result"),
            self._rows(),
            highlight=[s.reached for s in self.states],
            caption=self.summary(),
        )
