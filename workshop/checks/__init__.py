"""Checks of the lab's real state, for chapters and graded labs.

Each check returns a :class:`CheckResult` (passed, message, hint) that renders in
Jupyter and in a terminal; ``.assert_passed()`` raises when it failed. A check
never raises for the lab's sake: a node that does not answer is a failed check.
Chapters end with ``checks.swarm_formed(lab).assert_passed()`` and the like.

The checks read the lab through the same code that builds it (the steps' probes
and the swarm read model), so a check and the step it grades cannot disagree.
One module per part of the course:

- :mod:`~workshop.checks.host`: this machine is ready (chapter 00);
- :mod:`~workshop.checks.nodes`: the machines answer and run Docker (00, 02);
- :mod:`~workshop.checks.swarm`, :mod:`~workshop.checks.network`: the swarm, its
  ports and networks (03);
- :mod:`~workshop.checks.services`: services and where their tasks run (04);
- :mod:`~workshop.checks.storage`: GlusterFS pool, volume and heals (05);
- :mod:`~workshop.checks.balancing`: a front proxy over a service's tasks, and
  requests spread over them (08);
- :mod:`~workshop.checks.overlay`: overlay networks, who finds whom on them, and
  services talking across nodes (10);
- :mod:`~workshop.checks.images`: the registry and the nodes' images (06);
- :mod:`~workshop.checks.stacks`: stacks that run, fail, serve or are gone, and
  nodes that left the swarm (07, 99);
- :mod:`~workshop.checks.faults`: replaced tasks, drains, leader loss and failover (09);
- :mod:`~workshop.checks.snapshot`: the lab as a chapter found it (09);
- :mod:`~workshop.checks.wait`: waiting until a check passes.
"""

from __future__ import annotations

from workshop.checks.balancing import proxy_follows, requests_spread
from workshop.checks.exercises import ExerciseResult, answer, exercise, terminal_text
from workshop.checks.faults import (
    failover,
    leader_elected,
    no_leader,
    node_tasks,
    task_replaced,
    tasks_kept,
)
from workshop.checks.host import host_ready
from workshop.checks.images import image_on_nodes, registry_ready
from workshop.checks.network import firewall_open, swarm_networks
from workshop.checks.nodes import docker_running, nodes_answer
from workshop.checks.overlay import (
    cannot_resolve,
    network_absent,
    overlay_network,
    replies_across_nodes,
    resolves,
    service_pinned,
)
from workshop.checks.result import CheckFailed, CheckResult, check_all, guarded
from workshop.checks.services import global_service, service_absent, service_replicas
from workshop.checks.snapshot import LabSnapshot, lab_as_found, lab_snapshot
from workshop.checks.stacks import (
    page_served,
    stack_absent,
    stack_running,
    swarm_left,
    task_error,
)
from workshop.checks.storage import gluster_healed, gluster_peers, gluster_shared
from workshop.checks.swarm import swarm_formed
from workshop.checks.wait import wait_until

__all__ = [
    "CheckFailed",
    "CheckResult",
    "ExerciseResult",
    "LabSnapshot",
    "answer",
    "cannot_resolve",
    "check_all",
    "docker_running",
    "exercise",
    "failover",
    "firewall_open",
    "global_service",
    "gluster_healed",
    "gluster_peers",
    "gluster_shared",
    "guarded",
    "host_ready",
    "image_on_nodes",
    "lab_as_found",
    "lab_snapshot",
    "leader_elected",
    "network_absent",
    "no_leader",
    "node_tasks",
    "nodes_answer",
    "overlay_network",
    "page_served",
    "proxy_follows",
    "registry_ready",
    "replies_across_nodes",
    "requests_spread",
    "resolves",
    "service_absent",
    "service_pinned",
    "service_replicas",
    "stack_absent",
    "stack_running",
    "swarm_formed",
    "swarm_left",
    "swarm_networks",
    "task_error",
    "task_replaced",
    "tasks_kept",
    "terminal_text",
    "wait_until",
]

from collections.abc import Callable

from workshop.checks.labs import lab_03, lab_04, lab_05, lab_09
from workshop.checks.labs_stacks import lab_07, lab_08
from workshop.remote import RemoteLab

#: The graded labs (``labs/``): lab name -> its check, in course order (``workshop grade``).
LAB_CHECKS: dict[str, Callable[[RemoteLab], CheckResult]] = {
    "03": lab_03,
    "04": lab_04,
    "05": lab_05,
    "07": lab_07,
    "08": lab_08,
    "09": lab_09,
}

__all__ += ["LAB_CHECKS", "lab_03", "lab_04", "lab_05", "lab_07", "lab_08", "lab_09"]
