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
from workshop.swarm.models import Quorum, SwarmNode, TimelineSample

__all__ = [
    "DashboardFigure",
    "fault_timeline",
    "figure_png",
    "node_label",
    "quorum_gauge",
    "replica_map",
    "request_histogram",
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


def _figure(width: float, height: float, figure: Figure | None = None) -> Figure:
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
    fig = _figure(max(4.0, 1.3 * len(hosts) + 2.5), 3.6, figure)
    ax = fig.add_subplot()
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
    labels = [node_label(by_name[h]) if h in by_name else h for h in hosts]
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
        if bottoms[position]:
            ax.annotate(
                str(bottoms[position]),
                (position, bottoms[position]),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
            )
    ax.set_xticks(positions, labels=labels)
    for tick, host in zip(ax.get_xticklabels(), hosts, strict=True):
        if host in by_name and by_name[host].marks:
            tick.set_color(BAD_COLOR)
    ax.set_xlim(-0.6, max(len(hosts), 1) - 0.4)
    ax.set_ylim(0, max([1, *bottoms]) * 1.18)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("tasks")
    ax.set_title(title)
    if distribution:
        ax.legend(title="service", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if not hosts:
        ax.text(0.5, 0.5, "no nodes", transform=ax.transAxes, ha="center", va="center")
    return fig


def quorum_gauge(quorum: Quorum, *, figure: Figure | None = None) -> Figure:
    """Half-donut gauge of the managers: reachable vs needed for a quorum.

    One wedge per manager (``gid`` ``"reachable"`` or ``"unreachable"``), a tick
    where the quorum is reached, and the title from :attr:`Quorum.summary`
    (``"quorum OK, tolerates 1 failure"`` or ``"NO QUORUM"``). ``figure``: draw
    into this figure (cleared first) instead of a new one.
    """
    fig = _figure(4.2, 3.0, figure)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_axis_off()
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


def request_histogram(
    answers: Mapping[str, int],
    replicas: Mapping[str, str],
    *,
    title: str | None = None,
    figure: Figure | None = None,
) -> Figure:
    """Which replica answered how many requests, next to which node they run on.

    Left axes: one bar per replica (container hostname), coloured by node, with a
    dashed line at an even share; replicas that got no request show as 0.
    Right axes: requests per node, with the number of replicas there.

    Args:
        answers: Container hostname -> requests it answered (a ``Counter``).
        replicas: Container hostname -> node hostname it runs on.
        title: Figure title (default: how many requests and replicas).
        figure: Draw into this figure (cleared first) instead of a new one.
    """
    containers = sorted(
        set(replicas) | set(answers),
        key=lambda c: (c not in replicas, node_sort_key(replicas.get(c, "")), c),
    )
    node_of = {c: replicas.get(c, UNKNOWN_NODE) for c in containers}
    nodes = sorted(set(replicas.values()), key=node_sort_key)
    if any(c not in replicas for c in containers):
        nodes.append(UNKNOWN_NODE)  # answers from hostnames that are not known replicas
    colors = {node: f"C{index % 10}" for index, node in enumerate(nodes)}
    colors[UNKNOWN_NODE] = IDLE_COLOR
    total = sum(answers.values())
    fig = _figure(max(6.0, 0.6 * len(containers) + 4.0), 3.6, figure)
    left, right = fig.subplots(1, 2, width_ratios=[max(len(containers), 1), max(len(nodes), 1)])
    heights = [answers.get(c, 0) for c in containers]
    left.bar(range(len(containers)), heights, color=[colors[node_of[c]] for c in containers])
    left.set_xticks(
        range(len(containers)),
        labels=containers,
        rotation=45 if len(containers) > 4 else 0,
        ha="right" if len(containers) > 4 else "center",
    )
    if replicas and total:
        left.axhline(
            total / len(replicas), color="black", linestyle="--", linewidth=1, label="even share"
        )
        left.legend(frameon=False, loc="upper right")
    left.set_ylabel("requests")
    left.set_title("per replica (container hostname)")
    per_node = [sum(answers.get(c, 0) for c in containers if node_of[c] == n) for n in nodes]
    right.bar(range(len(nodes)), per_node, color=[colors[n] for n in nodes])
    right.set_xticks(range(len(nodes)), labels=nodes)
    for index, node in enumerate(nodes):
        if node == UNKNOWN_NODE:
            continue
        count = sum(1 for c in replicas if replicas[c] == node)
        right.annotate(
            f"{count} replica{'s' if count != 1 else ''}",
            (index, per_node[index]),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    right.set_title("per node")
    for ax in (left, right):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max([1, *heights, *per_node]) * 1.2)
    answered = sum(1 for c in replicas if answers.get(c, 0))
    fig.suptitle(title or f"{total} requests: {answered} of {len(replicas)} replicas answered")
    return fig


def _segments(samples: Sequence[TimelineSample]) -> list[tuple[float, float, str | None]]:
    """Runs of equal leader: ``(start, end, leader)``, the last ending at the last sample."""
    runs: list[tuple[float, float, str | None]] = []
    for index, sample in enumerate(samples):
        end = samples[index + 1].t if index + 1 < len(samples) else sample.t
        if runs and runs[-1][2] == sample.leader:
            runs[-1] = (runs[-1][0], end, sample.leader)
        else:
            runs.append((sample.t, end, sample.leader))
    return runs


def _shade_leaders(ax: Axes, samples: Sequence[TimelineSample]) -> None:
    leaders = sorted({s.leader for s in samples if s.leader is not None})
    colors = {leader: f"C{(index + 1) % 10}" for index, leader in enumerate(leaders)}
    for start, end, leader in _segments(samples):
        if end <= start:
            continue
        if leader is None:
            ax.axvspan(
                start,
                end,
                facecolor=BAD_COLOR,
                alpha=0.18,
                hatch="//",
                linewidth=0,
                gid="no-leader",
            )
        else:
            ax.axvspan(
                start,
                end,
                facecolor=colors[leader],
                alpha=0.12,
                linewidth=0,
                gid=f"leader:{leader}",
            )
        ax.text(
            (start + end) / 2,
            0.98,
            "no leader" if leader is None else f"leader: {leader}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=8,
        )


def fault_timeline(
    samples: Sequence[TimelineSample],
    *,
    desired: int | None = None,
    title: str = "Running tasks during the fault",
) -> Figure:
    """Running tasks over time, leader periods shaded, events marked.

    Args:
        samples: Observations in time order (``running=None`` leaves a gap).
        desired: Replicas wanted; drawn as a dashed line.
        title: Axes title.
    """
    samples = sorted(samples, key=lambda s: s.t)
    fig = _figure(7.0, 3.6)
    ax = fig.add_subplot()
    times = [s.t for s in samples]
    running = [math.nan if s.running is None else float(s.running) for s in samples]
    ax.plot(
        times,
        running,
        drawstyle="steps-post",
        marker="o",
        markersize=3,
        color="C0",
        label="running tasks",
    )
    if desired is not None:
        ax.axhline(desired, color="black", linestyle="--", linewidth=1, label="desired")
    _shade_leaders(ax, samples)
    for sample in samples:
        if sample.event:
            ax.axvline(sample.t, color="black", linewidth=1, linestyle=":")
            ax.annotate(
                sample.event,
                (sample.t, 0.02),
                xycoords=ax.get_xaxis_transform(),
                xytext=(3, 0),
                textcoords="offset points",
                rotation=90,
                ha="left",
                va="bottom",
                fontsize=8,
            )
    known = [r for r in running if not math.isnan(r)]
    ax.set_ylim(0, max([1.0, *known, float(desired or 0)]) * 1.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("seconds")
    ax.set_ylabel("running tasks")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    if not samples:
        ax.text(0.5, 0.5, "no samples", transform=ax.transAxes, ha="center", va="center")
    return fig
