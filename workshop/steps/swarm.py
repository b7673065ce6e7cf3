"""Chapter 03: create the swarm, join nodes, wait for it, take it apart.

``swarm_init`` runs ``docker swarm init --advertise-addr <lab address>`` on the first
manager; ``swarm_join`` reads the join tokens from a manager and joins the other
nodes: managers one at a time (each must be reachable before the next joins, so the
Raft group never loses quorum), workers all at once. A token is passed to the node
on standard input, never on a command line, and every text the kit shows masks it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from workshop.errors import NodeUnreachable, NotConverged, UsageError, WorkshopError
from workshop.lab import Node, Results
from workshop.remote import RemoteLab
from workshop.secrets import mask_secrets
from workshop.steps.report import StepResult
from workshop.steps.shell import Progress, StepRecorder, check_nodes, quiet, run_checked, sh

__all__ = [
    "JoinToken",
    "SwarmMember",
    "active_manager",
    "join_token",
    "swarm_healthy",
    "swarm_init",
    "swarm_join",
    "swarm_members",
    "swarm_reset",
    "swarm_wait",
    "wait_leader",
    "wait_reachable",
]

SWARM_PORT = 2377
JOIN_TIMEOUT = 120.0
#: Seconds a new manager has to become reachable before the next one joins.
REACHABLE_TIMEOUT = 90.0
#: Seconds to wait for a leader (an election after a manager restarts takes ~30 s).
LEADER_TIMEOUT = 90.0
ROLES = ("manager", "worker")
#: Swarm states of a node that is in a swarm but not settled in it.
UNSETTLED = ("pending", "error", "locked")


@dataclass(frozen=True)
class JoinToken:
    """A swarm join token: usable by the kit, masked whenever it is shown.

    Attributes:
        role: ``manager`` or ``worker``.
        manager: Address and port of the manager that gave it (``host:2377``).
    """

    role: str
    manager: str
    _token: str

    @property
    def secret(self) -> str:
        """The full token. Pass it on, never print it."""
        return self._token

    def __str__(self) -> str:
        return mask_secrets(self._token)

    def __repr__(self) -> str:
        return f"JoinToken(role={self.role!r}, manager={self.manager!r}, token={self!s})"


@dataclass(frozen=True)
class SwarmMember:
    """What one node says about its own swarm membership (``docker info``)."""

    node: str
    state: str
    node_id: str
    is_manager: bool

    @property
    def active(self) -> bool:
        """Whether the node is in a swarm."""
        return self.state == "active"


def swarm_members(lab: RemoteLab, on: str | Iterable[str] = "all") -> dict[str, SwarmMember]:
    """Node -> its own view of its swarm membership."""
    probe = sh("docker", "info", "--format", "{{json .Swarm}}")
    out = check_nodes(lab, probe + " 2>/dev/null || echo '{}'", on)
    members = {}
    for node, text in out.items():
        try:
            info = json.loads(text or "{}")
        except json.JSONDecodeError:
            info = {}
        members[node] = SwarmMember(
            node=node,
            state=str(info.get("LocalNodeState") or "no docker"),
            node_id=str(info.get("NodeID") or ""),
            is_manager=bool(info.get("ControlAvailable")),
        )
    return members


def _node_ls(lab: RemoteLab, manager: str) -> list[dict[str, str]]:
    out = run_checked(lab, sh("docker", "node", "ls", "--format", "{{json .}}"), [manager])
    return [json.loads(line) for line in out.stdout[manager].splitlines() if line.strip()]


def _active_manager(lab: RemoteLab, members: dict[str, SwarmMember]) -> Node | None:
    """A running node that is an active manager: the leader if it can be told."""
    managers = [lab.node(m.node) for m in members.values() if m.active and m.is_manager]
    for node in managers:
        try:
            rows = _node_ls(lab, node.name)
        except WorkshopError:
            continue
        leader_ids = {r["ID"] for r in rows if r.get("ManagerStatus") == "Leader"}
        for candidate in managers:
            if members[candidate.name].node_id in leader_ids:
                return candidate
        return node
    return None


def active_manager(lab: RemoteLab) -> Node:
    """A running node that is a manager of the swarm now (the lab's first such one).

    Raises:
        NotConverged: No running node is a swarm manager (no swarm, or no quorum).
    """
    running = [n.name for n in lab.managers if n.running]
    members = swarm_members(lab, running) if running else {}
    for name in running:
        if members[name].active and members[name].is_manager:
            return lab.node(name)
    others = [n.name for n in lab.workers if n.running]
    members = swarm_members(lab, others) if others else {}
    for name in others:
        if members[name].active and members[name].is_manager:
            return lab.node(name)
    raise NotConverged(
        "no running node is a swarm manager: create the swarm first (lab.require('swarm')), "
        "or start the stopped managers so that the swarm has a quorum"
    )


def wait_leader(lab: RemoteLab, members: dict[str, SwarmMember], progress: Progress) -> Node:
    """A manager that answers for the swarm; waits while a leader is being elected."""
    if not any(m.active and m.is_manager for m in members.values()):
        raise NotConverged("no node is a swarm manager yet: run swarm_init(lab) first")
    deadline = time.monotonic() + LEADER_TIMEOUT
    while True:
        leader = _active_manager(lab, members)
        if leader is not None:
            return leader
        if time.monotonic() > deadline:
            raise NotConverged(
                "no swarm manager answers: the swarm has no leader (too few managers up?)",
                timeout=LEADER_TIMEOUT,
            )
        progress("swarm: waiting for a leader")
        time.sleep(2)
        members = swarm_members(lab, list(members))


def join_token(lab: RemoteLab, role: str) -> JoinToken:
    """The join token for ``role``, read from a manager (shown masked).

    The real command: ``docker swarm join-token -q worker``.

    Raises:
        UsageError: ``role`` is not manager or worker.
        NotConverged: No node is an active manager yet (run ``swarm_init``).
    """
    if role not in ROLES:
        raise UsageError.choice("swarm role", role, ROLES)
    manager = wait_leader(lab, swarm_members(lab, [n.name for n in lab.nodes if n.running]), quiet)
    out = run_checked(lab, sh("docker", "swarm", "join-token", "-q", role), [manager.name])
    return JoinToken(role, f"{manager.address}:{SWARM_PORT}", out.stdout[manager.name])


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
    """
    rec = StepRecorder("swarm_init", progress)
    node = lab.node(on) if on else next((n for n in lab.managers if n.running), None)
    if node is None:
        raise NodeUnreachable("managers", None, "no manager of the lab is running")
    members = swarm_members(lab, [n.name for n in lab.nodes if n.running])
    existing = [m for m in members.values() if m.active and m.is_manager]
    if existing:
        rec.unchanged(node.name, f"swarm already exists (manager: {existing[0].node})")
        return rec.result()
    unsettled = [f"{m.node} is {m.state}" for m in members.values() if m.state in UNSETTLED]
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


def _join(lab: RemoteLab, nodes: Sequence[Node], token: JoinToken) -> None:
    """Join nodes at once, each with the token on stdin (never on the command line)."""

    def join_one(node: Node) -> Results:
        command = 'read -r token && exec docker swarm join --token "$token" ' + sh(
            "--advertise-addr", node.address, token.manager
        )
        return lab.run(
            command, on=[node.name], sudo=True, timeout=JOIN_TIMEOUT, stdin=token.secret + "\n"
        )

    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        for results in pool.map(join_one, nodes):
            results.raise_for_failures()


def wait_reachable(lab: RemoteLab, manager: Node, node_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    rows: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        rows = _node_ls(lab, manager.name)
        if any(
            r["ID"] == node_id and r.get("ManagerStatus") in ("Reachable", "Leader") for r in rows
        ):
            return
        time.sleep(1)
    raise NotConverged(
        f"manager {node_id[:12]} is not reachable in the swarm",
        timeout=timeout,
        last_seen="\n".join(json.dumps(r) for r in rows),
    )


def swarm_join(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Join every running node that is not in the swarm yet, with the lab's role.

    The real commands: ``docker swarm join-token -q manager`` on a manager, then
    ``docker swarm join --token <token> <manager>:2377`` on the node.
    """
    rec = StepRecorder("swarm_join", progress)
    running = [n for n in lab.nodes if n.running]
    members = swarm_members(lab, [n.name for n in running])
    outside = [n for n in running if not members[n.name].active]
    if not outside:
        for node in running:
            role = "manager" if members[node.name].is_manager else "worker"
            rec.unchanged(node.name, f"already in the swarm ({role})")
        return rec.result()
    leader = wait_leader(lab, members, progress)
    managers = [n for n in outside if n.is_manager]
    workers = [n for n in outside if not n.is_manager]
    if managers:
        token = join_token(lab, "manager")
        for node in managers:  # one at a time: quorum stays intact
            rec.say(f"{node.name} joins as a manager")
            _join(lab, [node], token)
            node_id = swarm_members(lab, [node.name])[node.name].node_id
            wait_reachable(lab, leader, node_id, REACHABLE_TIMEOUT)
            rec.changed(node.name, f"joined as a manager via {token.manager}")
    if workers:
        token = join_token(lab, "worker")
        rec.say(f"{', '.join(n.name for n in workers)} join as workers")
        _join(lab, workers, token)
        rec.changed([n.name for n in workers], f"joined as a worker via {token.manager}")
    _remove_stale(lab, leader, rec)
    for node in running:
        role = "manager" if members[node.name].is_manager else "worker"
        rec.unchanged(node.name, f"already in the swarm ({role})")
    return rec.result()


def _remove_stale(lab: RemoteLab, manager: Node, rec: StepRecorder) -> None:
    """Remove `Down` entries left by lab nodes that joined again under a new ID."""
    if any(not n.running for n in lab.nodes):
        return
    current = {m.node_id for m in swarm_members(lab).values()}
    for row in _node_ls(lab, manager.name):
        if row["Hostname"] in lab.names and row["ID"] not in current and row["Status"] == "Down":
            run_checked(lab, sh("docker", "node", "rm", "--force", row["ID"]), [manager.name])
            rec.note(f"removed a stale entry {row['ID'][:12]} of {row['Hostname']}")


def swarm_healthy(lab: RemoteLab) -> bool:
    """Every node is in one swarm, with the role the lab gives it, Ready, and there is a leader."""
    members = swarm_members(lab)
    if not all(m.active for m in members.values()):
        return False
    if any(members[n.name].is_manager != n.is_manager for n in lab.nodes):
        return False
    manager = next(m for m in members.values() if m.is_manager)
    try:
        rows = _node_ls(lab, manager.node)
    except WorkshopError:
        return False
    ready = {r["ID"] for r in rows if r.get("Status") == "Ready"}
    has_leader = any(r.get("ManagerStatus") == "Leader" for r in rows)
    return has_leader and all(m.node_id in ready for m in members.values())


def swarm_wait(lab: RemoteLab, *, timeout: float = 120.0, progress: Progress = quiet) -> StepResult:
    """Wait until the swarm is healthy (after a reboot a leader takes a while to be elected)."""
    rec = StepRecorder("swarm_wait", progress)
    deadline = time.monotonic() + timeout
    while not swarm_healthy(lab):
        if time.monotonic() > deadline:
            manager = active_manager(lab)
            rows = lab.run(sh("docker", "node", "ls"), on=[manager.name], sudo=True, timeout=30)
            raise NotConverged(
                "the swarm is not healthy: every node Ready, roles as the lab says, a leader",
                timeout=timeout,
                last_seen=rows.stdout.get(manager.name, ""),
            )
        rec.say("waiting for every node to be Ready under a leader")
        time.sleep(2)
    rec.unchanged(lab.names, "in the swarm and Ready")
    return rec.result()


def swarm_reset(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Take the swarm apart: every node leaves (``docker swarm leave --force``).

    Workers leave first, all at once; then managers, one at a time.
    """
    rec = StepRecorder("swarm_reset", progress)
    members = swarm_members(lab, [n.name for n in lab.nodes if n.running])
    inside = [m for m in members.values() if m.state not in ("inactive", "no docker")]
    leave = sh("docker", "swarm", "leave", "--force")
    workers = [m.node for m in inside if not m.is_manager]
    if workers:
        run_checked(lab, leave, workers, timeout=JOIN_TIMEOUT)
        rec.changed(workers, "left the swarm")
    for member in inside:
        if member.is_manager:
            run_checked(lab, leave, [member.node], timeout=JOIN_TIMEOUT)
            rec.changed(member.node, "left the swarm (was a manager)")
    for name in members:
        rec.unchanged(name, "not in a swarm")
    return rec.result()
