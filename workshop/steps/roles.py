"""Chapters 03 and 09: node roles. Promote workers, demote managers, restore the lab's.

Roles are read from the swarm's own record (``docker node inspect``, ``.Spec.Role``)
on a manager, since a node's own view lags behind for a few seconds. A promoted
node must become a reachable Raft member before the next change, so each promotion
waits for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from workshop.errors import UsageError
from workshop.remote import RemoteLab
from workshop.steps.report import StepResult
from workshop.steps.shell import Progress, StepRecorder, quiet, run_checked, sh
from workshop.steps.swarm import REACHABLE_TIMEOUT, swarm_members, wait_leader, wait_reachable

__all__ = ["demote", "promote", "swarm_roles"]


def _change_roles(
    lab: RemoteLab, names: Sequence[str], action: str, progress: Progress
) -> StepResult:
    rec = StepRecorder(action, progress)
    wanted_manager = action == "promote"
    members = swarm_members(lab, [n.name for n in lab.nodes if n.running])
    for name in names:
        lab.node(name)  # UnknownNode before anything changes
        if name not in members or not members[name].active:
            raise UsageError(f"{name} is not in the swarm (or not running): join it first")
    leader = wait_leader(lab, members, progress)
    ids = [members[name].node_id for name in names]
    fmt = "{{.ID}} {{.Spec.Role}}"
    out = run_checked(lab, sh("docker", "node", "inspect", "--format", fmt, *ids), [leader.name])
    roles = dict(line.split() for line in out.stdout[leader.name].splitlines() if line.strip())
    wanted = "manager" if wanted_manager else "worker"
    for name in names:
        node_id = members[name].node_id
        if roles.get(node_id) == wanted:
            rec.unchanged(name, f"already a {wanted}")
            continue
        run_checked(lab, sh("docker", "node", action, node_id), [leader.name])
        if wanted_manager:
            wait_reachable(lab, leader, node_id, REACHABLE_TIMEOUT)
        rec.changed(name, f"{action}d (docker node {action} {name})")
    return rec.result()


def promote(
    lab: RemoteLab, names: str | Sequence[str], *, progress: Progress = quiet
) -> StepResult:
    """Make nodes managers: ``docker node promote <node>`` on a manager."""
    return _change_roles(
        lab, [names] if isinstance(names, str) else list(names), "promote", progress
    )


def demote(lab: RemoteLab, names: str | Sequence[str], *, progress: Progress = quiet) -> StepResult:
    """Make nodes workers: ``docker node demote <node>`` on a manager."""
    return _change_roles(
        lab, [names] if isinstance(names, str) else list(names), "demote", progress
    )


def swarm_roles(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Give every node the role the lab defines (promote or demote where they differ)."""
    members = swarm_members(lab, [n.name for n in lab.nodes if n.running])
    to_promote = [
        n.name for n in lab.managers if n.name in members and not members[n.name].is_manager
    ]
    to_demote = [n.name for n in lab.workers if n.name in members and members[n.name].is_manager]
    rec = StepRecorder("swarm_roles", progress)
    if to_promote:
        for change in promote(lab, to_promote, progress=progress).nodes:
            rec.changed(change.node, change.detail)
    if to_demote:
        for change in demote(lab, to_demote, progress=progress).nodes:
            rec.changed(change.node, change.detail)
    for name, member in members.items():
        rec.unchanged(name, f"role {'manager' if member.is_manager else 'worker'} as the lab says")
    return rec.result()
