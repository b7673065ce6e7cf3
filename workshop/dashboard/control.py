"""What the dashboard reads and changes, without widgets.

:func:`read_state` gathers one consistent picture of the swarm (nodes, services,
replicas per node, quorum) for the dashboard. :func:`scale_service`,
:func:`wait_for_replicas` and :func:`set_availability` change the swarm through the
dashboard's reader with the steps' own rules (:mod:`workshop.steps.service`): the
same bounds, the same docker command and the same wait as ``steps.service_scale``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from workshop.errors import UsageError
from workshop.steps.service import (
    AVAILABILITIES,
    MAX_REPLICAS,
    check_availability,
    node_availability,
    service_scale,
    wait_replicas,
)
from workshop.steps.service import check_replicas as check_replica_count
from workshop.swarm.models import Quorum, ReplicaDistribution, Service, SwarmNode
from workshop.swarm.read import SwarmReader

__all__ = [
    "AVAILABILITIES",
    "MAX_REPLICAS",
    "ActionProgress",
    "DashboardState",
    "check_availability",
    "check_replicas",
    "check_service",
    "read_state",
    "scale_service",
    "set_availability",
    "wait_for_replicas",
]

#: How a dashboard action reports progress: (fraction done, message), for a progress bar.
ActionProgress = Callable[[float, str], None]


def _no_progress(_fraction: float, _message: str) -> None:
    """Default progress sink."""


def check_replicas(replicas: object) -> int:
    """Validate a replica count from the dashboard: an int, 0..:data:`MAX_REPLICAS`.

    Raises:
        UsageError: If it is not an int (the slider gives one), or out of bounds.
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise UsageError(f"replicas must be a whole number, got {replicas!r}")
    return check_replica_count(replicas)


def check_service(service: object, known: Sequence[str]) -> str:
    """Validate a service name against the services the swarm runs.

    Raises:
        UsageError: If the name is not one of ``known``.
    """
    if not isinstance(service, str) or service not in known:
        raise UsageError.choice("service", service, known or ["(no services yet)"])
    return service


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
    """Read nodes, services, tasks and quorum in one round trip to one manager.

    Args:
        reader: Where to read from (:meth:`~workshop.swarm.SwarmReader.snapshot`).
        service: Show only this service (``None``: all services).

    Raises:
        UsageError: If ``service`` is not a service of the swarm.
        SwarmUnavailable: If no manager can answer.
    """
    started = time.monotonic()
    snapshot = reader.snapshot(None if service is None else [service])
    if service is not None:
        check_service(service, snapshot.service_names)
    return DashboardState(
        nodes=snapshot.nodes,
        services=snapshot.services,
        distributions=snapshot.distributions(),
        quorum=snapshot.quorum,
        service=service,
        took=time.monotonic() - started,
    )


def scale_service(reader: SwarmReader, service: str, replicas: int) -> None:
    """Ask the swarm for ``replicas`` tasks of ``service`` (``steps.service_scale``, no wait).

    Raises:
        UsageError: Bad replica count, unknown or global service (nothing changed).
    """
    service_scale(reader.lab, service, replicas, wait=False, reader=reader)


def wait_for_replicas(
    reader: SwarmReader,
    service: str,
    replicas: int,
    *,
    timeout: float = 120.0,
    poll: float = 1.0,
    progress: ActionProgress = _no_progress,
) -> Service:
    """Wait until ``service`` runs ``replicas`` tasks (the steps' wait), moving a progress bar.

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

    def watch(found: Service) -> None:
        running = found.replicas_running
        done = 1.0 if replicas == 0 and running == 0 else running / max(replicas, running, 1)
        progress(done, f"{service}: {running}/{replicas} running")

    return wait_replicas(reader, service, replicas, timeout=timeout, interval=poll, watch=watch)


def set_availability(reader: SwarmReader, node: str, availability: str) -> None:
    """``docker node update --availability AVAILABILITY NODE`` (``steps.node_availability``).

    Raises:
        UsageError: If ``availability`` is not active, pause or drain.
    """
    node_availability(reader.lab, node, availability, wait=False, reader=reader)
