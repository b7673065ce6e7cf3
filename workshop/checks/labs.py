"""The graded labs (``labs/``): one check per lab, one part per thing the task asks.

Each ``lab_XX(lab)`` reads the lab's real state and returns a combined
:class:`CheckResult` whose details are the task's parts, each failing with its own
hint (the docker or gluster command first). A lab that cannot be read (no swarm, a
node off) fails every part it could not see, with that part's hint: a check never
raises for the lab's sake. ``workshop.checks.LAB_CHECKS`` names them for ``workshop grade``;
the stack labs (07, 08) are in :mod:`~workshop.checks.labs_stacks`.

The swarm labs' decisions are pure functions of what was read (``lab_03_parts``...),
unit-tested on outputs recorded from the real lab.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from workshop.checks.result import CheckResult, check_all, name_list
from workshop.checks.storage import gluster_healed
from workshop.errors import WorkshopError
from workshop.remote import RemoteLab
from workshop.steps.commands import sh
from workshop.steps.gluster import gluster_mounts, gluster_volume_info, unmounted
from workshop.swarm import Service, SwarmNode, SwarmReader

__all__ = [
    "Part",
    "check_parts",
    "lab_03",
    "lab_03_parts",
    "lab_04",
    "lab_04_parts",
    "lab_05",
    "lab_09",
    "lab_09_parts",
    "verdict",
]

LAB03_MANAGERS = 3
LAB04_SERVICE = "lab04"
LAB04_REPLICAS = 6
LAB04_DRAINED = "node-3"
LAB05_VOLUME = "lab05"
LAB05_MOUNT = "/mnt/lab05"
LAB05_PROOF = f"{LAB05_MOUNT}/proof.txt"
LAB05_OUTAGE = f"{LAB05_MOUNT}/outage.txt"
LAB05_OFF = "node-3"

Part = tuple[str, str]  # (name, hint)


def verdict(part: Part, problem: str, ok: str) -> CheckResult:
    """A part passes when there is no ``problem``; else it fails with the part's hint."""
    name, hint = part
    if problem:
        return CheckResult(name, False, problem, hint)
    return CheckResult(name, True, ok)


def _join(*problems: object) -> str:
    """The problems found (falsy ones skipped), as one message."""
    return "; ".join(str(p) for p in problems if p)


def _unreadable(title: str, parts: Sequence[Part], exc: WorkshopError) -> CheckResult:
    """Every part failed: the lab could not be read (each keeps its own hint)."""
    said = f"could not check: {str(exc).splitlines()[0]}"
    return check_all(title, [CheckResult(name, False, said, hint) for name, hint in parts])


ServiceParts = Callable[[Sequence[SwarmNode], Service | None, Mapping[str, int]], list[CheckResult]]


def _service_lab(
    lab: RemoteLab, title: str, parts: Sequence[Part], name: str, judge: ServiceParts
) -> CheckResult:
    """A lab judged on the swarm's nodes, the service ``name`` and its running tasks per node."""
    try:
        reader = SwarmReader(lab)
        nodes = reader.nodes()
        service = next((s for s in reader.services() if s.name == name), None)
        counts = dict(reader.replica_distribution(name)) if service else {}
    except WorkshopError as exc:
        return _unreadable(title, parts, exc)
    return check_all(title, judge(nodes, service, counts))


def _strength(service: Service | None, name: str, replicas: int) -> str:
    """What keeps ``service`` from running ``replicas`` replicated tasks, or ""."""
    if service is None:
        return f"there is no service {name!r}"
    if service.mode != "replicated" or service.replicas_desired != replicas:
        return f"{service.mode} service, {service.replicas_desired} replicas wanted"
    if not service.converged:
        return f"only {service.replicas_running} of {replicas} tasks are running"
    return ""


# --- lab 03: a swarm of three managers -------------------------------------------
LAB03_TITLE = "lab 03: one swarm of three managers"
LAB03 = (
    (
        "every node is in one swarm and Ready",
        "`docker swarm init --advertise-addr <node-1 address>` on node-1, then "
        "`docker swarm join --token <token> <node-1 address>:2377` on the others "
        "(`docker swarm join-token manager` prints the token); steps.join_token(lab, 'manager')",
    ),
    (
        f"{LAB03_MANAGERS} managers and no worker",
        "`docker node promote node-3` on a manager (or join with the manager token); "
        "`docker node ls` shows the roles",
    ),
    (
        "one leader, every manager reachable",
        "`docker node ls` on node-1: MANAGER STATUS shows one Leader and the others Reachable",
    ),
    (
        "every node advertises its lab address",
        "`docker node inspect --format '{{.Status.Addr}}' node-2` shows it; on a node that "
        "advertises another: `docker swarm leave --force`, then `docker swarm join "
        "--advertise-addr <its lab address> ...`",
    ),
)


def lab_03_parts(nodes: Sequence[SwarmNode], addresses: Mapping[str, str]) -> list[CheckResult]:
    """Lab 03's parts, judged on the swarm's nodes (``docker node ls``, ``node inspect``).

    Args:
        nodes: The swarm's nodes, with the addresses they advertise.
        addresses: The lab's machines: name -> lab address.
    """
    in_swarm = {n.hostname for n in nodes}
    outside = [name for name in addresses if name not in in_swarm]
    elsewhere = [
        f"{n.hostname} advertises {n.address or 'nothing'}, not {addresses[n.hostname]}"
        for n in nodes
        if n.hostname in addresses and n.address != addresses[n.hostname]
    ]
    not_ready = [f"{n.hostname} ({n.status})" for n in nodes if n.status != "ready"]
    members = _join(
        outside and f"not in the swarm: {name_list(outside)}",
        not_ready and f"not ready: {', '.join(not_ready)}",
    )
    managers = [n for n in nodes if n.is_manager]
    workers = [n.hostname for n in nodes if not n.is_manager]
    roles = ""
    if len(managers) != LAB03_MANAGERS or workers:
        roles = f"{len(managers)} managers; workers: {name_list(workers)}"
    leaders = [n.hostname for n in managers if n.is_leader]
    lost = [n.hostname for n in managers if not n.is_reachable_manager]
    quorum = _join(
        "" if leaders else "no leader",
        len(leaders) > 1 and f"several leaders: {name_list(leaders)}",
        lost and f"unreachable: {name_list(lost)}",
    )
    return [
        verdict(LAB03[0], members, f"{name_list(sorted(in_swarm))} are in, all Ready"),
        verdict(LAB03[1], roles, f"managers: {name_list([n.hostname for n in managers])}"),
        verdict(LAB03[2], quorum, f"leader: {name_list(leaders)}, the others Reachable"),
        verdict(LAB03[3], "; ".join(elsewhere), "each its lab address"),
    ]


def lab_03(lab: RemoteLab) -> CheckResult:
    """Lab 03: every node in one swarm, all three managers, one leader."""
    try:
        nodes = SwarmReader(lab).nodes()
    except WorkshopError as exc:
        return _unreadable(LAB03_TITLE, LAB03, exc)
    return check_all(LAB03_TITLE, lab_03_parts(nodes, {n.name: n.address for n in lab.nodes}))


# --- lab 04: six replicas with node-3 drained ------------------------------------
LAB04_TITLE = f"lab 04: {LAB04_REPLICAS} replicas of {LAB04_SERVICE}, {LAB04_DRAINED} drained"
LAB04 = (
    (
        f"{LAB04_DRAINED} is drained, the other nodes active",
        f"`docker node update --availability drain {LAB04_DRAINED}` (and `--availability "
        "active` for the others); steps.node_availability(lab, ...)",
    ),
    (
        f"{LAB04_SERVICE} runs {LAB04_REPLICAS} replicas",
        f"`docker service create --name {LAB04_SERVICE} --replicas {LAB04_REPLICAS} "
        f"--no-resolve-image 127.0.0.1:5000/workshop/web:latest` or `docker service scale "
        f"{LAB04_SERVICE}={LAB04_REPLICAS}`",
    ),
    (
        f"its tasks spread evenly, none on {LAB04_DRAINED}",
        f"`docker service ps {LAB04_SERVICE}` shows where they run; `docker service update "
        f"--force {LAB04_SERVICE}` spreads them again",
    ),
)


def lab_04_parts(
    nodes: Sequence[SwarmNode], service: Service | None, counts: Mapping[str, int]
) -> list[CheckResult]:
    """Lab 04's parts, judged on the swarm's nodes, the service and its tasks per node."""
    wrong = [
        f"{n.hostname} is {n.availability}"
        for n in nodes
        if (n.availability == "drain") != (n.hostname == LAB04_DRAINED)
    ]
    if LAB04_DRAINED not in {n.hostname for n in nodes}:
        wrong.append(f"{LAB04_DRAINED} is not in the swarm")
    replicas = _strength(service, LAB04_SERVICE, LAB04_REPLICAS)
    others = [n.hostname for n in nodes if n.hostname != LAB04_DRAINED]
    share = LAB04_REPLICAS // max(1, len(others))
    uneven = counts.get(LAB04_DRAINED, 0) > 0 or any(counts.get(n, 0) != share for n in others)
    seen = ", ".join(f"{node} {count}" for node, count in counts.items()) or "no task"
    spread = f"tasks per node: {seen}" if uneven or service is None else ""
    return [
        verdict(LAB04[0], "; ".join(wrong), f"{LAB04_DRAINED} drained, {name_list(others)} active"),
        verdict(LAB04[1], replicas, f"{LAB04_REPLICAS}/{LAB04_REPLICAS} running"),
        verdict(LAB04[2], spread, f"tasks per node: {seen}"),
    ]


def lab_04(lab: RemoteLab) -> CheckResult:
    """Lab 04: ``lab04`` runs 6 replicas, 3 on node-1, 3 on node-2, none on drained node-3."""
    return _service_lab(lab, LAB04_TITLE, LAB04, LAB04_SERVICE, lab_04_parts)


# --- lab 05: a replicated volume that outlives a node ----------------------------
LAB05_TITLE = f"lab 05: volume {LAB05_VOLUME}, readable with {LAB05_OFF} off"
LAB05 = (
    (
        f"volume {LAB05_VOLUME}: started, replica 3, one brick per node",
        f"`gluster volume create {LAB05_VOLUME} replica 3 gluster-1:/data/bricks/{LAB05_VOLUME}"
        f"/brick gluster-2:... gluster-3:... force`, then `gluster volume start {LAB05_VOLUME}`",
    ),
    (
        f"mounted at {LAB05_MOUNT} on every node",
        f"`mkdir -p {LAB05_MOUNT} && mount -t glusterfs localhost:/{LAB05_VOLUME} "
        f"{LAB05_MOUNT}` on each node; `findmnt {LAB05_MOUNT}` shows it",
    ),
    (
        f"{LAB05_PROOF} reads the same on every node",
        f"`echo ... > {LAB05_PROOF}` on node-1, then `cat {LAB05_PROOF}` on every node",
    ),
    (
        f"{LAB05_OUTAGE} was written while {LAB05_OFF} was off",
        f"`cat {LAB05_PROOF} > {LAB05_OUTAGE}` on node-2 while {LAB05_OFF} is powered off "
        f"(lab.halt('{LAB05_OFF}')), then power it on again (lab.start('{LAB05_OFF}'))",
    ),
)


def _volume_problem(lab: RemoteLab) -> str:
    first = lab.nodes[0].name
    info = gluster_volume_info(lab, first, LAB05_VOLUME)
    if info is None:
        return f"there is no volume {LAB05_VOLUME!r}"
    hosts = {brick.host for brick in info.bricks}
    if info.type != "Replicate" or info.replica_count != 3 or len(hosts) != len(info.bricks):
        where = name_list(sorted(hosts))
        return f"{info.type} volume, replica {info.replica_count}, bricks on {where}"
    if len(info.bricks) != len(lab.nodes):
        return f"{len(info.bricks)} bricks for {len(lab.nodes)} nodes"
    return "" if info.started else f"volume is {info.status}"


def _same_everywhere(lab: RemoteLab, path: str) -> str:
    """Empty when ``path`` reads, non-empty and the same, on every node; else what differs."""
    read = lab.run(sh("cat", path), sudo=True, timeout=30)
    texts = {r.node: r.stdout.strip() for r in read if not r.failed and r.stdout.strip()}
    missing = [r.node for r in read if r.node not in texts]
    if missing:
        return f"cannot read it on {name_list(missing)}"
    return "" if len(set(texts.values())) == 1 else "it reads differently on some nodes"


def _written_while_off(lab: RemoteLab) -> str:
    """Empty when the outage file is older than the powered-off node's last start."""
    age = f"echo $(( $(date +%s) - $(ps -o etimes= -p 1) )) $(stat -c %Y {sh(LAB05_OUTAGE)})"
    answer = lab.run(age, on=LAB05_OFF, sudo=True, timeout=30)[LAB05_OFF]
    if answer.failed:
        return f"cannot read it on {LAB05_OFF}: {(answer.error or answer.stderr).strip()[:80]}"
    started, written = (int(word) for word in answer.stdout.split()[:2])
    if written >= started:
        return f"written after {LAB05_OFF} last started: was {LAB05_OFF} off then?"
    return _same_everywhere(lab, LAB05_OUTAGE)


def check_parts(part: Part, problem: Callable[[], str], ok: str) -> CheckResult:
    """A part judged by a probe; the probe failing (a node down) fails the part."""
    try:
        return verdict(part, problem(), ok)
    except (WorkshopError, ValueError) as exc:  # ValueError: an answer that did not parse
        return verdict(part, f"could not check: {str(exc).splitlines()[0]}", ok)


def _mount_problem(lab: RemoteLab) -> str:
    missing = unmounted(gluster_mounts(lab, LAB05_MOUNT), LAB05_VOLUME)
    return f"not mounted on {name_list(missing)}" if missing else ""


def lab_05(lab: RemoteLab) -> CheckResult:
    """Lab 05: a replica-3 volume on every node, a shared file, one written during an outage."""
    parts = [
        check_parts(LAB05[0], lambda: _volume_problem(lab), "started, 1 x 3 = 3 bricks"),
        check_parts(LAB05[1], lambda: _mount_problem(lab), "on every node"),
        check_parts(LAB05[2], lambda: _same_everywhere(lab, LAB05_PROOF), "the same on every node"),
        check_parts(
            LAB05[3], lambda: _written_while_off(lab), f"older than {LAB05_OFF}'s last start"
        ),
        gluster_healed(lab, LAB05_VOLUME),
    ]
    return check_all(LAB05_TITLE, parts)


# --- lab 09: full strength through a drain and a manager's loss ---------------------
LAB09_SERVICE = "lab09"
LAB09_REPLICAS = 4
LAB09_DRAINED = "node-3"
LAB09_TITLE = f"lab 09: {LAB09_SERVICE} at full strength, a manager off, {LAB09_DRAINED} drained"
LAB09 = (
    (
        "a manager is powered off and the others still have a leader",
        "`docker node promote node-3` before powering a manager off (three managers: two keep "
        "a majority), then lab.halt('node-2'); `docker node ls` shows the leader",
    ),
    (
        f"{LAB09_DRAINED} is drained",
        f"`docker node update --availability drain {LAB09_DRAINED}`",
    ),
    (
        f"{LAB09_SERVICE} runs {LAB09_REPLICAS} of {LAB09_REPLICAS} tasks on nodes that are up",
        f"`docker service create --name {LAB09_SERVICE} --replicas {LAB09_REPLICAS} "
        f"--no-resolve-image 127.0.0.1:5000/workshop/web:latest`; `docker service ps "
        f"{LAB09_SERVICE}` shows where its tasks run",
    ),
)


def lab_09_parts(
    nodes: Sequence[SwarmNode], service: Service | None, counts: Mapping[str, int]
) -> list[CheckResult]:
    """Lab 09's parts, judged on the swarm's nodes, the service and its running tasks."""
    managers = [n for n in nodes if n.is_manager]
    off = [n.hostname for n in managers if n.status != "ready"]
    leaders = [n.hostname for n in managers if n.is_leader and n.status == "ready"]
    quorum = (
        "" if off and leaders else f"managers down: {name_list(off)}, leader: {name_list(leaders)}"
    )
    drained = next((n for n in nodes if n.hostname == LAB09_DRAINED), None)
    drain = "" if drained and drained.availability == "drain" else f"{LAB09_DRAINED} is not drained"
    # `docker service ls` still counts the tasks of a node that is down as running: count
    # the tasks the swarm wants running on nodes that are up.
    up = {n.hostname for n in nodes if n.status == "ready"}
    running = sum(count for node, count in counts.items() if node in up)
    drained_tasks = counts.get(LAB09_DRAINED, 0)
    if service is None or service.mode != "replicated":
        strength = f"there is no replicated service {LAB09_SERVICE!r}"
    elif service.replicas_desired != LAB09_REPLICAS:
        strength = f"{service.replicas_desired} replicas wanted"
    elif running != LAB09_REPLICAS or drained_tasks:
        strength = (
            f"{running} tasks running on nodes that are up, {drained_tasks} on {LAB09_DRAINED}"
        )
    else:
        strength = ""
    seen = ", ".join(f"{node} {count}" for node, count in counts.items()) or "no task"
    return [
        verdict(LAB09[0], quorum, f"{name_list(off)} off; {name_list(leaders)} leads"),
        verdict(LAB09[1], drain, f"{LAB09_DRAINED} drained"),
        verdict(LAB09[2], strength, f"tasks per node: {seen}"),
    ]


def lab_09(lab: RemoteLab) -> CheckResult:
    """Lab 09: ``lab09`` keeps 4 tasks running with node-3 drained and a manager off."""
    return _service_lab(lab, LAB09_TITLE, LAB09, LAB09_SERVICE, lab_09_parts)
