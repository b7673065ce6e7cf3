"""Checks of the lab's real state, for chapters and graded labs.

Each check returns a :class:`CheckResult` (passed, message, hint) that renders in
Jupyter and in a terminal; ``.assert_passed()`` raises when it failed.
"""

from __future__ import annotations

from workshop.checks.chapters import (
    docker_running,
    firewall_open,
    global_service,
    gluster_healed,
    gluster_peers,
    gluster_shared,
    host_ready,
    nodes_answer,
    service_absent,
    service_replicas,
    swarm_formed,
    swarm_networks,
    wait_until,
)
from workshop.checks.result import CheckFailed, CheckResult, check_all, guarded

__all__ = [
    "CheckFailed",
    "CheckResult",
    "check_all",
    "docker_running",
    "firewall_open",
    "global_service",
    "gluster_healed",
    "gluster_peers",
    "gluster_shared",
    "guarded",
    "host_ready",
    "nodes_answer",
    "service_absent",
    "service_replicas",
    "swarm_formed",
    "swarm_networks",
    "wait_until",
]
