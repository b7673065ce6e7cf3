"""Chapter 08: a front proxy that follows its back end, and requests spread over tasks.

The proxy's configuration is read as nginx itself parses it (``nginx -T`` in the
proxy's container on each node); the back end's tasks through the swarm read model;
the answers through the request sampler (``curl`` from a node, as a client would).
"""

from __future__ import annotations

from dataclasses import dataclass

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes
from workshop.swarm import SwarmReader

__all__ = ["Upstream", "parse_upstream", "proxy_configs", "proxy_follows", "requests_spread"]


@dataclass(frozen=True)
class Upstream:
    """One ``upstream`` block of an nginx configuration.

    Attributes:
        name: The block's name (what ``proxy_pass http://<name>`` uses).
        method: The balancing method (``least_conn``, ``ip_hash``, ...;
            ``round_robin`` when none is set).
        servers: The servers that take requests (``address:port``), in order;
            servers marked ``down`` and ``backup`` are left out.
    """

    name: str
    method: str
    servers: tuple[str, ...]


_METHODS = ("least_conn", "ip_hash", "hash", "random", "least_time")


def _words(config: str) -> list[str]:
    """An nginx configuration as words, comments left out; ``{``, ``}``, ``;`` are words."""
    text = "\n".join(line.split("#", 1)[0] for line in config.splitlines())
    for mark in "{};":
        text = text.replace(mark, f" {mark} ")
    return text.split()


def parse_upstream(config: str, name: str) -> Upstream | None:
    """The block ``upstream <name> { ... }`` of a configuration (``nginx -T``); None if absent."""
    words = _words(config)
    for index in range(len(words) - 2):
        if words[index : index + 3] != ["upstream", name, "{"]:
            continue
        end = words.index("}", index) if "}" in words[index:] else len(words)
        method, servers = "round_robin", []
        statement: list[str] = []
        for word in words[index + 3 : end]:
            if word != ";":
                statement.append(word)
                continue
            head, flags = statement[:2], set(statement[2:])
            if head[:1] and head[0] in _METHODS:
                method = head[0]
            elif len(head) == 2 and head[0] == "server" and not flags & {"down", "backup"}:
                servers.append(head[1])
            statement = []
        return Upstream(name, method, tuple(servers))
    return None


def _proxy_probe(proxy: str) -> str:
    """``nginx -T`` in this node's container of ``proxy`` (no output if none runs here)."""
    return shell_line(
        sh("docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={proxy}"),
        "|",
        sh("head", "-n", "1"),
        "|",
        sh("xargs", "-r", "-I{}", "docker", "exec", "{}", "nginx", "-T"),
        "2>/dev/null",
    )


def proxy_configs(lab: RemoteLab, proxy: str) -> dict[str, str]:
    """Node -> ``nginx -T`` of its container of service ``proxy`` (nodes without one: left out).

    Raises:
        NodeUnreachable: A running node does not answer.
    """
    running = [n.name for n in lab.nodes if n.running]
    answers = check_nodes(lab, _proxy_probe(proxy), running)
    return {node: text for node, text in answers.items() if text}


def _upstream_problem(found: Upstream | None, block: str, tasks: int) -> str:
    """What is wrong with a proxy's upstream block for ``tasks`` tasks ("" if nothing)."""
    if found is None:
        return f"no upstream {block}"
    if found.method != "least_conn" or len(found.servers) != tasks:
        return f"{found.method} with {len(found.servers)} servers"
    return ""


def proxy_follows(
    lab: RemoteLab, proxy: str, backend: str, upstream: str | None = None
) -> CheckResult:
    """Every container of ``proxy`` balances (``least_conn``) over every task of ``backend``.

    Args:
        lab: The lab.
        proxy: The proxy's service (``lb_proxy``).
        backend: The service behind it (``lb_hello``).
        upstream: The upstream block's name (default: ``backend`` without its
            stack prefix, ``hello``).
    """
    block = upstream or backend.split("_", 1)[-1]
    name = f"{proxy} balances over every task of {backend}"
    hint = (
        f"`docker exec <{proxy} container> nginx -T` shows `upstream {block}`; compare with "
        f"`docker service ps {backend}`, and read `docker service logs {proxy}`"
    )

    def probe() -> CheckResult:
        service = next((s for s in SwarmReader(lab).services() if s.name == backend), None)
        if service is None:
            return CheckResult(name, False, f"there is no service {backend!r}", hint)
        if not service.converged:
            message = (
                f"{backend} runs {service.replicas_running} of {service.replicas_desired} tasks"
            )
            return CheckResult(name, False, message, f"wait, or `docker service ps {backend}`")
        configs = proxy_configs(lab, proxy)
        if not configs:
            return CheckResult(name, False, f"no container of {proxy} runs on any node", hint)
        blocks = {node: parse_upstream(text, block) for node, text in configs.items()}
        running = service.replicas_running
        wrong = [
            f"{node}: {_upstream_problem(found, block, running)}"
            for node, found in blocks.items()
            if _upstream_problem(found, block, running)
        ]
        if wrong:
            message = f"{backend} runs {running} tasks; " + "; ".join(wrong)
            return CheckResult(name, False, message, hint + " (and wait a few seconds)")
        if len({found.servers for found in blocks.values() if found}) > 1:
            return CheckResult(name, False, "the proxies list different servers", hint)
        nodes = name_list(sorted(blocks))
        message = f"least_conn over the {running} tasks of {backend}, on {nodes}"
        return CheckResult(name, True, message)

    return guarded(name, hint, probe)


def requests_spread(
    lab: RemoteLab, port: int, service: str, replicas: int, *, requests: int | None = None
) -> CheckResult:
    """Requests to ``port`` on every node are answered, by each of ``replicas`` tasks.

    Args:
        lab: The lab.
        port: The published port (the proxy's, or the service's through the mesh).
        service: The service whose tasks answer with their host name.
        replicas: How many tasks must answer.
        requests: Requests to send (default: ten per replica).
    """
    # Imported here: the dashboard brings matplotlib and ipywidgets, which no other check needs.
    from workshop.dashboard.sampling import sample_requests

    name = f"requests to port {port} reach all {replicas} tasks of {service}"
    hint = f"`curl -s http://<node address>:{port}/` from a node; `docker service ps {service}`"

    def probe() -> CheckResult:
        sample = sample_requests(lab, port, requests or 10 * replicas, service=service)
        missing = sum(sample.unanswered.values())
        if missing:
            where = ", ".join(
                f"{node} {count}" for node, count in sorted(sample.unanswered.items())
            )
            message = f"{missing} of {sample.requests} requests got no answer ({where})"
            return CheckResult(name, False, message, hint)
        hosts = sorted(set(sample.answers) & set(sample.replicas))
        if len(hosts) != replicas or len(sample.answers) != len(hosts):
            message = f"answered by {len(sample.answers)} host names: {dict(sample.answers)}"
            return CheckResult(name, False, message, hint)
        counts = ", ".join(str(sample.answers[h]) for h in hosts)
        message = f"{sample.requests} requests, answered by {replicas} tasks ({counts})"
        return CheckResult(name, True, message)

    return guarded(name, hint, probe)
