"""Dashboard plots: assert on the figure's artists, rendered with Agg."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle, Wedge

from workshop.dashboard import fault_timeline, quorum_gauge, replica_map, request_histogram
from workshop.swarm import Quorum, SwarmNode, TimelineSample

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]


def node(
    name: str,
    role: str = "worker",
    status: str = "ready",
    availability: str = "active",
    manager_status: str = "",
) -> SwarmNode:
    return SwarmNode(
        id=f"id-{name}",
        hostname=name,
        role=role,
        status=status,
        availability=availability,
        manager_status=manager_status,
    )


NODES = [
    node("node-1", "manager", status="down", manager_status="Unreachable"),
    node("node-2", "manager", manager_status="Leader"),
    node("node-3", availability="drain"),
]


def render(fig: Figure) -> Figure:
    """Draw the figure with Agg (catches errors that only show when drawing)."""
    FigureCanvasAgg(fig).draw()
    return fig


def only_axes(fig: Figure) -> Axes:
    (ax,) = fig.axes
    return ax


def tick_labels(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def xdata(line: Line2D) -> list[float]:
    return list(np.asarray(line.get_xdata(), dtype=float).tolist())


def ydata(line: Line2D) -> list[float]:
    return list(np.asarray(line.get_ydata(), dtype=float).tolist())


# replica_map ----------------------------------------------------------------------


def test_replica_map_stacks_services_per_node() -> None:
    distribution = {
        "web": {"node-1": 1, "node-2": 2},
        "helloworld": {"node-1": 0, "node-2": 5, "node-3": 0},
    }
    ax = only_axes(render(replica_map(distribution, NODES)))
    hello, web = ax.containers  # sorted by service name
    assert [bar.get_height() for bar in hello] == [0, 5, 0]
    assert [bar.get_height() for bar in web] == [1, 2, 0]
    assert [bar.get_y() for bar in web] == [0, 5, 0]  # stacked on helloworld
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["helloworld", "web"]
    assert ax.get_title() == "Tasks per node"
    assert texts(ax) == ["1", "7"]  # totals above non-empty columns


def test_replica_map_marks_drained_and_down_nodes() -> None:
    ax = only_axes(render(replica_map({"web": {"node-2": 3}}, NODES)))
    assert tick_labels(ax) == ["node-1 (down)", "node-2", "node-3 (drain)"]
    marks = {p.get_gid(): p.get_hatch() for p in ax.patches if str(p.get_gid()).startswith("mark:")}
    assert marks == {"mark:node-1": "//", "mark:node-3": "//"}
    colors = {t.get_text(): t.get_color() for t in ax.get_xticklabels()}
    assert colors["node-3 (drain)"] != colors["node-2"]


def test_replica_map_shows_nodes_without_tasks_in_natural_order() -> None:
    nodes = [node("node-10"), node("node-2", availability="pause"), node("node-1")]
    ax = only_axes(render(replica_map({"web": {"node-1": 2}}, nodes)))
    assert tick_labels(ax) == ["node-1", "node-2 (pause)", "node-10"]
    assert [bar.get_height() for bar in ax.containers[0]] == [2, 0, 0]


def test_replica_map_keeps_tasks_on_nodes_it_was_not_told_about() -> None:
    ax = only_axes(render(replica_map({"web": {"node-4": 1}}, NODES)))
    assert tick_labels(ax)[-1] == "node-4"
    assert [bar.get_height() for bar in ax.containers[0]] == [0, 0, 0, 1]


def test_replica_map_without_services_or_nodes() -> None:
    ax = only_axes(render(replica_map({}, NODES)))
    assert ax.containers == [] and ax.get_legend() is None
    assert tick_labels(ax) == ["node-1 (down)", "node-2", "node-3 (drain)"]
    assert "no nodes" in texts(only_axes(render(replica_map({}, []))))


# quorum_gauge ---------------------------------------------------------------------


def wedges(ax: Axes) -> list[str | None]:
    return [p.get_gid() for p in ax.patches if isinstance(p, Wedge)]


def test_quorum_gauge_healthy() -> None:
    ax = only_axes(render(quorum_gauge(Quorum(managers=3, reachable=3, leader="node-1"))))
    assert ax.get_title() == "quorum OK, tolerates 1 failure"
    assert wedges(ax) == ["reachable"] * 3
    assert "3/3" in texts(ax) and "needed: 2" in texts(ax)


def test_quorum_gauge_lost() -> None:
    ax = only_axes(render(quorum_gauge(Quorum(managers=3, reachable=1))))
    assert ax.get_title() == "NO QUORUM"
    assert wedges(ax) == ["reachable", "unreachable", "unreachable"]
    assert "1/3" in texts(ax)
    assert any("leader: none" in text for text in texts(ax))


def test_quorum_gauge_two_managers_tolerate_nothing() -> None:
    ax = only_axes(render(quorum_gauge(Quorum(managers=2, reachable=2, leader="node-1"))))
    assert ax.get_title() == "quorum OK, tolerates no failure"
    assert "needed: 2" in texts(ax)


# request_histogram ----------------------------------------------------------------


def test_request_histogram_per_replica_and_per_node() -> None:
    answers = Counter({"c1": 40, "c2": 25, "c3": 35, "stray": 3})
    replicas = {"c1": "node-1", "c2": "node-1", "c3": "node-2", "c4": "node-3"}
    fig = render(request_histogram(answers, replicas))
    left, right = fig.axes
    assert tick_labels(left) == ["c1", "c2", "c3", "c4", "stray"]
    assert [p.get_height() for p in left.containers[0]] == [40, 25, 35, 0, 3]
    (even,) = left.lines
    assert ydata(even)[0] == pytest.approx(103 / 4)
    assert tick_labels(right) == ["node-1", "node-2", "node-3", "unknown"]
    assert [p.get_height() for p in right.containers[0]] == [65, 35, 0, 3]
    assert texts(right) == ["2 replicas", "1 replica", "1 replica"]
    assert fig.get_suptitle() == "103 requests: 3 of 4 replicas answered"
    # replicas on the same node share a colour
    bars = list(left.containers[0])
    assert bars[0].get_facecolor() == bars[1].get_facecolor() != bars[2].get_facecolor()


def test_request_histogram_without_answers() -> None:
    fig = render(request_histogram(Counter(), {"c1": "node-1"}, title="nothing yet"))
    left, _right = fig.axes
    assert [p.get_height() for p in left.containers[0]] == [0]
    assert len(left.lines) == 0  # no even-share line without requests
    assert fig.get_suptitle() == "nothing yet"


# fault_timeline -------------------------------------------------------------------


SAMPLES = [
    TimelineSample(0, 6, "node-1"),
    TimelineSample(5, 6, "node-1", "node-1 powered off"),
    TimelineSample(10, 4, None),
    TimelineSample(15, None, None),
    TimelineSample(30, 4, "node-2", "new leader"),
    TimelineSample(60, 6, "node-2"),
]


def test_fault_timeline_lines_leaders_and_events() -> None:
    ax = only_axes(render(fault_timeline(list(reversed(SAMPLES)), desired=6)))
    running, desired = ax.lines[:2]
    assert xdata(running) == [0, 5, 10, 15, 30, 60]
    counts = ydata(running)
    assert counts[:3] == [6, 6, 4] and math.isnan(counts[3]) and counts[4:] == [4, 6]
    assert ydata(desired) == [6, 6]
    spans = [
        (p.get_gid(), p.get_x(), p.get_width()) for p in ax.patches if isinstance(p, Rectangle)
    ]
    assert spans == [("leader:node-1", 0, 10), ("no-leader", 10, 20), ("leader:node-2", 30, 30)]
    assert texts(ax)[:3] == ["leader: node-1", "no leader", "leader: node-2"]
    assert "node-1 powered off" in texts(ax) and "new leader" in texts(ax)
    assert ax.get_xlabel() == "seconds" and ax.get_title() == "Running tasks during the fault"


def test_fault_timeline_empty_and_single_sample() -> None:
    assert "no samples" in texts(only_axes(render(fault_timeline([]))))
    ax = only_axes(render(fault_timeline([TimelineSample(0, 3, "node-1")])))
    assert ydata(ax.lines[0]) == [3]


# display --------------------------------------------------------------------------


def test_figures_render_as_png_without_pyplot() -> None:
    png = quorum_gauge(Quorum(managers=1, reachable=1, leader="node-1"))._repr_png_()  # type: ignore[attr-defined]
    assert png.startswith(b"\x89PNG")
    code = (
        "import sys, workshop.dashboard, workshop.swarm\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
