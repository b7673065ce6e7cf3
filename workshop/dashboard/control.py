"""What the dashboard reads and changes, without widgets.

:func:`read_state` gathers one consistent picture of the swarm (nodes, services,
replicas per node, quorum) for the dashboard. :func:`scale_service` and
:func:`set_availability` change the swarm through any manager that answers,
after checking their arguments, so a typo never reaches the cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from workshop.errors import NotConverged, UsageError
from workshop.swarm.models import Quorum, ReplicaDistribution, Service, SwarmNode
from workshop.swarm.read import SwarmReader, distribution_of, quorum_of

__all__ = [
    "AVAILABILITIES",
    "DashboardState",
    "check_availability",
    "check_replicas",
    "check_service",
    "read_state",
    "scale_service",
    "set_availability",
    "wait_for_replicas",
]

#: Values of ``docker node update --availability``.
AVAILABILITIES = ("active", "pause", "drain")
#: Most replicas the dashboard offers to scale to.
MAX_REPLICAS = 100

Progress = Callable[[float, str], None]


def _no_progress(_fraction: float, _message: str) -> None:
    """Default progress sink."""


def check_replicas(replicas: object) -> int:
    """Validate a replica count (0..:data:`MAX_REPLICAS`).

    Raises:
        UsageError: If it is not a whole number in range.
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise UsageError(f"replicas must be a whole number, got {replicas!r}")
    if not 0 <= replicas <= MAX_REPLICAS:
        raise UsageError(f"replicas must be between 0 and {MAX_REPLICAS}, got {replicas}")
    return replicas


def check_service(service: object, known: Sequence[str]) -> str:
    """Validate a service name against the services the swarm runs.

    Raises:
        UsageError: If the name is not one of ``known``.
    """
    if not isinstance(service, str) or service not in known:
        raise UsageError.choice("service", service, known or ["(no services yet)"])
    return service


def check_availability(availability: object) -> str:
    """Validate a node availability (active, pause or drain).

    Raises:
        UsageError: If it is something else.
    """
    if availability not in AVAILABILITIES:
        raise UsageError.choice("availability", availability, AVAILABILITIES)
    assert isinstance(availability, str)
    return availability


@dataclass(frozen=True, repr=False)
class DashboardState:
    """What the dashboard drew: one read of the swarm.

    Attributes:
        nodes: Every swarm node.
        services: Every service.
        distributions: Service -> tasks per node, for the services shown.
        quorum: The managers' quorum.
        service: The service selected (``None``: all services).
        took: Seconds the read took.
    """

    nodes: tuple[SwarmNode, ...]
    services: tuple[Service, ...]
    distributions: dict[str, ReplicaDistribution] = field(default_factory=dict)
    quorum: Quorum | None = None
    service: str | None = None
    took: float = 0.0

    @property
    def service_names(self) -> list[str]:
        """Names of every service."""
        return [service.name for service in self.services]

    def find(self, service: str) -> Service | None:
        """The service called ``service``, if it exists."""
        return next((s for s in self.services if s.name == service), None)

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Service -> node -> running tasks (what the replica map draws)."""
        return {name: dict(dist.counts) for name, dist in self.distributions.items()}

    def __repr__(self) -> str:
        shown = self.service or "all services"
        lines = [f"Swarm: {len(self.nodes)} nodes, {len(self.services)} services ({shown})"]
        if self.quorum is not None:
            leader = self.quorum.leader or "none"
            lines.append(f"Leader: {leader}; {self.quorum.summary}")
        for node in self.nodes:
            role = node.manager_status or node.role
            lines.append(f"  {node.hostname:<10} {role:<11} {node.status:<7} {node.availability}")
        for service in self.services:
            lines.append(
                f"Service {service.name}: {service.replicas_running}/"
                f"{service.replicas_desired} running ({service.mode})"
            )
        lines += [repr(dist) for dist in self.distributions.values()]
        return "\n".join(lines)


def read_state(reader: SwarmReader, service: str | None = None) -> DashboardState:
    """Read nodes, services, tasks and quorum with four docker commands.

    Args:
        reader: Where to read from.
        service: Show only this service (``None``: all services).

    Raises:
        UsageError: If ``service`` is not a service of the swarm.
        SwarmUnavailable: If no manager can answer.
    """
    started = time.monotonic()
    nodes = reader.nodes()
    services = reader.services()
    names = [s.name for s in services]
    shown = names if service is None else [check_service(service, names)]
    tasks = reader.tasks(shown)
    distributions = {
        name: distribution_of(name, [t for t in tasks if t.service == name], nodes)
        for name in shown
    }
    quorum = quorum_of(nodes) if any(n.is_manager for n in nodes) else None
    return DashboardState(
        nodes=tuple(nodes),
        services=tuple(services),
        distributions=distributions,
        quorum=quorum,
        service=service,
        took=time.monotonic() - started,
    )


def scale_service(reader: SwarmReader, service: str, replicas: int) -> None:
    """Ask the swarm for ``replicas`` tasks of ``service`` (``docker service scale -d``).

    Arguments are checked by the caller (:func:`check_service`, :func:`check_replicas`).
    """
    reader.docker(["service", "scale", "--detach", f"{service}={replicas}"])


def wait_for_replicas(
    reader: SwarmReader,
    service: str,
    replicas: int,
    *,
    timeout: float = 120.0,
    poll: float = 1.0,
    progress: Progress = _no_progress,
) -> Service:
    """Poll ``docker service ls`` until ``service`` runs ``replicas`` tasks.

    Args:
        reader: Where to read from.
        service: Service name.
        replicas: Tasks wanted.
        timeout: Seconds to wait.
        poll: Seconds between reads.
        progress: Called with (fraction done, message) after every read.

    Raises:
        NotConverged: If the service has not converged in time.
    """
    deadline = time.monotonic() + timeout
    last: Service | None = None
    while True:
        last = next((s for s in reader.services() if s.name == service), None)
        if last is None:
            raise UsageError(f"service {service!r} is gone")
        running = last.replicas_running
        done = 1.0 if replicas == 0 and running == 0 else running / max(replicas, running, 1)
        progress(done, f"{service}: {running}/{replicas} running")
        if last.replicas_desired == replicas and running == replicas:
            return last
        if time.monotonic() > deadline:
            raise NotConverged(
                f"{service} did not reach {replicas} running tasks; see "
                f"`docker service ps {service}` for tasks that cannot start",
                timeout=timeout,
                last_seen=f"{running}/{last.replicas_desired} running",
            )
        time.sleep(poll)


def set_availability(reader: SwarmReader, node: str, availability: str) -> None:
    """``docker node update --availability AVAILABILITY NODE`` on a manager.

    Raises:
        UsageError: If ``availability`` is not active, pause or drain.
    """
    check_availability(availability)
    reader.docker(["node", "update", "--availability", availability, node])
