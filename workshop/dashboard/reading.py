"""What a dashboard refresh reads: one snapshot of the swarm, in one round trip.

:func:`read_dashboard` asks one manager for nodes, services and tasks with a
single remote command (:meth:`~workshop.swarm.SwarmReader.snapshot`) and turns
the answer into the :class:`~workshop.dashboard.control.DashboardState` the
dashboard draws.
"""

from __future__ import annotations

import time

from workshop.dashboard.control import DashboardState, check_service
from workshop.swarm.read import SwarmReader

__all__ = ["read_dashboard"]


def read_dashboard(reader: SwarmReader, service: str | None = None) -> DashboardState:
    """Read nodes, services, tasks and quorum in one round trip to one manager.

    Args:
        reader: Where to read from.
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
