"""Chapter 03: the firewall lets the swarm's ports through, and the swarm's networks exist.

Ports are probed from every node with bash's ``/dev/tcp``; networks are read with
``docker network ls --format '{{json .}}'``.
"""

from __future__ import annotations

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line
from workshop.steps.firewall import firewall_ok, lab_addresses
from workshop.swarm.parse import parse_json_lines
from workshop.swarm.read import JSON_FORMAT

__all__ = ["SWARM_NETWORKS", "firewall_open", "missing_networks", "swarm_networks"]

#: Seconds a port probe between nodes may take.
PORT_PROBE_TIMEOUT = 3
#: The networks every swarm node has: name -> driver.
SWARM_NETWORKS = {"ingress": "overlay", "docker_gwbridge": "bridge"}


def _port_probe(address: str, port: int) -> str:
    """Prints ``port@address`` unless a TCP connection to it succeeds within a few seconds."""
    connect = sh("timeout", PORT_PROBE_TIMEOUT, "bash", "-c", f"</dev/tcp/{address}/{port}")
    return shell_line(connect, ">/dev/null", "2>&1", "||", sh("echo", f"{port}@{address}"))


def firewall_open(lab: RemoteLab) -> CheckResult:
    """The firewall is loaded on every node, and the swarm's ports answer between nodes.

    Every node connects to 2377/tcp of the first manager and to 7946/tcp of every
    node: the rules let the lab's nodes in.
    """
    name = "cluster ports open to the lab's nodes"
    hint = (
        "`nft list table inet workshop_firewall` on each node shows the rules "
        "(steps.firewall(lab) loads them); the swarm must exist for its ports to answer"
    )

    def probe() -> CheckResult:
        addresses = ", ".join(lab_addresses(lab))
        if not firewall_ok(lab):
            message = f"the rules for {addresses} are not loaded on every node"
            return CheckResult(name, False, message, hint)
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
            f"rules for {addresses} loaded on {name_list(lab.names)}; 2377/tcp and 7946/tcp "
            "answer between nodes",
        )

    return guarded(name, hint, probe)


def missing_networks(network_ls: str) -> list[str]:
    """The swarm networks (``name (driver)``) absent from ``docker network ls`` JSON lines."""
    found = {
        str(net.get("Name")): str(net.get("Driver"))
        for net in parse_json_lines(network_ls, "docker network ls")
    }
    return [f"{n} ({d})" for n, d in SWARM_NETWORKS.items() if found.get(n) != d]


def swarm_networks(lab: RemoteLab) -> CheckResult:
    """Every node has the swarm's networks: ``ingress`` (overlay), ``docker_gwbridge`` (bridge)."""
    name = "swarm networks on every node"
    hint = "`docker network ls` on the node: they appear when it joins the swarm"

    def probe() -> CheckResult:
        command = sh("docker", "network", "ls", "--format", JSON_FORMAT)
        results = lab.run(command, sudo=True, timeout=30)
        problems = []
        for result in results:
            if result.failed:
                problems.append(f"{result.node}: {result.error or result.stderr.strip()}")
                continue
            missing = missing_networks(result.stdout)
            if missing:
                problems.append(f"{result.node} lacks {', '.join(missing)}")
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        found = ", ".join(f"{n} ({d})" for n, d in SWARM_NETWORKS.items())
        return CheckResult(name, True, f"{found} on {name_list(results.nodes)}")

    return guarded(name, hint, probe)
