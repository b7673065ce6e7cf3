"""Chapters 04 and 07: scale services, drain and pause nodes, and wait for the swarm.

One rule for each action, used by notebooks, ``lab.require`` and the dashboard
alike: the arguments are checked first (a bad value never reaches the cluster),
the real docker command runs on whichever manager answers (through
:class:`~workshop.swarm.read.SwarmReader`), and the wait reads the swarm's record
with :func:`~workshop.progress.poll_until` until it shows the change.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence

from workshop.errors import NotConverged, UnknownNode, UsageError, WorkshopError
from workshop.progress import Progress, poll_until, quiet
from workshop.steps.members import answering_manager, describe_nodes, reader_for, swarm_needed
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult
from workshop.swarm.models import Service, SwarmNode
from workshop.swarm.read import SwarmLab, SwarmReader

__all__ = [
    "AVAILABILITIES",
    "MAX_REPLICAS",
    "check_availability",
    "check_replicas",
    "node_availability",
    "service_scale",
    "services_by_name",
    "wait_converged",
    "wait_replicas",
]

#: Values of ``docker node update --availability``.
AVAILABILITIES = ("active", "pause", "drain")
#: Most replicas of one service the lab runs (more would take the lab's nodes down).
MAX_REPLICAS = 100
#: Seconds to wait for services to run all their tasks.
SCALE_TIMEOUT = 180.0
#: Seconds to wait for a node's availability to show in the swarm's record.
AVAILABILITY_TIMEOUT = 60.0
POLL = 1.0
_WHOLE = re.compile(r"\+?\d+")


def check_replicas(replicas: object) -> int:
    """A replica count: a whole number (or its digits) from 0 to :data:`MAX_REPLICAS`.

    Raises:
        UsageError: It is not a whole number, or out of bounds; names value and bound.
    """
    is_int = isinstance(replicas, int) and not isinstance(replicas, bool)
    is_digits = isinstance(replicas, str) and _WHOLE.fullmatch(replicas.strip()) is not None
    if not (is_int or is_digits) or int(str(replicas).strip()) < 0:
        raise UsageError(
            f"replicas must be a whole number from 0 up to {MAX_REPLICAS}, got {replicas!r}"
        )
    count = int(str(replicas).strip())
    if count > MAX_REPLICAS:
        raise UsageError(
            f"replicas {count} is more than the lab runs: at most {MAX_REPLICAS} replicas "
            "of one service"
        )
    return count


def check_availability(availability: object) -> str:
    """A node availability: active, pause or drain.

    Raises:
        UsageError: It is something else; the message lists the valid ones.
    """
    for valid in AVAILABILITIES:
        if availability == valid:
            return valid
    raise UsageError.choice("availability", availability, AVAILABILITIES)


def on_change(progress: Progress) -> Progress:
    """A progress sink that forwards a line only when it differs from the one before."""
    said: list[str] = []

    def forward(line: str) -> None:
        if not said or said[-1] != line:
            said.append(line)
            progress(line)

    return forward


def services_by_name(reader: SwarmReader) -> dict[str, Service]:
    """Service name -> the service, as the swarm lists it.

    Raises:
        NotReady: No manager answers for the swarm.
    """
    with swarm_needed():
        return {s.name: s for s in reader.services()}


def _describe_services(services: dict[str, Service], names: Sequence[str]) -> str:
    parts = []
    for name in names:
        found = services.get(name)
        seen = f"{found.replicas_running}/{found.replicas_desired}" if found else "missing"
        parts.append(f"{name} {seen}")
    return ", ".join(parts)


def _why_not_running(reader: SwarmReader, services: Sequence[str]) -> str:
    """Tasks of ``services`` that do not run, and why (``docker service ps --no-trunc``)."""
    try:
        tasks = reader.tasks(services, desired=None)
    except WorkshopError as exc:
        return f"cannot list the tasks: {exc}"
    lines = []
    for service in services:
        mine = [t for t in tasks if t.service == service]
        problems = [t for t in mine if not t.running] or mine
        lines.append(f"{service}:")
        lines.extend(
            f"  {t.name} on {t.node or '(no node)'}: {t.current_state} {t.since} "
            f"(wants {t.desired_state}) {t.error}".rstrip()
            for t in problems[:6]
        )
    return "\n".join(lines)


def wait_converged(
    lab: SwarmLab,
    services: Sequence[str],
    *,
    timeout: float = SCALE_TIMEOUT,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> None:
    """Wait until every service exists and runs as many tasks as it wants.

    Raises:
        NotReady: No manager answers for the swarm.
        NotConverged: After ``timeout`` seconds; names the tasks not running and why.
    """
    reader = reader_for(lab, reader)
    names = list(services)
    say = on_change(progress)

    def probe() -> dict[str, Service]:
        current = services_by_name(reader)
        say(f"waiting: {_describe_services(current, names)}")
        return current

    def pending(current: dict[str, Service]) -> list[str]:
        return [n for n in names if n not in current or not current[n].converged]

    try:
        poll_until(probe, lambda current: not pending(current), timeout=timeout, interval=POLL)
    except NotConverged as exc:
        current = services_by_name(reader)
        raise NotConverged(
            f"not every task is running: {_describe_services(current, names)}. Look at "
            "`docker service ps --no-trunc <service>` and `docker service logs <service>`",
            timeout=timeout,
            last_seen=_why_not_running(reader, pending(current) or names),
        ) from exc


def wait_replicas(
    reader: SwarmReader,
    service: str,
    replicas: int,
    *,
    timeout: float = SCALE_TIMEOUT,
    interval: float = POLL,
    progress: Progress = quiet,
    watch: Callable[[Service], None] | None = None,
) -> Service:
    """Wait until ``service`` wants and runs exactly ``replicas`` tasks.

    Args:
        reader: Reads the swarm.
        service: Service name.
        replicas: Tasks wanted.
        timeout: Seconds to wait.
        interval: Seconds between reads.
        progress: Told ``"web: 2/3 running"`` after every read.
        watch: Called with the service after every read (a progress bar).

    Raises:
        NotConverged: The service is gone, or not at ``replicas`` in time.
    """
    say = on_change(progress)

    def probe() -> Service:
        found = services_by_name(reader).get(service)
        if found is None:
            raise NotConverged(f"service {service!r} was removed while it was being scaled")
        say(f"{service}: {found.replicas_running}/{replicas} running")
        if watch is not None:
            watch(found)
        return found

    return poll_until(
        probe,
        lambda s: s.replicas_desired == replicas and s.replicas_running == replicas,
        timeout=timeout,
        interval=interval,
        what=f"{service} at {replicas} running tasks (see `docker service ps {service}`)",
        describe=lambda s: f"{s.replicas_running}/{s.replicas_desired} running",
    )


def service_scale(
    lab: SwarmLab,
    service: str,
    replicas: int | str,
    *,
    wait: bool = True,
    timeout: float = SCALE_TIMEOUT,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> StepResult:
    """Scale a replicated service (``docker service scale <service>=<n>``) and wait.

    Args:
        lab: The lab.
        service: The service's name.
        replicas: Tasks wanted, 0 to :data:`MAX_REPLICAS`.
        wait: Wait until exactly that many tasks run.
        timeout: Seconds to wait.
        progress: Called with a line of text now and then.
        reader: Read and act through this reader (default: a new one on ``lab``).

    Raises:
        UsageError: ``replicas`` is not a whole number from 0 to :data:`MAX_REPLICAS`,
            the service does not exist (the message lists those that do) or is
            global; nothing changed.
        NotReady: No manager answers for the swarm.
        NotConverged: Not every task runs after ``timeout`` seconds.
    """
    count = check_replicas(replicas)
    reader = reader_for(lab, reader)
    current = services_by_name(reader)
    if service not in current:
        raise UsageError.choice("service", service, sorted(current) or ["(no services yet)"])
    found = current[service]
    if found.mode != "replicated":
        raise UsageError(
            f"service {service!r} is {found.mode}: it runs one task per node and cannot be scaled"
        )
    rec = StepRecorder(f"service_scale {service}", progress)
    if found.replicas_desired == count:
        rec.unchanged(answering_manager(reader), f"{service} already wants {count} replicas")
    else:
        args = ["service", "scale", "--detach", f"{service}={count}"]
        rec.say(f"on {answering_manager(reader)}: {shlex.join(['docker', *args])}")
        reader.docker(args)
        manager = answering_manager(reader)
        rec.changed(manager, f"{service}: {found.replicas_desired} -> {count} replicas")
    if wait:
        wait_replicas(reader, service, count, timeout=timeout, progress=rec.say)
    return rec.result()


def _swarm_node(reader: SwarmReader, node: str) -> SwarmNode:
    """The swarm node called ``node`` (host name or ID)."""
    nodes = _nodes_of(reader)
    for found in nodes:
        if node in (found.hostname, found.id):
            return found
    raise UnknownNode(node, [n.hostname for n in nodes])


def node_availability(
    lab: SwarmLab,
    node: str,
    availability: str,
    *,
    wait: bool = True,
    timeout: float = AVAILABILITY_TIMEOUT,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> StepResult:
    """Set a node's availability (``docker node update --availability drain node-3``).

    ``drain`` moves the node's tasks elsewhere, ``pause`` keeps them but places no
    new ones, ``active`` makes the node schedulable again.

    Args:
        lab: The lab.
        node: The node's host name in the swarm.
        availability: ``active``, ``pause`` or ``drain``.
        wait: Wait until the swarm's record shows it.
        timeout: Seconds to wait.
        progress: Called with a line of text now and then.
        reader: Read and act through this reader (default: a new one on ``lab``).

    Raises:
        UsageError: A bad availability (nothing changed).
        UnknownNode: The swarm has no such node (nothing changed).
        NotReady: No manager answers for the swarm.
        NotConverged: The record does not show it after ``timeout`` seconds.
    """
    wanted = check_availability(availability)
    reader = reader_for(lab, reader)
    found = _swarm_node(reader, node)
    rec = StepRecorder(f"node_availability {node}", progress)
    if found.availability == wanted:
        rec.unchanged(node, f"already {wanted}")
        return rec.result()
    args = ["node", "update", "--availability", wanted, node]
    rec.say(f"on {answering_manager(reader)}: {shlex.join(['docker', *args])}")
    reader.docker(args)
    rec.changed(node, f"{found.availability} -> {wanted}")
    if wait:
        poll_until(
            lambda: _nodes_of(reader),
            lambda nodes: any(n.id == found.id and n.availability == wanted for n in nodes),
            timeout=timeout,
            interval=POLL,
            what=f"{node} {wanted}",
            describe=describe_nodes,
        )
    return rec.result()


def _nodes_of(reader: SwarmReader) -> list[SwarmNode]:
    with swarm_needed():
        return reader.nodes()
