"""Chapters 03 and 09: node roles. Promote workers, demote managers, restore the lab's.

Roles are read from the swarm's own record (``docker node inspect``) through
:class:`~workshop.swarm.read.SwarmReader`, since a node's own view lags behind for
a few seconds. A promoted node must become a reachable Raft member before the
next change, so each promotion waits for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from workshop.errors import NotReady
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.steps.members import (
    REACHABLE_TIMEOUT,
    REQUIRE_SWARM,
    answering_manager,
    reader_for,
    swarm_members,
    swarm_needed,
    wait_leader,
    wait_reachable,
)
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult
from workshop.swarm.info import SwarmInfo
from workshop.swarm.read import SwarmReader

__all__ = ["demote", "promote", "swarm_roles"]


def _members(lab: RemoteLab) -> dict[str, SwarmInfo]:
    return swarm_members(lab, [n.name for n in lab.nodes if n.running])


def _recorded_roles(
    lab: RemoteLab, reader: SwarmReader, members: dict[str, SwarmInfo], progress: Progress
) -> dict[str, str]:
    """Node ID -> role, as the swarm records it (once it has a leader)."""
    wait_leader(lab, reader, members, progress)
    with swarm_needed():
        return {node.id: node.role for node in reader.nodes()}


def _change_roles(
    lab: RemoteLab,
    names: Sequence[str],
    action: str,
    progress: Progress,
    reader: SwarmReader | None,
) -> StepResult:
    rec = StepRecorder(action, progress)
    for name in names:
        lab.node(name)  # UnknownNode before anything changes
    members = _members(lab)
    for name in names:
        if name not in members or not members[name].active:
            raise NotReady(
                f"{name} is not in the swarm (or not running): join it first with {REQUIRE_SWARM}"
            )
    reader = reader_for(lab, reader)
    roles = _recorded_roles(lab, reader, members, progress)
    wanted = "manager" if action == "promote" else "worker"
    for name in names:
        node_id = members[name].node_id
        if roles.get(node_id) == wanted:
            rec.unchanged(name, f"already a {wanted}")
            continue
        reader.docker(["node", action, node_id])
        if wanted == "manager":
            wait_reachable(reader, node_id, REACHABLE_TIMEOUT)
        rec.changed(name, f"{action}d on {answering_manager(reader)} (docker node {action} {name})")
    return rec.result()


def _names(names: str | Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def promote(
    lab: RemoteLab,
    names: str | Sequence[str],
    *,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> StepResult:
    """Make nodes managers: ``docker node promote <node>`` on a manager.

    Raises:
        UnknownNode: A name is not a node of the lab (nothing changed).
        NotReady: A node is not in the swarm, or the swarm has no manager.
    """
    return _change_roles(lab, _names(names), "promote", progress, reader)


def demote(
    lab: RemoteLab,
    names: str | Sequence[str],
    *,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> StepResult:
    """Make nodes workers: ``docker node demote <node>`` (raises as :func:`promote`)."""
    return _change_roles(lab, _names(names), "demote", progress, reader)


def swarm_roles(
    lab: RemoteLab, *, progress: Progress = quiet, reader: SwarmReader | None = None
) -> StepResult:
    """Give every node the role the lab defines (promote or demote where they differ)."""
    members = _members(lab)
    inside = {name: m for name, m in members.items() if m.active}
    rec = StepRecorder("swarm_roles", progress)
    if not inside:
        return rec.result()
    reader = reader_for(lab, reader)
    roles = _recorded_roles(lab, reader, members, progress)
    role_of = {name: roles.get(m.node_id, m.role) for name, m in inside.items()}
    to_promote = [n.name for n in lab.managers if role_of.get(n.name) == "worker"]
    to_demote = [n.name for n in lab.workers if role_of.get(n.name) == "manager"]
    if to_promote:
        for change in promote(lab, to_promote, progress=progress, reader=reader).nodes:
            rec.changed(change.node, change.detail)
    if to_demote:
        for change in demote(lab, to_demote, progress=progress, reader=reader).nodes:
            rec.changed(change.node, change.detail)
    for name, role in role_of.items():
        rec.unchanged(name, f"role {role} as the lab says")
    return rec.result()
