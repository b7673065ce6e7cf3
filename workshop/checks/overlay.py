"""Chapter 10: overlay networks, who can find whom on them, and services across nodes.

Networks are read on a manager with ``docker network inspect --format '{{json .}}'``
(a worker lists only the networks its tasks use). Name lookups run inside the
service's own containers, on every node: ``docker exec <container> getent hosts
<name>``, the lookup any program in the container makes. The request/reply pair
is graded by its requester's log (``docker service logs``) and where the two
services' tasks run.
"""

from __future__ import annotations

import shlex
from typing import Any

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.errors import CommandFailed
from workshop.remote import RemoteLab
from workshop.swarm import SwarmReader
from workshop.swarm.parse import parse_json_lines
from workshop.swarm.read import JSON_FORMAT

__all__ = [
    "cannot_resolve",
    "lookups_in_tasks",
    "network_absent",
    "overlay_network",
    "parse_lookups",
    "replies_across_nodes",
    "resolves",
    "service_pinned",
]

#: Printed by the lookup probe for a container where the name does not resolve.
UNRESOLVED = "-"
#: Lines of the requester's log that the reply check reads.
LOG_LINES = 10
#: What the requester logs for each reply (images/reqrep/reply).
REPLY = "reply from "


def _network(reader: SwarmReader, name: str) -> dict[str, Any] | None:
    """``docker network inspect`` of one network, read on a manager; None if absent."""
    listed = parse_json_lines(
        reader.docker(["network", "ls", "--filter", f"name=^{name}$", "--format", JSON_FORMAT]),
        "docker network ls",
    )
    if not any(net.get("Name") == name for net in listed):
        return None
    inspected = reader.docker(["network", "inspect", "--format", JSON_FORMAT, name])
    (found,) = parse_json_lines(inspected, "docker network inspect")
    return found


def _subnets(network: dict[str, Any]) -> str:
    configs = (network.get("IPAM") or {}).get("Config") or []
    return ", ".join(str(c.get("Subnet")) for c in configs if c.get("Subnet")) or "no subnet"


def overlay_network(lab: RemoteLab, name: str, *, attachable: bool | None = None) -> CheckResult:
    """``name`` is an overlay network of the swarm (scope ``swarm``), attachable or not.

    Args:
        lab: The lab.
        name: The network's name.
        attachable: Also require ``--attachable`` (True) or its absence (False).
    """
    flag = {True: " --attachable", False: "", None: ""}[attachable]
    check = f"overlay network {name}" + {True: " (attachable)", False: "", None: ""}[attachable]
    hint = f"`docker network create -d overlay{flag} {name}` on a manager"

    def probe() -> CheckResult:
        network = _network(SwarmReader(lab), name)
        if network is None:
            return CheckResult(check, False, f"there is no network {name!r}", hint)
        driver, scope = network.get("Driver"), network.get("Scope")
        if (driver, scope) != ("overlay", "swarm"):
            message = f"{name} is a {driver} network of scope {scope}, not overlay/swarm"
            return CheckResult(check, False, message, f"`docker network rm {name}`, then " + hint)
        is_attachable = bool(network.get("Attachable"))
        if attachable is not None and is_attachable != attachable:
            said = "is" if is_attachable else "is not"
            message = f"{name} {said} attachable (it cannot be changed: remove and re-create it)"
            return CheckResult(check, False, message, hint)
        kind = "attachable" if is_attachable else "not attachable"
        return CheckResult(check, True, f"overlay, scope swarm, {kind}, {_subnets(network)}")

    return guarded(check, hint, probe)


def network_absent(lab: RemoteLab, name: str) -> CheckResult:
    """No network called ``name`` is left in the swarm."""
    check = f"no network {name}"
    hint = f"`docker network rm {name}`, after removing what uses it (`docker stack rm ...`)"

    def probe() -> CheckResult:
        if _network(SwarmReader(lab), name) is not None:
            return CheckResult(check, False, f"{name} is still there", hint)
        return CheckResult(check, True, f"there is no network {name!r}")

    return guarded(check, hint, probe)


def service_pinned(lab: RemoteLab, service: str, node: str) -> CheckResult:
    """Every running task of ``service`` runs on ``node`` (a placement constraint holds)."""
    check = f"{service} runs on {node} only"
    hint = f"`docker service ps {service}`; the labels: `docker node inspect --pretty {node}`"

    def probe() -> CheckResult:
        tasks = [t for t in SwarmReader(lab).tasks(service) if t.running]
        if not tasks:
            return CheckResult(check, False, f"no task of {service} is running", hint)
        elsewhere = sorted({t.node for t in tasks if t.node != node})
        if elsewhere:
            return CheckResult(check, False, f"tasks on {name_list(elsewhere)}", hint)
        return CheckResult(check, True, f"{len(tasks)} running task(s), all on {node}")

    return guarded(check, hint, probe)


def _lookup_probe(service: str, name: str) -> str:
    """For each local container of ``service``: its host name, then the address or ``-``."""
    label = shlex.quote(f"label=com.docker.swarm.service.name={service}")
    lookup = f"docker exec $c getent hosts {shlex.quote(name)} | awk 'NR == 1 {{print $1}}'"
    hostname = "docker inspect --format '{{.Config.Hostname}}' $c"
    return (
        f"for c in $(docker ps -q --filter {label}); do "
        f'echo "$({hostname}) $({lookup} | grep . || echo {UNRESOLVED})"; done'
    )


def parse_lookups(text: str) -> dict[str, str | None]:
    """Container host name -> the address its lookup found, or None (the probe's lines)."""
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            found[parts[0]] = None if parts[1] == UNRESOLVED else parts[1]
    return found


def lookups_in_tasks(lab: RemoteLab, service: str, name: str) -> dict[str, str | None]:
    """Ask every running container of ``service``, on every node, for ``name``'s address.

    Returns:
        Container host name -> address, or None where the name does not resolve.
    """
    results = lab.run(_lookup_probe(service, name), sudo=True, timeout=30)
    for result in results:
        if result.rc is None:
            result.raise_for_failure()
    found: dict[str, str | None] = {}
    for text in results.stdout.values():
        found.update(parse_lookups(text))
    return found


def _answers(found: dict[str, str | None]) -> str:
    """``host -> address`` (or ``host -> not found``) for each container, sorted."""
    return ", ".join(
        f"{host} -> {address or 'not found'}" for host, address in sorted(found.items())
    )


def _lookup_check(lab: RemoteLab, service: str, name: str, *, found: bool) -> CheckResult:
    """Every running container of ``service`` resolves ``name`` (``found``), or none does."""
    check = f"{service} {'finds' if found else 'cannot find'} {name} by name"
    hint = f"`docker service inspect {service}` shows its networks: " + (
        f"put it on a network that {name} is on" if found else f"keep it off those of {name}"
    )

    def probe() -> CheckResult:
        answers = lookups_in_tasks(lab, service, name)
        if not answers:
            return CheckResult(check, False, f"no container of {service} is running", hint)
        wrong = {host: a for host, a in answers.items() if (a is not None) != found}
        if wrong:
            return CheckResult(check, False, _answers(wrong), hint)
        return CheckResult(check, True, _answers(answers))

    return guarded(check, hint, probe)


def resolves(lab: RemoteLab, service: str, name: str) -> CheckResult:
    """Every running container of ``service``, on every node, resolves ``name``."""
    return _lookup_check(lab, service, name, found=True)


def cannot_resolve(lab: RemoteLab, service: str, name: str) -> CheckResult:
    """No running container of ``service`` resolves ``name``: they share no network."""
    return _lookup_check(lab, service, name, found=False)


def _nodes_of(reader: SwarmReader, service: str) -> set[str]:
    return {t.node for t in reader.tasks(service) if t.running}


def replies_across_nodes(
    lab: RemoteLab, requester: str = "reqrep_requester", replier: str = "reqrep_replier"
) -> CheckResult:
    """The requester runs on another node than the replier, and its log shows replies."""
    check = f"{requester} gets replies from {replier} on another node"
    hint = f"`docker service ps {requester} {replier}`; `docker service logs {requester}`"

    def probe() -> CheckResult:
        reader = SwarmReader(lab)
        asking, answering = _nodes_of(reader, requester), _nodes_of(reader, replier)
        if not asking or not answering:
            return CheckResult(check, False, "the pair is not running", hint)
        if asking & answering:
            message = f"both on {name_list(sorted(asking & answering))}"
            return CheckResult(check, False, message, hint)
        try:
            log = reader.docker(["service", "logs", "--raw", "--tail", str(LOG_LINES), requester])
        except CommandFailed as exc:
            return CheckResult(check, False, f"no log: {exc.stderr.strip()[:200]}", hint)
        replies = [line for line in log.splitlines() if line.startswith(REPLY)]
        if not replies:
            return CheckResult(check, False, f"no reply in the last {LOG_LINES} lines", hint)
        where = f"{name_list(sorted(asking))} -> {name_list(sorted(answering))}"
        return CheckResult(check, True, f"{where}: {replies[-1]}")

    return guarded(check, hint, probe)
