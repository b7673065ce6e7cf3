"""Chapter 09: the lab as a chapter found it, and a check that it is so again.

A :class:`LabSnapshot` records every node's power (from the lab's source) and its
role, availability and status (from ``docker node ls`` as JSON, through
:class:`~workshop.swarm.SwarmReader`); :meth:`LabSnapshot.differences` compares two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workshop.checks.result import CheckResult, guarded
from workshop.remote import RemoteLab
from workshop.swarm import SwarmNode, SwarmReader
from workshop.swarm.models import MANAGER

__all__ = ["LabSnapshot", "NodeRecord", "lab_as_found", "lab_snapshot", "snapshot_of"]


@dataclass(frozen=True)
class NodeRecord:
    """One node: its power, and its place in the swarm.

    Attributes:
        name: The node's name in the lab.
        power: Its machine's state (``running``, ``exited``...).
        role: ``manager`` or ``worker`` (``-`` when the swarm does not list it).
        availability: ``active``, ``pause`` or ``drain``.
        status: ``ready``, ``down``...
    """

    name: str
    power: str
    role: str = "-"
    availability: str = "-"
    status: str = "-"

    def __str__(self) -> str:
        return f"{self.name}: {self.power}, {self.role}, {self.availability}, {self.status}"


@dataclass(frozen=True)
class LabSnapshot:
    """Every node of the lab, as :func:`lab_snapshot` found it."""

    nodes: tuple[NodeRecord, ...]

    def differences(self, now: LabSnapshot) -> list[str]:
        """What ``now`` has that differs from this snapshot (empty: the same)."""
        then = {n.name: n for n in self.nodes}
        seen = {n.name: n for n in now.nodes}
        found = [f"{name} is gone" for name in then if name not in seen]
        found += [f"{name} is new" for name in seen if name not in then]
        for name in (n for n in then if n in seen):
            for field in ("power", "role", "availability", "status"):
                was, is_now = getattr(then[name], field), getattr(seen[name], field)
                if was != is_now:
                    found.append(f"{name} {field} {is_now} (was {was})")
        return found

    def __str__(self) -> str:
        return "\n".join(str(node) for node in self.nodes)

    def __repr__(self) -> str:
        return str(self)


def snapshot_of(names: Mapping[str, str], swarm: Sequence[SwarmNode]) -> LabSnapshot:
    """A snapshot from the lab's machines (name -> power state) and the swarm's nodes."""
    by_host = {node.hostname: node for node in swarm}
    records = []
    for name, power in names.items():
        node = by_host.get(name)
        if node is None:
            records.append(NodeRecord(name, power))
            continue
        role = MANAGER if node.is_manager else "worker"
        records.append(NodeRecord(name, power, role, node.availability, node.status))
    return LabSnapshot(tuple(records))


def lab_snapshot(lab: RemoteLab) -> LabSnapshot:
    """The lab's nodes now: powered or not, role, availability and status in the swarm.

    Raises:
        SwarmUnavailable: No manager answers (a snapshot needs the swarm's view).
    """
    lab.refresh()
    return snapshot_of({n.name: n.state for n in lab.nodes}, SwarmReader(lab).nodes())


def lab_as_found(lab: RemoteLab, found: LabSnapshot) -> CheckResult:
    """Every node is as ``found`` recorded it: powered, role, availability, status."""
    name = "the lab is as the chapter found it"
    hint = (
        "`workshop up` powers nodes on, `docker node update --availability active <node>`, "
        "`docker node demote|promote <node>` (steps.swarm_roles(lab))"
    )

    def probe() -> CheckResult:
        changed = found.differences(lab_snapshot(lab))
        if changed:
            return CheckResult(name, False, "; ".join(changed), hint)
        return CheckResult(name, True, "; ".join(str(n) for n in found.nodes))

    return guarded(name, hint, probe)
