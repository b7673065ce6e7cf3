"""The lab drawing: assert on the figure's artists, rendered with Agg (no lab)."""

from __future__ import annotations

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from tests.unit.fakes import FakePlannedLab, FakePlannedNode
from workshop.dashboard.plots import IDLE_COLOR
from workshop.dashboard.topology import LEADER_EDGE, topology
from workshop.swarm import SwarmNode

matplotlib.use("Agg")


LAB = FakePlannedLab(
    (
        FakePlannedNode("node-1", "manager", "192.168.56.11"),
        FakePlannedNode("node-2", "manager", "192.168.56.12"),
        FakePlannedNode("node-3", "worker", "192.168.56.13"),
    )
)


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def boxes(fig: Figure) -> dict[str, FancyBboxPatch]:
    return {str(p.get_gid()): p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)}


def draw(fig: Figure) -> Figure:
    FigureCanvasAgg(fig).draw()
    return fig


def test_planned_lab_shows_roles_addresses_network_and_first_leader() -> None:
    fig = draw(topology(LAB))
    shown = texts(fig)
    assert {"node-1", "node-2", "node-3", "192.168.56.12"} <= set(shown)
    assert "manager (first leader)" in shown and "worker" in shown
    assert "lab network 192.168.56.0/24" in shown
    drawn = boxes(fig)
    assert set(drawn) == {"node:node-1", "node:node-2", "node:node-3", "host"}
    assert drawn["node:node-1"].get_linewidth() > drawn["node:node-2"].get_linewidth()
    assert fig._repr_png_().startswith(b"\x89PNG")  # type: ignore[attr-defined]


def test_swarm_view_marks_the_real_leader_and_down_nodes() -> None:
    swarm = [
        SwarmNode("a", "node-1", "manager", "down", "active", "Unreachable"),
        SwarmNode("b", "node-2", "manager", "ready", "active", "Leader"),
        SwarmNode("c", "node-3", "worker", "ready", "active"),
    ]
    fig = draw(topology(LAB, swarm, title="The swarm"))
    shown = texts(fig)
    assert "manager, leader" in shown and "manager, unreachable" in shown
    assert "swarm: down" in shown
    assert fig.axes[0].get_title() == "The swarm"
    drawn = boxes(fig)
    assert matplotlib.colors.same_color(drawn["node:node-2"].get_edgecolor(), LEADER_EDGE)


def test_a_stopped_machine_is_grey_and_says_so() -> None:
    lab = FakePlannedLab(
        (*LAB.nodes[:2], FakePlannedNode("node-3", "worker", "192.168.56.13", "stopped"))
    )
    fig = draw(topology(lab))
    assert "stopped" in texts(fig)
    assert matplotlib.colors.same_color(boxes(fig)["node:node-3"].get_facecolor(), IDLE_COLOR)


def test_a_node_outside_the_swarm_is_labelled() -> None:
    swarm = [SwarmNode("b", "node-1", "manager", "ready", "active", "Leader")]
    assert "not in the swarm" in texts(draw(topology(LAB, swarm)))
