"""The chapters' checks: the lab's real state, graded, with a hint when it is not right.

One function per thing a chapter builds; each returns a :class:`CheckResult` and
never raises for the lab's sake (a node that does not answer is a failed check).
Chapters end with ``checks.swarm_formed(lab).assert_passed()`` and the like.

The checks read the lab through the same code that builds it (the steps' probes
and the swarm read model), so a check and the step it grades cannot disagree.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from workshop.checks.result import CheckResult, check_all, guarded
from workshop.remote import RemoteLab
from workshop.steps.docker import docker_versions
from workshop.steps.firewall import firewall_ok
from workshop.steps.gluster import GLUSTER, MOUNT, VOLUME, gluster_ok
from workshop.steps.shell import lab_network, lab_settings, sh, shell_line
from workshop.swarm import SwarmNode, SwarmReader

#: Seconds a port probe between nodes may take.
PORT_PROBE_TIMEOUT = 3
_ENTRIES = re.compile(r"Number of entries:\s*(\S+)")


def _names(nodes: list[str]) -> str:
    return ", ".join(nodes) if nodes else "none"


# --- chapter 00 -----------------------------------------------------------------
def nodes_answer(lab: RemoteLab) -> CheckResult:
    """Every machine of the lab exists, runs and answers over SSH."""
    name = "every node answers"
    hint = "start the lab: lab.require('nodes') here, or `workshop up` in a terminal"

    def probe() -> CheckResult:
        settings = lab_settings(lab)
        expected = settings.nodes if settings is not None else len(lab.nodes)
        if len(lab.nodes) < expected or not lab.nodes:
            return CheckResult(name, False, f"{len(lab.nodes)} of {expected} machines exist", hint)
        results = lab.run("hostname", timeout=15)
        bad = [f"{r.node} ({r.error or f'exit {r.rc}'})" for r in results if r.failed]
        if bad:
            return CheckResult(name, False, "no answer from " + ", ".join(bad), hint)
        return CheckResult(
            name, True, f"{len(results)} of {expected} nodes answer: {_names(results.nodes)}"
        )

    return guarded(name, hint, probe)


def host_ready(lab: RemoteLab) -> CheckResult:
    """What ``workshop doctor`` says about this machine, one line per finding.

    Warnings (a missing ``ip_vs`` module, say) pass: the kit has a fallback for
    them, given in the line. Only a FAIL fails.
    """
    from workshop.doctor import run_doctor
    from workshop.lab import find_project
    from workshop.settings import LabSettings

    source = lab.source
    project = getattr(source, "project_dir", None) or find_project()
    settings = lab_settings(lab) or LabSettings.load(project)
    report = run_doctor(project, settings)
    details = []
    for finding in report.checks:
        message = f"{finding.status}: {finding.detail}"
        if finding.status == "warn" and finding.fix:
            message += f"; {finding.fix}"
        details.append(CheckResult(finding.name, finding.status != "fail", message, finding.fix))
    combined = check_all("this host is ready (workshop doctor)", details)
    warnings = [c.name for c in report.checks if c.status == "warn"]
    if combined.passed and warnings:
        message = f"{combined.message}; warnings: {', '.join(warnings)}"
        return CheckResult(combined.name, True, message, "", combined.details)
    return combined


# --- chapter 02 -----------------------------------------------------------------
def docker_running(lab: RemoteLab) -> CheckResult:
    """Docker Engine answers ``docker info`` on every node."""
    name = "Docker runs on every node"
    hint = "install it: steps.install_docker(lab), then look at `systemctl status docker`"

    def probe() -> CheckResult:
        versions = docker_versions(lab)
        missing = [node for node, version in versions.items() if not version]
        if missing:
            return CheckResult(name, False, f"no Docker engine answers on {_names(missing)}", hint)
        by_version: dict[str, list[str]] = {}
        for node, version in versions.items():
            by_version.setdefault(version, []).append(node)
        found = "; ".join(f"Docker {v} on {_names(nodes)}" for v, nodes in by_version.items())
        return CheckResult(name, True, found)

    return guarded(name, hint, probe)


# --- chapter 03 -----------------------------------------------------------------
def _role_line(nodes: list[SwarmNode]) -> str:
    parts = []
    for node in nodes:
        status = node.manager_status.lower() if node.is_manager else "worker"
        parts.append(f"{node.hostname} {status}")
    return ", ".join(parts)


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


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
        "create it: steps.swarm_init(lab), then steps.swarm_join(lab); "
        "`docker node ls` on node-1 shows who is in"
    )

    def probe() -> CheckResult:
        nodes = SwarmReader(lab).nodes()
        problems = []
        in_swarm = {n.hostname for n in nodes}
        outside = [n for n in lab.names if n not in in_swarm]
        if outside:
            problems.append(f"not in the swarm: {_names(outside)}")
        not_ready = [f"{n.hostname} ({n.status})" for n in nodes if n.status != "ready"]
        if not_ready:
            problems.append(f"not ready: {', '.join(not_ready)}")
        found_managers = [n for n in nodes if n.is_manager]
        found_workers = [n for n in nodes if not n.is_manager]
        if len(found_managers) != want_managers or len(found_workers) != want_workers:
            problems.append(
                f"{len(found_managers)} managers and {len(found_workers)} workers, expected "
                f"{want_managers} and {want_workers}"
            )
        leaders = [n.hostname for n in found_managers if n.is_leader]
        if len(leaders) != 1:
            problems.append("no leader" if not leaders else f"several leaders: {_names(leaders)}")
        unreachable = [n.hostname for n in found_managers if not n.is_reachable_manager]
        if unreachable:
            problems.append(f"managers not reachable: {_names(unreachable)}")
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        return CheckResult(name, True, _role_line(nodes))

    return guarded(name, hint, probe)


def _port_probe(address: str, port: int) -> str:
    """Prints ``port@address`` unless a TCP connection to it succeeds within a few seconds."""
    connect = sh("timeout", PORT_PROBE_TIMEOUT, "bash", "-c", f"</dev/tcp/{address}/{port}")
    return shell_line(connect, ">/dev/null", "2>&1", "||", sh("echo", f"{port}@{address}"))


def firewall_open(lab: RemoteLab) -> CheckResult:
    """The firewall is loaded on every node, and the swarm's ports answer between nodes.

    Every node connects to 2377/tcp of the first manager and to 7946/tcp of every
    node: the rules let the lab network in.
    """
    name = "cluster ports open to the lab network"
    hint = (
        "load the rules: steps.firewall(lab); show them with steps.firewall_rules(lab); "
        "the swarm must exist for its ports to answer"
    )

    def probe() -> CheckResult:
        networks = ", ".join(lab_network(lab))
        if not firewall_ok(lab):
            return CheckResult(
                name, False, f"the rules for {networks} are not loaded on every node", hint
            )
        manager = lab.managers[0] if lab.managers else lab.nodes[0]
        probes = [_port_probe(manager.address, 2377)]
        probes += [_port_probe(node.address, 7946) for node in lab.nodes]
        results = lab.run(" ; ".join(probes), timeout=30)
        closed = [
            f"{r.node} -> {r.stdout.split()}" if r.succeeded else f"{r.node} ({r.error})"
            for r in results
            if r.failed or r.stdout.strip()
        ]
        if closed:
            return CheckResult(name, False, "no answer: " + "; ".join(closed), hint)
        return CheckResult(
            name,
            True,
            f"rules for {networks} loaded on {_names(lab.names)}; 2377/tcp and 7946/tcp answer "
            "between nodes",
        )

    return guarded(name, hint, probe)


def swarm_networks(lab: RemoteLab) -> CheckResult:
    """Every node has the swarm's networks: ``ingress`` (overlay), ``docker_gwbridge`` (bridge)."""
    name = "swarm networks on every node"
    hint = "they appear when a node joins the swarm: `docker network ls` on the node"
    wanted = {"ingress": "overlay", "docker_gwbridge": "bridge"}

    def probe() -> CheckResult:
        command = sh("docker", "network", "ls", "--format", "{{.Name}} {{.Driver}}")
        results = lab.run(command, sudo=True, timeout=30)
        problems = []
        for result in results:
            if result.failed:
                problems.append(f"{result.node}: {result.error or result.stderr.strip()}")
                continue
            found = dict(line.split()[:2] for line in result.stdout.splitlines() if line.strip())
            missing = [f"{n} ({d})" for n, d in wanted.items() if found.get(n) != d]
            if missing:
                problems.append(f"{result.node} lacks {', '.join(missing)}")
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        return CheckResult(
            name, True, f"ingress (overlay) and docker_gwbridge (bridge) on {_names(results.nodes)}"
        )

    return guarded(name, hint, probe)


# --- chapter 04 -----------------------------------------------------------------
def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{node} {count}" for node, count in counts.items())


def _tasks_per_node(reader: SwarmReader, service: str) -> tuple[dict[str, int], list[str]]:
    """Running tasks of ``service`` per node, and the nodes that take tasks."""
    distribution = reader.replica_distribution(service)
    counts = dict(distribution.counts)
    return counts, [node for node in counts if not distribution.marks.get(node)]


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
        found = next((s for s in reader.services() if s.name == service), None)
        if found is None:
            return CheckResult(name, False, f"there is no service {service!r}", hint)
        if found.mode != "replicated":
            return CheckResult(name, False, f"{service} is a {found.mode} service", hint)
        if found.replicas_desired != replicas:
            message = f"{service} wants {found.replicas_desired} replicas"
            return CheckResult(name, False, message, hint)
        if not found.converged:
            message = f"only {found.replicas_running} of {replicas} tasks are running"
            return CheckResult(name, False, message, hint + " (and wait for it)")
        counts, usable = _tasks_per_node(reader, service)
        empty = [node for node in usable if counts[node] == 0]
        if spread and replicas >= len(usable) and empty:
            message = f"no task on {_names(empty)} ({_counts(counts)})"
            return CheckResult(name, False, message, "is that node drained, or down?")
        return CheckResult(name, True, f"{replicas}/{replicas} running: {_counts(counts)}")

    return guarded(name, hint, probe)


def global_service(lab: RemoteLab, service: str) -> CheckResult:
    """A global service runs exactly one task on every node that takes tasks."""
    name = f"{service} runs one task per node"
    hint = f"create it with `docker service create --mode global --name {service} ...`"

    def probe() -> CheckResult:
        reader = SwarmReader(lab)
        found = next((s for s in reader.services() if s.name == service), None)
        if found is None:
            return CheckResult(name, False, f"there is no service {service!r}", hint)
        if found.mode != "global":
            return CheckResult(name, False, f"{service} is {found.mode}, not global", hint)
        counts, usable = _tasks_per_node(reader, service)
        wrong = [node for node in usable if counts[node] != 1]
        if wrong:
            message = f"not one running task on {_names(wrong)} ({_counts(counts)})"
            return CheckResult(name, False, message, f"`docker service ps {service}`")
        return CheckResult(name, True, f"one task on each of {_names(usable)}")

    return guarded(name, hint, probe)


def service_absent(lab: RemoteLab, service: str) -> CheckResult:
    """No service of that name is left in the swarm."""
    name = f"no service {service}"
    hint = f"`docker service rm {service}`"

    def probe() -> CheckResult:
        names = [s.name for s in SwarmReader(lab).services()]
        if service in names:
            return CheckResult(name, False, f"{service} is still there", hint)
        return CheckResult(name, True, f"services now: {_names(names)}")

    return guarded(name, hint, probe)


# --- chapter 05 -----------------------------------------------------------------
def _volume_info(lab: RemoteLab, node: str, volume: str) -> dict[str, str]:
    out = lab.run(sh(*GLUSTER, "volume", "info", volume), on=node, sudo=True, timeout=30)
    result = out[0]
    if result.failed:
        return {}
    info = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in info:
            info[key.strip()] = value.strip()
    return info


def gluster_peers(lab: RemoteLab) -> CheckResult:
    """Every other node is in the first node's trusted pool, and connected."""
    name = "GlusterFS peers connected"
    hint = "`gluster peer probe gluster-2` (and -3) on node-1; `gluster pool list` shows the pool"

    def probe() -> CheckResult:
        first = lab.nodes[0].name
        result = lab.run(sh(*GLUSTER, "pool", "list"), on=first, sudo=True, timeout=30)[0]
        if result.failed:
            return CheckResult(name, False, result.stderr.strip() or str(result.error), hint)
        rows = [line.split() for line in result.stdout.splitlines()[1:] if line.strip()]
        pool = {row[1]: row[2] for row in rows if len(row) >= 3}
        peers = len(lab.nodes) - 1
        others = {host: state for host, state in pool.items() if host != "localhost"}
        unconnected = [f"{h} ({s})" for h, s in others.items() if s != "Connected"]
        if len(others) < peers or unconnected:
            found = ", ".join(f"{h} {s}" for h, s in others.items()) or "no peers"
            return CheckResult(name, False, f"pool of {first}: {found}", hint)
        return CheckResult(name, True, f"{first} and {', '.join(others)}: all connected")

    return guarded(name, hint, probe)


def gluster_shared(lab: RemoteLab, volume: str = VOLUME, mount: str = MOUNT) -> CheckResult:
    """The volume is started and replicated, mounted on every node, and shares files.

    A file written through the mount on the first node must be read back, with the
    same content, through the mount on every other node.
    """
    name = f"GlusterFS volume {volume} shared by every node"
    hint = (
        f"`gluster volume info {volume}` on node-1, `findmnt {mount}` on each node; "
        "steps.gluster_volume(lab) builds and mounts it"
    )

    def probe() -> CheckResult:
        stopped = [n.name for n in lab.nodes if not n.running]
        if stopped:
            return CheckResult(name, False, f"stopped: {_names(stopped)}", "start it: lab.start()")
        first = lab.nodes[0].name
        info = _volume_info(lab, first, volume)
        if info.get("Status") != "Started":
            seen = info.get("Status", "no such volume")
            return CheckResult(name, False, f"volume {volume}: {seen}", hint)
        if not gluster_ok(lab, volume, mount):
            probe_mount = shell_line(sh("findmnt", "-n", "-o", "SOURCE", mount), "||", "true")
            found = lab.run(probe_mount, sudo=True, timeout=30).stdout
            missing = [node for node, source in found.items() if not source.endswith(f":/{volume}")]
            return CheckResult(name, False, f"not mounted at {mount} on {_names(missing)}", hint)
        marker = f"{mount}/.workshop-check-{uuid.uuid4().hex[:12]}"
        content = uuid.uuid4().hex
        write = shell_line(sh("echo", content), ">", sh(marker))
        lab.run(write, on=first, sudo=True, timeout=30).raise_for_failures()
        try:
            others = [n for n in lab.names if n != first] or [first]
            read = lab.run(sh("cat", marker), on=others, sudo=True, timeout=30)
        finally:
            lab.run(sh("rm", "-f", marker), on=first, sudo=True, timeout=30)
        wrong = [r.node for r in read if r.stdout.strip() != content]
        if wrong:
            message = f"a file written on {first} is not read back on {_names(wrong)}"
            return CheckResult(name, False, message, hint)
        kind = info.get("Type", "?")
        bricks = info.get("Number of Bricks", "?")
        return CheckResult(
            name,
            True,
            f"{kind} volume ({bricks} bricks) mounted at {mount} on {_names(lab.names)}; "
            f"a file written on {first} reads the same on {_names(others)}",
        )

    return guarded(name, hint, probe)


def gluster_healed(lab: RemoteLab, volume: str = VOLUME) -> CheckResult:
    """Every brick of the volume is connected and has nothing left to heal."""
    name = f"{volume}: every brick connected, nothing to heal"
    hint = (
        f"`gluster volume heal {volume} info` shows what is pending; start stopped nodes, "
        f"`gluster volume heal {volume}` starts a heal"
    )

    def probe() -> CheckResult:
        node = next((n.name for n in lab.nodes if n.running), None)
        if node is None:
            return CheckResult(name, False, "no node is running", hint)
        command = sh(*GLUSTER, "volume", "heal", volume, "info")
        result = lab.run(command, on=node, sudo=True, timeout=60)[0]
        if result.failed:
            return CheckResult(name, False, result.stderr.strip() or str(result.error), hint)
        bricks = [b for b in result.stdout.split("Brick ")[1:] if b.strip()]
        problems = []
        for text in bricks:
            brick = text.split()[0]
            status = re.search(r"Status:\s*(.+)", text)
            entries = _ENTRIES.search(text)
            if status is None or status.group(1).strip() != "Connected":
                problems.append(f"{brick} {status.group(1).strip() if status else 'no status'}")
            elif entries is None or entries.group(1) != "0":
                problems.append(f"{brick} has {entries.group(1) if entries else '?'} to heal")
        if not bricks:
            return CheckResult(name, False, f"no bricks listed for {volume}", hint)
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        return CheckResult(name, True, f"{len(bricks)} bricks connected, 0 entries to heal")

    return guarded(name, hint, probe)


# --- waiting --------------------------------------------------------------------
def wait_until(
    check: Callable[[], CheckResult], timeout: float = 120.0, interval: float = 3.0
) -> CheckResult:
    """Run a check until it passes, for at most ``timeout`` seconds.

    Example: ``checks.wait_until(lambda: checks.gluster_healed(lab))``.

    Returns:
        The first passing result, or the last failing one (its message says how
        long it was tried).
    """
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    tries = 0
    while True:
        result = check()
        tries += 1
        if result.passed:
            return result
        if time.monotonic() >= deadline:
            waited = time.monotonic() - started
            message = f"{result.message} (still so after {waited:.0f} s, {tries} tries)"
            return CheckResult(result.name, False, message, result.hint, result.details)
        time.sleep(interval)
