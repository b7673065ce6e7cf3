"""A drawing of the lab: machines, their roles and addresses, the lab network, this host.

Pure: lab nodes (and, once a swarm exists, what the swarm says of them) in, a
matplotlib figure out. Chapter 00 draws the lab as it is planned; later chapters
pass the swarm's nodes to show the real roles and the leader.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Protocol

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from workshop.dashboard.plots import (
    BAD_COLOR,
    IDLE_COLOR,
    MARK_COLOR,
    OK_COLOR,
    DashboardFigure,
)
from workshop.swarm.models import SwarmNode

__all__ = ["TopologyLab", "TopologyNode", "topology"]

MANAGER_FILL = "#e3f2fd"
WORKER_FILL = "#f1f8e9"
LEADER_EDGE = "#1565c0"
HOST_FILL = "#fff8e1"
#: Geometry of the drawing, in data units: node boxes, the gap between them, the
#: height of the lab network line and of the boxes' bottom.
BOX_WIDTH, BOX_HEIGHT, BOX_GAP = 2.0, 1.35, 0.4
NETWORK_Y, BOX_Y = 1.9, 2.45
NETWORK_LABEL: dict[str, Any] = {"ha": "left", "va": "top", "fontsize": 9, "color": MARK_COLOR}
NOTE: dict[str, Any] = {"ha": "center", "va": "bottom", "fontsize": 9}


class TopologyNode(Protocol):
    """What the drawing needs of a lab node (``Node`` fits)."""

    @property
    def name(self) -> str:
        """Node name, e.g. ``node-1``."""
        ...

    @property
    def role(self) -> str:
        """The role the lab gives it: ``manager`` or ``worker``."""
        ...

    @property
    def address(self) -> str:
        """Its address on the lab network."""
        ...

    @property
    def state(self) -> str:
        """Machine state (``running``, ``stopped``...)."""
        ...


class TopologyLab(Protocol):
    """What the drawing needs of a lab (``Lab`` fits)."""

    @property
    def nodes(self) -> Sequence[TopologyNode]:
        """Every node, in order."""
        ...


def _network(nodes: Sequence[TopologyNode]) -> str:
    """The /24 networks the nodes' addresses are on, e.g. ``192.168.56.0/24``."""
    found: list[str] = []
    for node in nodes:
        try:
            net = str(ipaddress.ip_network(f"{node.address}/24", strict=False))
        except ValueError:
            continue
        if net not in found:
            found.append(net)
    return ", ".join(found) or "lab network"


def _role_text(node: TopologyNode, seen: SwarmNode | None, first_manager: str | None) -> str:
    if seen is None:
        if node.role == "manager" and node.name == first_manager:
            return "manager (first leader)"
        return node.role
    if seen.is_manager:
        status = seen.manager_status.lower() or "unreachable"
        return "manager, leader" if seen.is_leader else f"manager, {status}"
    return "worker"


def topology(
    lab: TopologyLab,
    swarm: Sequence[SwarmNode] | None = None,
    *,
    title: str = "The lab",
) -> Figure:
    """Draw the lab: one box per machine on the lab network, and this host below.

    Managers are blue, workers green; the leader has a thick edge; a machine that
    is not running is grey, and a node the swarm reports as down is marked red.

    Args:
        lab: The lab (anything with ``nodes`` that have name, role, address, state).
        swarm: The swarm's view of its nodes (``SwarmReader(lab).nodes()``); without
            it the roles are the ones the lab plans, with the first manager as the
            first leader.
        title: Title above the drawing.

    Returns:
        The figure (it shows itself in Jupyter).
    """
    nodes = list(lab.nodes)
    by_host = {n.hostname: n for n in swarm or ()}
    first_manager = next((n.name for n in nodes if n.role == "manager"), None)
    count = max(len(nodes), 1)
    fig = DashboardFigure(figsize=(max(6.0, 2.4 * count + 1.0), 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    total = count * BOX_WIDTH + (count - 1) * BOX_GAP
    ax.set_xlim(-0.3, total + 0.3)
    ax.set_ylim(-0.2, 4.1)
    ax.set_title(title, fontweight="bold")
    ax.plot([0, total], [NETWORK_Y, NETWORK_Y], color=MARK_COLOR, linewidth=3, gid="network")
    ax.text(0, NETWORK_Y - 0.08, f"lab network {_network(nodes)}", **NETWORK_LABEL)
    for index, node in enumerate(nodes):
        seen = by_host.get(node.name) if swarm is not None else None
        leader = (seen is not None and seen.is_leader) or (
            swarm is None and node.name == first_manager
        )
        role = _role_text(node, seen, first_manager if swarm is None else None)
        x = index * (BOX_WIDTH + BOX_GAP)
        _draw_node(ax, x, node, seen, leader=leader, role=role)
        note = _note(node, seen, swarm is not None)
        if note is not None:
            text, color, bold = note
            weight = "bold" if bold else "normal"
            top = BOX_Y + BOX_HEIGHT + 0.12
            ax.text(x + BOX_WIDTH / 2, top, text, color=color, fontweight=weight, **NOTE)
    _draw_host(ax, total)
    return fig


def _note(
    node: TopologyNode, seen: SwarmNode | None, swarm_known: bool
) -> tuple[str, str, bool] | None:
    """What to write above a node's box: (text, colour, bold), or ``None``."""
    if node.state != "running":
        return node.state, BAD_COLOR, True
    if seen is not None and seen.status != "ready":
        return f"swarm: {seen.status}", BAD_COLOR, True
    if swarm_known and seen is None:
        return "not in the swarm", MARK_COLOR, False
    return None


def _draw_node(
    ax: Axes, x: float, node: TopologyNode, seen: SwarmNode | None, *, leader: bool, role: str
) -> None:
    """One machine: a box (blue manager, green worker, grey when not running), its name,
    role and address, and its line to the lab network."""
    manager = seen.is_manager if seen is not None else node.role == "manager"
    running = node.state == "running"
    fill = (MANAGER_FILL if manager else WORKER_FILL) if running else IDLE_COLOR
    ax.add_patch(
        FancyBboxPatch(
            (x, BOX_Y),
            BOX_WIDTH,
            BOX_HEIGHT,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=fill,
            edgecolor=LEADER_EDGE if leader and running else MARK_COLOR,
            linewidth=3 if leader else 1.2,
            gid=f"node:{node.name}",
        )
    )
    middle = x + BOX_WIDTH / 2
    ax.plot([middle] * 2, [NETWORK_Y, BOX_Y], color=MARK_COLOR, linewidth=1.5)
    ax.text(
        middle,
        BOX_Y + BOX_HEIGHT - 0.22,
        node.name,
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
    )
    ax.text(middle, BOX_Y + BOX_HEIGHT / 2 - 0.02, role, ha="center", va="center", fontsize=9)
    ax.text(
        middle, BOX_Y + 0.22, node.address, ha="center", va="center", fontsize=9, family="monospace"
    )


def _draw_host(ax: Axes, total: float) -> None:
    """This machine, below the lab network, with its SSH line to it."""
    host_w = min(total, 5.0)
    ax.add_patch(
        FancyBboxPatch(
            ((total - host_w) / 2, 0.1),
            host_w,
            0.9,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=HOST_FILL,
            edgecolor=MARK_COLOR,
            linewidth=1.2,
            gid="host",
        )
    )
    ax.text(
        total / 2,
        0.72,
        "this machine: JupyterLab and the workshop kit",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
    )
    ax.text(
        total / 2,
        0.35,
        "SSH to every node  ·  `workshop ssh node-2` opens a shell",
        ha="center",
        va="center",
        fontsize=9,
    )
    ax.plot([total / 2] * 2, [1.0, NETWORK_Y], color=OK_COLOR, linewidth=1.5, linestyle="--")
