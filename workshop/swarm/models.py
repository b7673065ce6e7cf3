"""Typed read model of a swarm: nodes, services, tasks, quorum.

All models are frozen dataclasses built by :mod:`workshop.swarm.parse` from the
output of the docker CLI. State words are normalised to lower case
(``"ready"``, ``"drain"``, ``"running"``); manager status keeps the CLI's
spelling (``"Leader"``, ``"Reachable"``, ``"Unreachable"`` or ``""``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from workshop.errors import UsageError

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


def quorum_needed(managers: int) -> int:
    """Managers that must be up for the swarm to accept changes: N//2 + 1.

    Raises:
        UsageError: If ``managers`` is below 1.
    """
    _check_managers(managers)
    return managers // 2 + 1


def fault_tolerance(managers: int) -> int:
    """Manager failures the swarm survives: (N-1)//2.

    Raises:
        UsageError: If ``managers`` is below 1.
    """
    _check_managers(managers)
    return (managers - 1) // 2


def _check_managers(managers: int) -> None:
    if managers < 1:
        raise UsageError(f"a swarm needs at least one manager, got {managers}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, repr=False)
class Quorum:
    """Raft quorum of the swarm's managers.

    Attributes:
        managers: Managers in the swarm (N).
        reachable: Managers taking part in Raft now.
        leader: Host name of the leader, ``None`` when there is none.
    """

    managers: int
    reachable: int
    leader: str | None = None

    def __post_init__(self) -> None:
        _check_managers(self.managers)
        if not 0 <= self.reachable <= self.managers:
            raise UsageError(
                f"reachable managers must be between 0 and {self.managers}, got {self.reachable}"
            )

    @property
    def needed(self) -> int:
        """Managers needed for a quorum: N//2 + 1."""
        return quorum_needed(self.managers)

    @property
    def tolerance(self) -> int:
        """Failures the full swarm tolerates: (N-1)//2."""
        return fault_tolerance(self.managers)

    @property
    def has_quorum(self) -> bool:
        """Whether enough managers are reachable to elect a leader."""
        return self.reachable >= self.needed

    @property
    def failures_left(self) -> int:
        """Further manager failures survivable now (0 when quorum is lost)."""
        return max(0, self.reachable - self.needed)

    @property
    def summary(self) -> str:
        """One line for titles: ``"quorum OK, tolerates 1 failure"`` or ``"NO QUORUM"``."""
        if not self.has_quorum:
            return "NO QUORUM"
        left = self.failures_left
        text = "quorum OK, tolerates " + ("no failure" if left == 0 else _plural(left, "failure"))
        if self.leader is None:
            text += " (no leader yet)"
        return text

    def __repr__(self) -> str:
        rows = [
            ("managers", str(self.managers)),
            ("reachable", str(self.reachable)),
            ("needed", str(self.needed)),
            ("tolerance", str(self.tolerance)),
            ("leader", self.leader or "-"),
        ]
        lines = [f"Quorum: {self.summary}"]
        lines += [f"  {name:<10} {value}" for name, value in rows]
        return "\n".join(lines)


@dataclass(frozen=True)
class QuorumRow:
    """One line of the quorum table."""

    managers: int
    needed: int
    tolerance: int


@dataclass(frozen=True, repr=False)
class QuorumTable:
    """Quorum size and fault tolerance for 1..N managers."""

    rows: tuple[QuorumRow, ...]

    def __iter__(self) -> Iterator[QuorumRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> QuorumRow:
        return self.rows[index]

    def __repr__(self) -> str:
        lines = ["MANAGERS  NEEDED  TOLERATES"]
        for row in self.rows:
            note = "  (even: no extra tolerance)" if row.managers % 2 == 0 else ""
            lines.append(f"{row.managers:>8}  {row.needed:>6}  {row.tolerance:>9}{note}")
        return "\n".join(lines)


def quorum_table(max_n: int = 7) -> QuorumTable:
    """Quorum arithmetic for 1..``max_n`` managers.

    Args:
        max_n: Largest number of managers in the table.

    Returns:
        One row per N with the managers needed and the failures tolerated.
    """
    return QuorumTable(
        tuple(QuorumRow(n, quorum_needed(n), fault_tolerance(n)) for n in range(1, max_n + 1))
    )


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
            f"{self.service}: {_plural(self.total, 'task')} on {_plural(used, 'node')}",
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
