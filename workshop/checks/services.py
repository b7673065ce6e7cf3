"""Chapter 04: services run where and as often as they should.

Services and their tasks are read through :class:`~workshop.swarm.SwarmReader`
(``docker service ls`` / ``service ps`` as JSON, and ``node ls`` for who takes tasks).
"""

from __future__ import annotations

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.remote import RemoteLab
from workshop.swarm import ReplicaDistribution, Service, SwarmReader

__all__ = ["global_service", "service_absent", "service_replicas"]


def _counts(distribution: ReplicaDistribution) -> str:
    return ", ".join(f"{node} {count}" for node, count in distribution.items())


def _spread(reader: SwarmReader, service: str) -> tuple[ReplicaDistribution, list[str]]:
    """Running tasks of ``service`` per node, and the nodes that take tasks (not drained, down)."""
    distribution = reader.replica_distribution(service)
    return distribution, [node for node in distribution if not distribution.marks.get(node)]


def _of_mode(reader: SwarmReader, service: str, mode: str) -> tuple[Service | None, str]:
    """The service if it exists in ``mode``, else ``None`` and why not."""
    found = next((s for s in reader.services() if s.name == service), None)
    if found is None:
        return None, f"there is no service {service!r}"
    if found.mode != mode:
        return None, f"{service} is {found.mode}, not {mode}"
    return found, ""


def service_replicas(
    lab: RemoteLab, service: str, replicas: int, *, spread: bool = True
) -> CheckResult:
    """A replicated service runs ``replicas`` tasks, spread over every node that takes tasks.

    Args:
        lab: The lab.
        service: Service name.
        replicas: Tasks it must want and run.
        spread: Also require a task on every active, ready node (when there are at
            least as many replicas as such nodes).
    """
    name = f"{service} runs {replicas} replicas"
    hint = f"`docker service scale {service}={replicas}`, then `docker service ps {service}`"

    def probe() -> CheckResult:
        reader = SwarmReader(lab)
        found, why = _of_mode(reader, service, "replicated")
        if found is None:
            return CheckResult(name, False, why, hint)
        if found.replicas_desired != replicas:
            message = f"{service} wants {found.replicas_desired} replicas"
            return CheckResult(name, False, message, hint)
        if not found.converged:
            message = f"only {found.replicas_running} of {replicas} tasks are running"
            return CheckResult(name, False, message, hint + " (and wait for it)")
        distribution, usable = _spread(reader, service)
        empty = [node for node in usable if distribution[node] == 0]
        if spread and replicas >= len(usable) and empty:
            message = f"no task on {name_list(empty)} ({_counts(distribution)})"
            return CheckResult(name, False, message, "is that node drained, or down?")
        return CheckResult(name, True, f"{replicas}/{replicas} running: {_counts(distribution)}")

    return guarded(name, hint, probe)


def global_service(lab: RemoteLab, service: str) -> CheckResult:
    """A global service runs exactly one task on every node that takes tasks."""
    name = f"{service} runs one task per node"
    hint = f"`docker service create --mode global --name {service} ...` creates it"

    def probe() -> CheckResult:
        reader = SwarmReader(lab)
        found, why = _of_mode(reader, service, "global")
        if found is None:
            return CheckResult(name, False, why, hint)
        distribution, usable = _spread(reader, service)
        wrong = [node for node in usable if distribution[node] != 1]
        if wrong:
            message = f"not one running task on {name_list(wrong)} ({_counts(distribution)})"
            return CheckResult(name, False, message, f"`docker service ps {service}`")
        return CheckResult(name, True, f"one task on each of {name_list(usable)}")

    return guarded(name, hint, probe)


def service_absent(lab: RemoteLab, service: str) -> CheckResult:
    """No service of that name is left in the swarm."""
    name = f"no service {service}"
    hint = f"`docker service rm {service}`"

    def probe() -> CheckResult:
        names = [s.name for s in SwarmReader(lab).services()]
        if service in names:
            return CheckResult(name, False, f"{service} is still there", hint)
        return CheckResult(name, True, f"services now: {name_list(names)}")

    return guarded(name, hint, probe)
