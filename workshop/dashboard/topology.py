"""A drawing of the lab: machines, their roles and addresses, the lab network, this host.

Pure: lab nodes (and, once a swarm exists, what the swarm says of them) in, a
matplotlib figure out. Chapter 00 draws the lab as it is planned; later chapters
pass the swarm's nodes to show the real roles and the leader.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Protocol

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
    width, height, gap = 2.0, 1.35, 0.4
    total = count * width + (count - 1) * gap
    ax.set_xlim(-0.3, total + 0.3)
    ax.set_ylim(-0.2, 4.1)
    ax.set_title(title, fontweight="bold")

    network_y, box_y = 1.9, 2.45
    ax.plot([0, total], [network_y, network_y], color=MARK_COLOR, linewidth=3, gid="network")
    ax.text(
        0,
        network_y - 0.08,
        f"lab network {_network(nodes)}",
        ha="left",
        va="top",
        fontsize=9,
        color=MARK_COLOR,
    )

    for index, node in enumerate(nodes):
        x = index * (width + gap)
        seen = by_host.get(node.name) if swarm is not None else None
        manager = seen.is_manager if seen is not None else node.role == "manager"
        running = node.state == "running"
        leader = (seen is not None and seen.is_leader) or (
            swarm is None and node.name == first_manager
        )
        fill = (MANAGER_FILL if manager else WORKER_FILL) if running else IDLE_COLOR
        edge = LEADER_EDGE if leader and running else MARK_COLOR
        ax.add_patch(
            FancyBboxPatch(
                (x, box_y),
                width,
                height,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=fill,
                edgecolor=edge,
                linewidth=3 if leader else 1.2,
                gid=f"node:{node.name}",
            )
        )
        ax.plot([x + width / 2] * 2, [network_y, box_y], color=MARK_COLOR, linewidth=1.5)
        ax.text(
            x + width / 2,
            box_y + height - 0.22,
            node.name,
            ha="center",
            va="center",
            fontsize=12,
            fontweight="bold",
        )
        ax.text(
            x + width / 2,
            box_y + height / 2 - 0.02,
            _role_text(node, seen, first_manager if swarm is None else None),
            ha="center",
            va="center",
            fontsize=9,
        )
        ax.text(
            x + width / 2,
            box_y + 0.22,
            node.address,
            ha="center",
            va="center",
            fontsize=9,
            family="monospace",
        )
        if not running:
            ax.text(
                x + width / 2,
                box_y + height + 0.12,
                node.state,
                ha="center",
                va="bottom",
                fontsize=9,
                color=BAD_COLOR,
                fontweight="bold",
            )
        elif seen is not None and seen.status != "ready":
            ax.text(
                x + width / 2,
                box_y + height + 0.12,
                f"swarm: {seen.status}",
                ha="center",
                va="bottom",
                fontsize=9,
                color=BAD_COLOR,
                fontweight="bold",
            )
        elif swarm is not None and seen is None:
            ax.text(
                x + width / 2,
                box_y + height + 0.12,
                "not in the swarm",
                ha="center",
                va="bottom",
                fontsize=9,
                color=MARK_COLOR,
            )

    host_w = min(total, 5.0)
    host_x = (total - host_w) / 2
    ax.add_patch(
        FancyBboxPatch(
            (host_x, 0.1),
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
    ax.plot([total / 2, total / 2], [1.0, network_y], color=OK_COLOR, linewidth=1.5, linestyle="--")
    return fig
