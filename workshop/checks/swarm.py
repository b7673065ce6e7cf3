"""Chapter 03: one swarm of every node, with the roles the lab defines.

The swarm is read through :class:`~workshop.swarm.SwarmReader` (``docker node ls``
and ``docker node inspect`` as JSON); :func:`swarm_problems` judges what it read.
"""

from __future__ import annotations

from collections.abc import Sequence

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.remote import RemoteLab
from workshop.swarm import SwarmNode, SwarmReader

__all__ = ["role_line", "swarm_formed", "swarm_problems"]


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def role_line(nodes: Sequence[SwarmNode]) -> str:
    """``node-1 leader, node-2 reachable, node-3 worker``."""
    parts = []
    for node in nodes:
        status = node.manager_status.lower() if node.is_manager else "worker"
        parts.append(f"{node.hostname} {status}")
    return ", ".join(parts)


def swarm_problems(
    nodes: Sequence[SwarmNode], names: Sequence[str], managers: int, workers: int
) -> list[str]:
    """What is wrong with the swarm ``nodes`` for a lab of ``names`` (empty: nothing).

    Args:
        nodes: The swarm's nodes, as ``docker node ls`` lists them.
        names: The lab's machines, each of which must be in the swarm.
        managers: Managers expected.
        workers: Workers expected.
    """
    problems = []
    in_swarm = {n.hostname for n in nodes}
    outside = [name for name in names if name not in in_swarm]
    if outside:
        problems.append(f"not in the swarm: {name_list(outside)}")
    not_ready = [f"{n.hostname} ({n.status})" for n in nodes if n.status != "ready"]
    if not_ready:
        problems.append(f"not ready: {', '.join(not_ready)}")
    found_managers = [n for n in nodes if n.is_manager]
    found_workers = len(nodes) - len(found_managers)
    if len(found_managers) != managers or found_workers != workers:
        problems.append(
            f"{len(found_managers)} managers and {found_workers} workers, expected "
            f"{managers} and {workers}"
        )
    leaders = [n.hostname for n in found_managers if n.is_leader]
    if len(leaders) != 1:
        problems.append("no leader" if not leaders else f"several leaders: {name_list(leaders)}")
    unreachable = [n.hostname for n in found_managers if not n.is_reachable_manager]
    if unreachable:
        problems.append(f"managers not reachable: {name_list(unreachable)}")
    return problems


def swarm_formed(
    lab: RemoteLab, managers: int | None = None, workers: int | None = None
) -> CheckResult:
    """One swarm of every node: ``managers`` managers (one Leader) and ``workers`` workers.

    Args:
        lab: The lab.
        managers: Managers expected (default: as many as the lab defines).
        workers: Workers expected (default: as many as the lab defines).
    """
    want_managers = len(lab.managers) if managers is None else managers
    want_workers = len(lab.workers) if workers is None else workers
    name = f"swarm of {_count(want_managers, 'manager')} and {_count(want_workers, 'worker')}"
    hint = (
        "`docker node ls` on node-1 shows who is in; `docker swarm init` / `docker swarm join` "
        "make it (steps.swarm_init(lab), then steps.swarm_join(lab))"
    )

    def probe() -> CheckResult:
        nodes = SwarmReader(lab).nodes()
        problems = swarm_problems(nodes, lab.names, want_managers, want_workers)
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        return CheckResult(name, True, role_line(nodes))

    return guarded(name, hint, probe)
