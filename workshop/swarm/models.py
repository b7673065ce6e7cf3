"""Typed read model of a swarm: nodes, services, tasks, quorum, and one snapshot of them.

All models are frozen dataclasses built by :mod:`workshop.swarm.parse` from the
output of the docker CLI; :class:`SwarmSnapshot` holds everything one read of the
swarm saw (what a dashboard refresh draws). The quorum arithmetic lives in
:mod:`workshop.swarm.quorum` and is re-exported here. State words are normalised to lower case
(``"ready"``, ``"drain"``, ``"running"``); manager status keeps the CLI's
spelling (``"Leader"``, ``"Reachable"``, ``"Unreachable"`` or ``""``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from workshop.errors import UsageError
from workshop.lab.results import node_sort_key
from workshop.swarm.quorum import (
    Quorum,
    QuorumRow,
    QuorumTable,
    fault_tolerance,
    plural,
    quorum_needed,
    quorum_table,
)

__all__ = [
    "LEADER",
    "MANAGER",
    "REACHABLE",
    "UNREACHABLE",
    "WORKER",
    "Quorum",
    "QuorumRow",
    "QuorumTable",
    "ReplicaDistribution",
    "Service",
    "SwarmNode",
    "SwarmSnapshot",
    "Task",
    "TimelineSample",
    "distribution_of",
    "fault_tolerance",
    "quorum_needed",
    "quorum_of",
    "quorum_table",
]

MANAGER = "manager"
WORKER = "worker"
LEADER = "Leader"
REACHABLE = "Reachable"
UNREACHABLE = "Unreachable"


@dataclass(frozen=True)
class SwarmNode:
    """One node as the swarm sees it (``docker node ls`` / ``node inspect``).

    Attributes:
        id: Node ID.
        hostname: Host name the node registered with.
        role: ``"manager"`` or ``"worker"``.
        status: ``"ready"``, ``"down"``, ``"unknown"`` or ``"disconnected"``.
        availability: ``"active"``, ``"pause"`` or ``"drain"``.
        manager_status: ``"Leader"``, ``"Reachable"``, ``"Unreachable"``, or ``""``
            for workers.
        engine_version: Docker engine version of the node.
        address: Address the node is reached at ("" when unknown).
    """

    id: str
    hostname: str
    role: str
    status: str
    availability: str
    manager_status: str = ""
    engine_version: str = ""
    address: str = ""

    @property
    def is_manager(self) -> bool:
        """Whether the node is a manager."""
        return self.role == MANAGER

    @property
    def is_leader(self) -> bool:
        """Whether the node is the Raft leader."""
        return self.manager_status == LEADER

    @property
    def is_reachable_manager(self) -> bool:
        """Whether the node is a manager that takes part in the Raft quorum."""
        return self.manager_status in (LEADER, REACHABLE)

    @property
    def schedulable(self) -> bool:
        """Whether the scheduler may place new tasks on the node."""
        return self.status == "ready" and self.availability == "active"

    @property
    def marks(self) -> tuple[str, ...]:
        """What is unusual about the node, e.g. ``("down", "drain")``."""
        found: list[str] = []
        if self.status != "ready":
            found.append(self.status)
        if self.availability != "active":
            found.append(self.availability)
        return tuple(found)


@dataclass(frozen=True)
class Service:
    """One service as listed by ``docker service ls``.

    Attributes:
        id: Service ID.
        name: Service name.
        mode: ``"replicated"``, ``"global"`` or a job mode.
        replicas_running: Tasks running now.
        replicas_desired: Tasks the swarm wants.
        image: Image reference.
        ports: Published ports, e.g. ``("*:8080->80/tcp",)``.
        max_per_node: Placement limit shown as ``(max N per node)``, if any.
    """

    id: str
    name: str
    mode: str
    replicas_running: int
    replicas_desired: int
    image: str
    ports: tuple[str, ...] = ()
    max_per_node: int | None = None

    @property
    def converged(self) -> bool:
        """Whether every desired replica is running."""
        return self.replicas_running == self.replicas_desired


@dataclass(frozen=True)
class Task:
    """One task of a service (``docker service ps``).

    Attributes:
        id: Task ID.
        name: Task name, e.g. ``"helloworld.3"``.
        service: Service name.
        node: Host name of the node it is assigned to ("" while pending).
        desired_state: e.g. ``"running"`` or ``"shutdown"``.
        current_state: e.g. ``"running"``, ``"preparing"``, ``"rejected"``.
        error: Error reported by the task ("" if none).
        slot: Replica slot (``None`` for global services).
        since: How long it has been in its state, e.g. ``"5 minutes ago"``.
        image: Image reference.
    """

    id: str
    name: str
    service: str
    node: str
    desired_state: str
    current_state: str
    error: str = ""
    slot: int | None = None
    since: str = ""
    image: str = ""

    @property
    def running(self) -> bool:
        """Whether the task is running now."""
        return self.current_state == "running"


@dataclass(frozen=True, eq=False, repr=False)
class ReplicaDistribution(Mapping[str, int]):
    """Tasks of one service per node; a read-only mapping hostname -> count.

    Every node of the swarm is a key, with 0 where the service has no task.

    Attributes:
        service: Service name.
        counts: Hostname -> number of tasks.
        marks: Hostname -> note such as ``"drain"`` or ``"down"``.
    """

    service: str
    counts: Mapping[str, int]
    marks: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, node: str) -> int:
        return self.counts[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def total(self) -> int:
        """Tasks counted over all nodes."""
        return sum(self.counts.values())

    def __repr__(self) -> str:
        width = max([4, *(len(name) for name in self.counts)])
        used = sum(1 for count in self.counts.values() if count)
        lines = [
            f"{self.service}: {plural(self.total, 'task')} on {plural(used, 'node')}",
            f"{'NODE':<{width}}  TASKS",
        ]
        for name, count in self.counts.items():
            mark = f"  ({self.marks[name]})" if self.marks.get(name) else ""
            lines.append(f"{name:<{width}}  {count:>5}  {'#' * count}{mark}".rstrip())
        return "\n".join(lines)


@dataclass(frozen=True)
class TimelineSample:
    """One observation of a service during a fault demonstration.

    Attributes:
        t: Seconds since the start of the observation.
        running: Running tasks of the service (``None`` if no manager could tell).
        leader: Host name of the leader (``None`` when there is none).
        event: What happened at this moment, e.g. ``"node-1 powered off"``.
    """

    t: float
    running: int | None
    leader: str | None = None
    event: str | None = None


def distribution_of(
    service: str, tasks: Sequence[Task], nodes: Sequence[SwarmNode], state: str | None = "running"
) -> ReplicaDistribution:
    """Count a service's tasks per node, every node included (0 where none).

    Args:
        service: Service name.
        tasks: The service's tasks.
        nodes: All swarm nodes.
        state: Count tasks in this current state (``None``: all given tasks).
    """
    counts = {name: 0 for name in sorted((n.hostname for n in nodes), key=node_sort_key)}
    for task in tasks:
        if not task.node or (state is not None and task.current_state != state):
            continue
        counts[task.node] = counts.get(task.node, 0) + 1
    marks = {node.hostname: ", ".join(node.marks) for node in nodes if node.marks}
    return ReplicaDistribution(service=service, counts=counts, marks=marks)


def quorum_of(nodes: Sequence[SwarmNode]) -> Quorum:
    """Quorum from a node listing (managers that are Leader or Reachable count)."""
    managers = [node for node in nodes if node.is_manager]
    leader = next((node.hostname for node in managers if node.is_leader), None)
    reachable = sum(1 for node in managers if node.is_reachable_manager)
    return Quorum(managers=len(managers), reachable=reachable, leader=leader)


@dataclass(frozen=True)
class SwarmSnapshot:
    """One read of the swarm, from one manager in one round trip.

    Attributes:
        nodes: Every swarm node, with its address.
        services: Every service.
        tasks: Tasks of the services read (``read``), in the desired state asked for.
        read: Names of the services whose tasks were read, in the order asked.
        manager: The manager that answered.
    """

    nodes: tuple[SwarmNode, ...]
    services: tuple[Service, ...]
    tasks: tuple[Task, ...] = ()
    read: tuple[str, ...] = ()
    manager: str = ""

    @property
    def service_names(self) -> list[str]:
        """Names of every service."""
        return [service.name for service in self.services]

    @property
    def leader(self) -> SwarmNode | None:
        """The leader, ``None`` when the swarm has none."""
        return next((node for node in self.nodes if node.is_leader), None)

    @property
    def quorum(self) -> Quorum | None:
        """The managers' quorum (``None`` if no manager is listed)."""
        return quorum_of(self.nodes) if any(n.is_manager for n in self.nodes) else None

    def find(self, service: str) -> Service | None:
        """The service called ``service``, if it exists."""
        return next((s for s in self.services if s.name == service), None)

    def tasks_of(self, service: str) -> list[Task]:
        """Tasks of one service that was read.

        Raises:
            UsageError: If the swarm has no such service, or its tasks were not read.
        """
        if self.find(service) is None:
            raise UsageError.choice("service", service, self.service_names or ["(none yet)"])
        if service not in self.read:
            raise UsageError(
                f"this snapshot did not read the tasks of {service!r}: ask for it, "
                f"e.g. reader.snapshot([{service!r}])"
            )
        return [task for task in self.tasks if task.service == service]

    def distribution(self, service: str, state: str | None = "running") -> ReplicaDistribution:
        """Tasks of ``service`` per node, with 0 for nodes that have none.

        Args:
            service: Service name.
            state: Count tasks in this current state (``None``: every task read).
        """
        return distribution_of(service, self.tasks_of(service), self.nodes, state)

    def distributions(self, state: str | None = "running") -> dict[str, ReplicaDistribution]:
        """Distributions of every service read, in the order asked."""
        return {name: self.distribution(name, state) for name in self.read}
