"""Read the swarm's state from whichever manager can answer.

:class:`SwarmReader` runs read-only docker commands on a manager over the lab's
SSH fan-out and parses them into :mod:`workshop.swarm.models`. When a manager is
unreachable, or answers that it is not a manager or that the swarm has no leader,
the next manager is asked; the manager that answered last is asked first next
time. This keeps the dashboard working while the leader is down.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from workshop.errors import CommandFailed, NodeUnreachable, UnknownNode, WorkshopError
from workshop.lab.results import node_sort_key
from workshop.swarm.models import (
    MANAGER,
    Quorum,
    ReplicaDistribution,
    Service,
    SwarmNode,
    Task,
    TimelineSample,
)
from workshop.swarm.parse import (
    parse_node_inspect,
    parse_node_ls,
    parse_service_ls,
    parse_service_ps,
)

JSON_FORMAT = "{{json .}}"
DEFAULT_TIMEOUT = 15.0

#: Phrases (lower case) in docker's stderr meaning "ask another manager".
MANAGER_UNAVAILABLE = (
    "does not have a leader",
    "not a swarm manager",
    "not part of a swarm",
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "context deadline exceeded",
    "deadlineexceeded",
    "code = unavailable",
    "connection refused",
    "command not found",
)
NO_LEADER = "does not have a leader"
#: Phrases meaning the node's docker engine itself did not answer.
ENGINE_DOWN = (
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "command not found",
)


class ManagerNode(Protocol):
    """What the reader needs of a lab node: its name."""

    @property
    def name(self) -> str:
        """The node's name in the lab (``node-1``)."""
        ...


class CommandResult(Protocol):
    """What the reader needs of one node's result (``RunResult`` fits)."""

    @property
    def rc(self) -> int | None:
        """Exit code, ``None`` if the command never finished."""
        ...

    @property
    def stdout(self) -> str:
        """Standard output."""
        ...

    @property
    def stderr(self) -> str:
        """Standard error."""
        ...

    @property
    def error(self) -> object:
        """Why the node could not be reached (falsy when it was)."""
        ...


class SwarmLab(Protocol):
    """What the reader needs of a lab (``Lab`` fits; tests pass a fake)."""

    @property
    def managers(self) -> Sequence[ManagerNode]:
        """The lab's manager nodes, in preference order."""
        ...

    def run(
        self, command: str, *, on: str, sudo: bool = ..., timeout: float = ...
    ) -> Sequence[CommandResult]:
        """Run a shell line on one node and return its result."""
        ...


@dataclass(frozen=True)
class Attempt:
    """One manager asked, and why it could not answer.

    Attributes:
        manager: The manager's name.
        reason: What went wrong.
        answered: Whether the manager's engine answered (the node is up).
        no_leader: Whether it said the swarm has no leader.
    """

    manager: str
    reason: str
    answered: bool = False
    no_leader: bool = False


class SwarmUnavailable(WorkshopError):
    """No manager could answer a read of the swarm.

    Attributes:
        command: The docker command that was tried.
        attempts: Every manager asked, and why it failed.
    """

    def __init__(self, command: str, attempts: Sequence[Attempt]) -> None:
        self.command = command
        self.attempts = tuple(attempts)
        lines = [f"No manager could answer `{command}`:"]
        lines += [f"  {a.manager}: {a.reason}" for a in self.attempts] or ["  (no managers)"]
        if self.no_leader:
            lines.append(
                "The swarm has no leader: a majority of its managers must be running. "
                "Start the stopped managers (`workshop up`) and try again."
            )
        else:
            lines.append(
                "Check the managers with `workshop status`; `workshop up` starts stopped nodes."
            )
        super().__init__("\n".join(lines))

    @property
    def no_leader(self) -> bool:
        """Whether a manager that answered said the swarm has no leader."""
        return any(a.no_leader for a in self.attempts)

    def _init_args(self) -> tuple[object, ...]:
        return (self.command, self.attempts)


def _last_line(text: str) -> str:
    """The last non-blank line (docker's error follows any sudo/ssh warnings)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def classify_failure(stderr: str) -> Attempt | None:
    """Tell whether a failed command means "ask another manager".

    Args:
        stderr: The command's standard error.

    Returns:
        An :class:`Attempt` (without the manager name) if another manager should be
        asked, ``None`` if the failure is about the command itself.
    """
    lowered = stderr.lower()
    if not any(phrase in lowered for phrase in MANAGER_UNAVAILABLE):
        return None
    engine_down = any(phrase in lowered for phrase in ENGINE_DOWN)
    return Attempt("", _last_line(stderr), answered=not engine_down, no_leader=NO_LEADER in lowered)


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
        command = shlex.join(["docker", *args])
        attempts: list[Attempt] = []
        for name in self.candidates():
            try:
                results = self.lab.run(command, on=name, sudo=True, timeout=self.timeout)
                if not results:
                    attempts.append(Attempt(name, "no result"))
                    continue
                result = results[0]
                if result.error:  # e.g. "unreachable at ...", "timed out after 15 s"
                    attempts.append(Attempt(name, _last_line(str(result.error))))
                    continue
                if result.rc == 0:
                    self.last_manager = name
                    return result.stdout
                raise CommandFailed(command, name, result.rc, result.stdout, result.stderr)
            except CommandFailed as exc:
                attempt = classify_failure(exc.stderr)
                if attempt is None and exc.rc is not None:
                    raise
                reason = f"did not finish within {self.timeout:g} s"
                attempts.append(replace(attempt or Attempt("", reason), manager=name))
            except NodeUnreachable as exc:
                attempts.append(Attempt(name, f"unreachable: {exc.reason}"))
            except UnknownNode as exc:  # a manager the swarm reported but the lab lacks
                attempts.append(Attempt(name, str(exc)))
        raise SwarmUnavailable(command, attempts)

    def nodes(self) -> list[SwarmNode]:
        """All swarm nodes (``docker node ls``), with addresses from ``node inspect``."""
        nodes = parse_node_ls(self.docker(["node", "ls", "--format", JSON_FORMAT]))
        if nodes:
            inspected = parse_node_inspect(
                self.docker(["node", "inspect", *(node.id for node in nodes)])
            )
            addresses = {node.id: node.address for node in inspected}
            nodes = [replace(n, address=addresses.get(n.id, n.address)) for n in nodes]
        self._known_managers = tuple(n.hostname for n in nodes if n.role == MANAGER)
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

        Never raises when the swarm has no leader: ``running`` and ``leader`` are
        ``None`` then.
        """
        try:
            nodes = self.nodes()
            tasks = self.tasks(service)
        except SwarmUnavailable as exc:
            if not exc.no_leader:
                raise
            return TimelineSample(t=t, running=None, leader=None, event=event)
        leader = next((node.hostname for node in nodes if node.is_leader), None)
        running = sum(1 for task in tasks if task.running)
        return TimelineSample(t=t, running=running, leader=leader, event=event)


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
