"""Pure plots of samples: which replica answered requests, and a service during a fault.

Data in, matplotlib figure out, like :mod:`workshop.dashboard.plots` (whose figure
type, colours and sizing they share).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from workshop.dashboard.plots import BAD_COLOR, IDLE_COLOR, UNKNOWN_NODE, new_figure
from workshop.lab.results import node_sort_key
from workshop.swarm.models import TimelineSample

__all__ = ["fault_timeline", "request_histogram"]


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
    fig = new_figure(max(6.0, 0.6 * len(containers) + 4.0), 3.6, figure)
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
    per_node = _per_node(right, answers, replicas, nodes, colors)
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
    fig = new_figure(7.0, 3.6)
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


def _per_node(
    ax: Axes,
    answers: Mapping[str, int],
    replicas: Mapping[str, str],
    nodes: Sequence[str],
    colors: Mapping[str, str],
) -> list[int]:
    """Bars of requests per node, each with its number of replicas; returns the heights."""
    node_of = {c: replicas.get(c, UNKNOWN_NODE) for c in set(replicas) | set(answers)}
    per_node = [sum(count for c, count in answers.items() if node_of[c] == n) for n in nodes]
    ax.bar(range(len(nodes)), per_node, color=[colors[n] for n in nodes])
    ax.set_xticks(range(len(nodes)), labels=nodes)
    for index, node in enumerate(nodes):
        if node == UNKNOWN_NODE:
            continue
        count = sum(1 for c in replicas if replicas[c] == node)
        ax.annotate(
            f"{count} replica{'s' if count != 1 else ''}",
            (index, per_node[index]),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_title("per node")
    return per_node
