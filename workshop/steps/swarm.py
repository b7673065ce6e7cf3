"""Chapter 03: create the swarm, join nodes, wait for it, take it apart.

``swarm_init`` runs ``docker swarm init --advertise-addr <lab address>`` on the first
manager; ``swarm_join`` reads the join tokens from a manager and joins the other
nodes: managers one at a time (each must be reachable before the next joins, so the
Raft group never loses quorum), workers all at once.

A join does what ``docker swarm join --token <token> <manager>:2377`` does, through
the node's own Docker API with the token on standard input, so that it never
appears in a process list (:mod:`workshop.steps.joining`); every text the kit
shows masks it. A node stuck half-way into a swarm leaves and joins again.

Whether a node is in the swarm is what the node says of itself (``docker info``);
roles, readiness and the leader are read from the swarm's record through
:class:`~workshop.swarm.read.SwarmReader` (see :mod:`workshop.steps.members`).
"""

from __future__ import annotations

from dataclasses import dataclass

from workshop.errors import NodeUnreachable, NotConverged, WorkshopError
from workshop.lab import Node
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.commands import sh
from workshop.steps.fanout import run_checked
from workshop.steps.joining import (
    JOIN_TIMEOUT,
    SWARM_PORT,
    JoinToken,
    join_nodes,
    join_token,
    leave_stuck,
    stuck_nodes,
)
from workshop.steps.members import (
    REACHABLE_TIMEOUT,
    answering_manager,
    describe_nodes,
    reader_for,
    swarm_members,
    swarm_needed,
    wait_leader,
    wait_reachable,
)
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult
from workshop.swarm.info import SwarmInfo
from workshop.swarm.models import SwarmNode
from workshop.swarm.read import SwarmReader

__all__ = [
    "JoinToken",
    "SwarmHealth",
    "active_manager",
    "join_token",
    "swarm_health",
    "swarm_healthy",
    "swarm_init",
    "swarm_join",
    "swarm_members",
    "swarm_reset",
    "swarm_wait",
]


def _running(lab: RemoteLab) -> list[str]:
    return [n.name for n in lab.nodes if n.running]


def active_manager(lab: RemoteLab, *, reader: SwarmReader | None = None) -> Node:
    """A running node that answers for the swarm now, chosen by :class:`SwarmReader`.

    Raises:
        NotReady: No manager answers (no swarm yet, or too few managers running).
    """
    reader = reader_for(lab, reader)
    with swarm_needed():
        reader.nodes()
    return lab.node(answering_manager(reader))


def swarm_init(
    lab: RemoteLab,
    *,
    on: str | None = None,
    advertise_address: str | None = None,
    progress: Progress = quiet,
) -> StepResult:
    """Create the swarm on one manager, unless some node is already in a swarm.

    The real command: ``docker swarm init --advertise-addr <lab address>``.

    Args:
        lab: The lab.
        on: The node to initialise (default: the first running manager).
        advertise_address: The address other nodes use (default: its lab address).
        progress: Called with a line of text now and then.

    Raises:
        NotConverged: A node is in a swarm it has not settled in (joining, locked).
    """
    rec = StepRecorder("swarm_init", progress)
    node = lab.node(on) if on else next((n for n in lab.managers if n.running), None)
    if node is None:
        raise NodeUnreachable("managers", None, "no manager of the lab is running")
    members = swarm_members(lab, _running(lab))
    existing = [name for name, m in members.items() if m.is_manager]
    if existing:
        rec.unchanged(node.name, f"swarm already exists (manager: {existing[0]})")
        return rec.result()
    unsettled = [f"{name} is {m.state}" for name, m in members.items() if m.unsettled]
    if unsettled:
        # Never start a second swarm beside one that is only recovering.
        raise NotConverged(
            f"not creating a swarm while {', '.join(unsettled)}: wait, then try again"
        )
    address = advertise_address or node.address
    rec.say(f"docker swarm init on {node.name} ({address})")
    run_checked(
        lab, sh("docker", "swarm", "init", "--advertise-addr", address), [node.name], timeout=60
    )
    rec.changed(node.name, f"created the swarm, advertising {address}:{SWARM_PORT}")
    return rec.result()


def _already_in(rec: StepRecorder, lab: RemoteLab, members: dict[str, SwarmInfo]) -> None:
    """Record the nodes that were in the swarm already, with their role."""
    for name, member in members.items():
        wanted = lab.node(name).role
        if member.active:
            detail = f"already in the swarm ({member.role})"
            if member.role != wanted:
                detail += f"; the lab wants a {wanted}: swarm_roles changes it"
            rec.unchanged(name, detail)


def swarm_join(
    lab: RemoteLab, *, progress: Progress = quiet, reader: SwarmReader | None = None
) -> StepResult:
    """Join every running node that is not in the swarm yet, with the lab's role.

    The real commands: ``docker swarm join-token -q manager`` on a manager, then
    ``docker swarm join --token <token> <manager>:2377`` on the node, which the kit
    sends to the node's Docker API with the token on stdin (see the module). A node
    already in the swarm is left as it is, in whatever role (``swarm_roles`` sets
    roles); a node stuck half-way leaves first (``docker swarm leave --force``).

    Raises:
        NotReady: No node is a swarm manager yet (run ``swarm_init`` first).
        CommandFailed: A node's engine refused to join (its reason is in the message).
    """
    rec = StepRecorder("swarm_join", progress)
    running = [n for n in lab.nodes if n.running]
    members = swarm_members(lab, [n.name for n in running])
    reader = reader_for(lab, reader)
    stuck = stuck_nodes(members, reader)
    outside = [n for n in running if not members[n.name].active or n.name in stuck]
    if not outside:
        _already_in(rec, lab, members)
        return rec.result()
    wait_leader(lab, reader, members, progress)
    if stuck:
        stuck = leave_stuck(lab, rec, reader, members)
        outside = [n for n in running if not members[n.name].active or n.name in stuck]
    managers = [n for n in outside if n.is_manager]
    workers = [n for n in outside if not n.is_manager]
    if managers:
        token = join_token(lab, "manager", reader=reader)
        for node in managers:  # one at a time: quorum stays intact
            joined = join_nodes(lab, rec, [node], token, stuck)
            wait_reachable(reader, joined[node.name].node_id, REACHABLE_TIMEOUT)
    if workers:
        join_nodes(lab, rec, workers, join_token(lab, "worker", reader=reader), stuck)
    _remove_stale(lab, reader, rec)
    _already_in(rec, lab, {k: v for k, v in members.items() if k not in stuck})
    return rec.result()


def _remove_stale(lab: RemoteLab, reader: SwarmReader, rec: StepRecorder) -> None:
    """Remove the entries left by lab nodes that joined again under a new ID.

    Every lab node runs and says which ID it has now, so a worker entry under a lab
    node's name with another ID is stale, even while the managers still call it
    Ready (a node that left is marked Down only when its heartbeats run out).
    Manager entries are left alone: removing one needs a demotion first.
    """
    if any(not n.running for n in lab.nodes):
        return
    current = {m.node_id for m in swarm_members(lab).values()}
    for node in reader.nodes():
        if node.hostname in lab.names and node.id not in current and not node.is_manager:
            reader.docker(["node", "rm", "--force", node.id])
            rec.note(f"removed a stale entry {node.id[:12]} of {node.hostname}")


@dataclass(frozen=True)
class SwarmHealth:
    """One look at the whole swarm: every node's own view and the swarm's record.

    Attributes:
        members: Node -> what it says of its membership.
        nodes: The swarm's record (empty when no manager answered).
        problems: What keeps the swarm from being healthy (none: healthy).
    """

    members: dict[str, SwarmInfo]
    nodes: tuple[SwarmNode, ...]
    problems: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        """Every node in one swarm with the lab's role, Ready, under a leader."""
        return not self.problems

    def __str__(self) -> str:
        return "\n".join([*self.problems, describe_nodes(self.nodes)]).strip()


def swarm_health(lab: RemoteLab, *, reader: SwarmReader | None = None) -> SwarmHealth:
    """Look at the swarm: what every node says, and what the swarm's record says."""
    members = swarm_members(lab)
    problems = [f"{name} is not in a swarm" for name, m in members.items() if not m.active]
    problems += [
        f"{n.name} is not a {n.role}"
        for n in lab.nodes
        if members[n.name].active and members[n.name].role != n.role
    ]
    nodes: list[SwarmNode] = []
    if not problems:
        try:
            nodes = reader_for(lab, reader).nodes()
        except WorkshopError as exc:
            problems.append(f"no manager answers: {exc}")
    ready = {n.id for n in nodes if n.status == "ready"}
    if nodes and not any(n.is_leader for n in nodes):
        problems.append("the swarm has no leader")
    problems += [
        f"{name} is not Ready" for name, m in members.items() if nodes and m.node_id not in ready
    ]
    return SwarmHealth(members, tuple(nodes), tuple(problems))


def swarm_healthy(lab: RemoteLab, *, reader: SwarmReader | None = None) -> bool:
    """Every node is in one swarm, with the role the lab gives it, Ready, and there is a leader."""
    return swarm_health(lab, reader=reader).healthy


def swarm_wait(
    lab: RemoteLab,
    *,
    timeout: float = 120.0,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> StepResult:
    """Wait until the swarm is healthy (after a reboot a leader takes a while to be elected).

    Raises:
        NotConverged: Not healthy after ``timeout`` seconds; says what is wrong.
    """
    rec = StepRecorder("swarm_wait", progress)
    reader = reader_for(lab, reader)

    def probe() -> SwarmHealth:
        health = swarm_health(lab, reader=reader)
        if not health.healthy:
            rec.say("waiting for every node to be Ready under a leader")
        return health

    poll_until(
        probe,
        lambda health: health.healthy,
        timeout=timeout,
        interval=2.0,
        what="the swarm (every node Ready, roles as the lab says, a leader)",
    )
    rec.unchanged(lab.names, "in the swarm and Ready")
    return rec.result()


def swarm_reset(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Take the swarm apart: every node leaves (``docker swarm leave --force``).

    Workers leave first, all at once; then managers, one at a time.
    """
    rec = StepRecorder("swarm_reset", progress)
    members = swarm_members(lab, _running(lab))
    inside = [name for name, m in members.items() if m.in_swarm]
    leave = sh("docker", "swarm", "leave", "--force")
    workers = [name for name in inside if not members[name].control_available]
    if workers:
        run_checked(lab, leave, workers, timeout=JOIN_TIMEOUT)
        rec.changed(workers, "left the swarm")
    for name in inside:
        if members[name].control_available:
            run_checked(lab, leave, [name], timeout=JOIN_TIMEOUT)
            rec.changed(name, "left the swarm (was a manager)")
    for name in members:
        rec.unchanged(name, "not in a swarm")
    return rec.result()
