"""Pure plots of the swarm's state: data in, matplotlib figure out.

The functions build :class:`matplotlib.figure.Figure` objects directly (no
``pyplot``), so they keep no global state and work with any backend. The figures
show themselves in Jupyter as PNG even when pyplot was never imported.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Wedge
from matplotlib.ticker import MaxNLocator

from workshop.lab.results import node_sort_key
from workshop.swarm.models import Quorum, SwarmNode

__all__ = [
    "DashboardFigure",
    "figure_png",
    "new_figure",
    "node_label",
    "quorum_gauge",
    "replica_map",
]

OK_COLOR = "#2e7d32"
WARN_COLOR = "#ef6c00"
BAD_COLOR = "#c62828"
IDLE_COLOR = "#bdbdbd"
MARK_COLOR = "#757575"
UNKNOWN_NODE = "unknown"


def figure_png(figure: Figure, *, fast: bool = False) -> bytes:
    """The figure as PNG bytes, trimmed to what it draws.

    Args:
        figure: The figure.
        fast: Skip the trim (a figure with a layout engine already fits its canvas)
            and compress lightly: for widgets that redraw often.
    """
    buffer = io.BytesIO()
    if fast:
        figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    else:
        figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


class DashboardFigure(Figure):
    """A figure that renders itself as PNG in Jupyter without pyplot."""

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def new_figure(width: float, height: float, figure: Figure | None = None) -> Figure:
    """A new figure of that size, or ``figure`` cleared and resized (drawn in place)."""
    if figure is None:
        return DashboardFigure(figsize=(width, height), layout="constrained")
    figure.clear()
    figure.set_size_inches(width, height)
    return figure


def node_label(node: SwarmNode) -> str:
    """Tick label for a node: its name, plus marks such as ``"node-3 (drain)"``."""
    return f"{node.hostname} ({', '.join(node.marks)})" if node.marks else node.hostname


def replica_map(
    distribution: Mapping[str, Mapping[str, int]],
    nodes: Sequence[SwarmNode],
    *,
    title: str = "Tasks per node",
    figure: Figure | None = None,
) -> Figure:
    """Stacked bars of tasks per node, one colour per service.

    Nodes that are drained, paused or down get a hatched background and a label
    such as ``"node-3 (drain)"``. Bars are one container per service
    (``ax.containers``), in sorted service order.

    Args:
        distribution: Service -> node hostname -> number of tasks.
        nodes: All swarm nodes (nodes without tasks get an empty column).
        title: Axes title.
        figure: Draw into this figure (cleared first) instead of a new one.
    """
    by_name = {node.hostname: node for node in nodes}
    hosts = sorted(by_name, key=node_sort_key)
    extra = {h for counts in distribution.values() for h in counts} - set(hosts)
    hosts += sorted(extra, key=node_sort_key)
    fig = new_figure(max(4.0, 1.3 * len(hosts) + 2.5), 3.6, figure)
    ax = fig.add_subplot()
    totals = _stack_services(ax, distribution, hosts)
    _mark_nodes(ax, hosts, by_name, totals)
    ax.set_xlim(-0.6, max(len(hosts), 1) - 0.4)
    ax.set_ylim(0, max([1, *totals]) * 1.18)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("tasks")
    ax.set_title(title)
    if distribution:
        ax.legend(title="service", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if not hosts:
        ax.text(0.5, 0.5, "no nodes", transform=ax.transAxes, ha="center", va="center")
    return fig


def _stack_services(
    ax: Axes, distribution: Mapping[str, Mapping[str, int]], hosts: Sequence[str]
) -> list[int]:
    """One bar container per service, stacked; returns the total per host."""
    positions = list(range(len(hosts)))
    bottoms = [0] * len(hosts)
    for index, service in enumerate(sorted(distribution)):
        heights = [int(distribution[service].get(host, 0)) for host in hosts]
        ax.bar(
            positions,
            heights,
            width=0.6,
            bottom=bottoms,
            label=service,
            color=f"C{index % 10}",
            edgecolor="white",
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    return bottoms


def _mark_nodes(
    ax: Axes, hosts: Sequence[str], by_name: Mapping[str, SwarmNode], totals: Sequence[int]
) -> None:
    """Label each column, hatch and redden nodes with marks, write each total on top."""
    for position, host in enumerate(hosts):
        node = by_name.get(host)
        if node is not None and node.marks:
            ax.axvspan(
                position - 0.4,
                position + 0.4,
                facecolor="none",
                edgecolor=MARK_COLOR,
                hatch="//",
                linewidth=0,
                zorder=0,
                gid=f"mark:{host}",
            )
        if totals[position]:
            ax.annotate(
                str(totals[position]),
                (position, totals[position]),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
            )
    labels = [node_label(by_name[h]) if h in by_name else h for h in hosts]
    ax.set_xticks(list(range(len(hosts))), labels=labels)
    for tick, host in zip(ax.get_xticklabels(), hosts, strict=True):
        if host in by_name and by_name[host].marks:
            tick.set_color(BAD_COLOR)


def quorum_gauge(quorum: Quorum, *, figure: Figure | None = None) -> Figure:
    """Half-donut gauge of the managers: reachable vs needed for a quorum.

    One wedge per manager (``gid`` ``"reachable"`` or ``"unreachable"``), a tick
    where the quorum is reached, and the title from :attr:`Quorum.summary`
    (``"quorum OK, tolerates 1 failure"`` or ``"NO QUORUM"``). ``figure``: draw
    into this figure (cleared first) instead of a new one.
    """
    fig = new_figure(4.2, 3.0, figure)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_axis_off()
    step = _gauge_wedges(ax, quorum)
    angle = math.radians(180.0 - quorum.needed * step)
    cos, sin = math.cos(angle), math.sin(angle)
    ax.plot([0.6 * cos, 1.08 * cos], [0.6 * sin, 1.08 * sin], color="black", linewidth=2)
    ax.text(
        1.16 * cos,
        1.16 * sin,
        f"needed: {quorum.needed}",
        ha="left" if cos > 0.05 else "right" if cos < -0.05 else "center",
        va="bottom",
    )
    ax.text(
        0,
        0.12,
        f"{quorum.reachable}/{quorum.managers}",
        ha="center",
        va="bottom",
        fontsize=20,
        fontweight="bold",
    )
    ax.text(0, 0.0, "managers reachable", ha="center", va="bottom", fontsize=9)
    leader = quorum.leader or "none"
    ax.text(
        0,
        -0.2,
        f"leader: {leader} · full swarm tolerates "
        f"{quorum.tolerance} failure{'s' if quorum.tolerance != 1 else ''}",
        ha="center",
        va="top",
        fontsize=9,
    )
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-0.4, 1.3)
    ax.set_title(
        quorum.summary, color=OK_COLOR if quorum.has_quorum else BAD_COLOR, fontweight="bold"
    )
    return fig


def _gauge_wedges(ax: Axes, quorum: Quorum) -> float:
    """One wedge per manager, reachable ones filled; returns the angle of one wedge."""
    step = 180.0 / quorum.managers
    fill = OK_COLOR if quorum.has_quorum else WARN_COLOR
    for slot in range(quorum.managers):
        up = slot < quorum.reachable
        ax.add_patch(
            Wedge(
                (0.0, 0.0),
                1.0,
                180.0 - (slot + 1) * step,
                180.0 - slot * step,
                width=0.35,
                facecolor=fill if up else IDLE_COLOR,
                edgecolor="white",
                linewidth=2,
                gid="reachable" if up else "unreachable",
            )
        )
    return step
