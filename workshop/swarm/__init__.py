"""Typed read model of the swarm: nodes, services, tasks, leader and quorum.

Example:
    >>> reader = SwarmReader(lab)            # doctest: +SKIP
    >>> reader.replica_distribution("web")   # doctest: +SKIP
    >>> reader.snapshot(["web"]).quorum      # doctest: +SKIP
"""

from __future__ import annotations

from workshop.swarm.models import (
    Quorum,
    QuorumRow,
    QuorumTable,
    ReplicaDistribution,
    Service,
    SwarmNode,
    SwarmSnapshot,
    Task,
    TimelineSample,
    fault_tolerance,
    quorum_needed,
    quorum_table,
)
from workshop.swarm.parse import (
    SwarmParseError,
    parse_node_inspect,
    parse_node_ls,
    parse_service_ls,
    parse_service_ps,
)
from workshop.swarm.read import (
    Attempt,
    SwarmLab,
    SwarmReader,
    SwarmUnavailable,
    distribution_of,
    quorum_of,
)
from workshop.swarm.snapshot import parse_snapshot, snapshot_command

__all__ = [
    "Attempt",
    "Quorum",
    "QuorumRow",
    "QuorumTable",
    "ReplicaDistribution",
    "Service",
    "SwarmLab",
    "SwarmNode",
    "SwarmParseError",
    "SwarmReader",
    "SwarmSnapshot",
    "SwarmUnavailable",
    "Task",
    "TimelineSample",
    "distribution_of",
    "fault_tolerance",
    "parse_node_inspect",
    "parse_node_ls",
    "parse_service_ls",
    "parse_service_ps",
    "parse_snapshot",
    "quorum_needed",
    "quorum_of",
    "quorum_table",
    "snapshot_command",
]
