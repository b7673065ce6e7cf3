"""Read the swarm's state from whichever manager can answer.

:class:`SwarmReader` runs read-only docker commands on a manager over the lab's
SSH fan-out and parses them into :mod:`workshop.swarm.models`. When a manager is
unreachable, or answers that it is not a manager or that the swarm has no leader,
the next manager is asked (:mod:`workshop.swarm.managers`); the manager that
answered last is asked first next time. This keeps the dashboard working while
the leader is down.

Each of :meth:`~SwarmReader.nodes`, :meth:`~SwarmReader.services` and
:meth:`~SwarmReader.tasks` runs plain docker commands (what an operator would type).
A whole picture of the swarm (nodes, services, tasks) takes one round trip:
:meth:`SwarmReader.snapshot` sends one shell line that prints every answer
(:mod:`workshop.swarm.snapshot`); dashboards and fault timelines read through it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from workshop.swarm.managers import (
    DEFAULT_TIMEOUT,
    ENGINE_DOWN,
    MANAGER_UNAVAILABLE,
    NO_LEADER,
    Attempt,
    CommandResult,
    ManagerNode,
    SwarmLab,
    SwarmUnavailable,
    classify_failure,
    first_answer,
)
from workshop.swarm.models import (
    MANAGER,
    Quorum,
    ReplicaDistribution,
    Service,
    SwarmNode,
    SwarmSnapshot,
    Task,
    TimelineSample,
    distribution_of,
    quorum_of,
)
from workshop.swarm.parse import (
    parse_node_inspect,
    parse_node_ls,
    parse_service_ls,
    parse_service_ps,
)
from workshop.swarm.snapshot import JSON_FORMAT, parse_snapshot, snapshot_command, with_addresses

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENGINE_DOWN",
    "JSON_FORMAT",
    "MANAGER_UNAVAILABLE",
    "NO_LEADER",
    "Attempt",
    "CommandResult",
    "ManagerNode",
    "SwarmLab",
    "SwarmReader",
    "SwarmUnavailable",
    "classify_failure",
    "distribution_of",
    "quorum_of",
]

#: How errors name the snapshot's shell line.
SNAPSHOT_WHAT = "docker node ls, node inspect, service ls and service ps (one snapshot)"


class SwarmReader:
    """Typed, failover-safe reads of the swarm's state.

    Args:
        lab: The lab (anything with ``managers`` and ``run``).
        timeout: Seconds allowed for each remote command.
    """

    def __init__(self, lab: SwarmLab, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.lab = lab
        self.timeout = timeout
        self.last_manager: str | None = None
        self._known_managers: tuple[str, ...] = ()

    def candidates(self) -> list[str]:
        """Managers to ask, in order.

        The manager that answered last comes first, then the lab's managers, then
        managers the swarm reported earlier (e.g. a promoted worker).
        """
        names = [node.name for node in self.lab.managers]
        names += [name for name in self._known_managers if name not in names]
        if self.last_manager in names:
            names.remove(self.last_manager)
            names.insert(0, self.last_manager)
        return names

    def _ask(self, command: str, what: str = "") -> str:
        """Run a shell line on the first manager able to answer; return its output."""
        manager, stdout = first_answer(
            self.lab, self.candidates(), command, timeout=self.timeout, what=what
        )
        self.last_manager = manager
        return stdout

    def _learn(self, nodes: Sequence[SwarmNode]) -> None:
        """Remember the managers the swarm reports (asked when the lab's are down)."""
        self._known_managers = tuple(n.hostname for n in nodes if n.role == MANAGER)

    def docker(self, args: Sequence[str]) -> str:
        """Run ``docker ARGS`` on the first manager able to answer.

        Args:
            args: Arguments after ``docker``, e.g. ``["node", "ls"]``.

        Returns:
            The command's standard output.

        Raises:
            CommandFailed: If a manager ran the command and it failed for a reason
                other managers would share (e.g. ``no such service``).
            SwarmUnavailable: If no manager could answer.
        """
        return self._ask(shlex.join(["docker", *args]))

    def snapshot(
        self, services: Sequence[str] | None = None, desired: str | None = "running"
    ) -> SwarmSnapshot:
        """Nodes, services and tasks in one round trip to one manager.

        Args:
            services: Services whose tasks to read (``None``: every service). Names
                the swarm does not have are left out of ``read`` (no error).
            desired: Keep tasks with this desired state; ``None`` keeps the history too.

        Raises:
            SwarmUnavailable: If no manager could answer.
            SwarmParseError: If the answer was cut short.
        """
        wanted = None if services is None else list(services)
        text = self._ask(snapshot_command(wanted, desired), SNAPSHOT_WHAT)
        snapshot = parse_snapshot(text, wanted, manager=self.last_manager or "")
        self._learn(snapshot.nodes)
        return snapshot

    def nodes(self) -> list[SwarmNode]:
        """All swarm nodes (``docker node ls``), with addresses from ``node inspect``."""
        nodes = parse_node_ls(self.docker(["node", "ls", "--format", JSON_FORMAT]))
        if nodes:
            inspected = self.docker(["node", "inspect", *(node.id for node in nodes)])
            nodes = with_addresses(nodes, parse_node_inspect(inspected))
        self._learn(nodes)
        return nodes

    def services(self) -> list[Service]:
        """All services (``docker service ls``)."""
        return parse_service_ls(self.docker(["service", "ls", "--format", JSON_FORMAT]))

    def tasks(self, service: str | Sequence[str], desired: str | None = "running") -> list[Task]:
        """Tasks of one or more services (``docker service ps --no-trunc``).

        Args:
            service: A service name, or several.
            desired: Keep tasks with this desired state; ``None`` keeps the history too.
        """
        names = [service] if isinstance(service, str) else list(service)
        if not names:
            return []
        args = ["service", "ps", *names, "--no-trunc", "--format", JSON_FORMAT]
        if desired is not None:
            args += ["--filter", f"desired-state={desired}"]
        return parse_service_ps(self.docker(args))

    def replica_distribution(
        self, service: str, state: str | None = "running"
    ) -> ReplicaDistribution:
        """Tasks of a service per node, with 0 for nodes that have none.

        Args:
            service: Service name.
            state: Count tasks in this current state (``None``: every task the swarm
                wants running, including ones still starting).
        """
        return self.distributions([service], state=state)[service]

    def distributions(
        self, services: Sequence[str] | None = None, state: str | None = "running"
    ) -> dict[str, ReplicaDistribution]:
        """Replica distributions of several services (all by default), with one
        ``node ls`` and one ``service ps`` for all of them."""
        nodes = self.nodes()
        names = [s.name for s in self.services()] if services is None else list(services)
        tasks = self.tasks(names)
        return {
            name: distribution_of(name, [t for t in tasks if t.service == name], nodes, state)
            for name in names
        }

    def leader(self) -> SwarmNode | None:
        """The leader, or ``None`` if the swarm has none."""
        try:
            nodes = self.nodes()
        except SwarmUnavailable as exc:
            if exc.no_leader:
                return None
            raise
        return next((node for node in nodes if node.is_leader), None)

    def quorum(self) -> Quorum:
        """The managers' quorum.

        When no manager can answer because the swarm lost its leader, the quorum is
        estimated: managers last seen (or the lab's managers), and as reachable
        the managers that answered.
        """
        try:
            nodes = self.nodes()
        except SwarmUnavailable as exc:
            if not exc.no_leader:
                raise
            total = max(len(self._known_managers), len(self.lab.managers))
            alive = sum(1 for a in exc.attempts if a.no_leader)
            return Quorum(managers=max(total, alive), reachable=alive, leader=None)
        return quorum_of(nodes)

    def sample(self, service: str, t: float, event: str | None = None) -> TimelineSample:
        """Observe a service for a fault timeline: running tasks and the leader.

        One round trip. Never raises when the swarm has no leader: ``running`` and
        ``leader`` are ``None`` then.

        Raises:
            UsageError: If the swarm has no such service.
        """
        try:
            snapshot = self.snapshot([service])
        except SwarmUnavailable as exc:
            if not exc.no_leader:
                raise
            return TimelineSample(t=t, running=None, leader=None, event=event)
        running = sum(1 for task in snapshot.tasks_of(service) if task.running)
        leader = snapshot.leader
        return TimelineSample(
            t=t, running=running, leader=leader.hostname if leader else None, event=event
        )
