"""Chapters 07 and 99: stacks run, fail, answer, or are gone; nodes leave the swarm.

A stack's services are the swarm's services named ``<stack>_<service>`` (what
``docker stack services`` lists), read through :class:`~workshop.swarm.SwarmReader`;
what is left of a removed stack on the nodes through the stack step's own probe
(containers and networks labelled with the stack's name); each node's membership
through ``docker info`` (:func:`~workshop.steps.members.swarm_members`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes
from workshop.steps.members import swarm_members
from workshop.steps.stack import stack_leftovers
from workshop.swarm import Service, SwarmReader, Task
from workshop.swarm.info import SwarmInfo

__all__ = [
    "page_served",
    "stack_absent",
    "stack_running",
    "swarm_left",
    "task_error",
    "task_errors",
]


def _of_stack(reader: SwarmReader, stack: str) -> list[Service]:
    return [s for s in reader.services() if s.name.startswith(f"{stack}_")]


def _replicas(service: Service) -> str:
    return f"{service.name} {service.replicas_running}/{service.replicas_desired}"


def stack_running(lab: RemoteLab, stack: str) -> CheckResult:
    """A stack is deployed and every one of its services runs all its tasks."""
    name = f"stack {stack} runs all its tasks"
    hint = f"`docker stack services {stack}`, then `docker stack ps {stack} --no-trunc`"

    def probe() -> CheckResult:
        services = _of_stack(SwarmReader(lab), stack)
        if not services:
            return CheckResult(name, False, f"there is no stack {stack!r}", hint)
        counts = ", ".join(_replicas(s) for s in services)
        if not all(s.converged for s in services):
            return CheckResult(name, False, counts, hint)
        return CheckResult(name, True, counts)

    return guarded(name, hint, probe)


def stack_absent(lab: RemoteLab, stack: str) -> CheckResult:
    """No service of the stack is left, nor any of its containers or networks on a node."""
    name = f"stack {stack} is gone"
    hint = f"`docker stack rm {stack}`, then wait until `docker ps` shows none of its containers"

    def probe() -> CheckResult:
        services = [s.name for s in _of_stack(SwarmReader(lab), stack)]
        if services:
            return CheckResult(name, False, f"services left: {name_list(services)}", hint)
        left = [node for node, ids in stack_leftovers(lab, stack).items() if ids]
        if left:
            message = f"containers or networks of {stack} still on {name_list(left)}"
            return CheckResult(name, False, message, hint)
        return CheckResult(name, True, "no service, container or network of it is left")

    return guarded(name, hint, probe)


def task_errors(tasks: Sequence[Task], text: str) -> list[str]:
    """``node: error`` of each task whose error contains ``text`` (newest tasks first)."""
    return [f"{t.node or 'no node'}: {t.error}" for t in tasks if t.error and text in t.error]


def task_error(lab: RemoteLab, service: str, text: str) -> CheckResult:
    """A task of ``service`` failed with an error that contains ``text``.

    Troubleshooting waits for this before it reads ``docker service ps --no-trunc``.
    """
    name = f"a task of {service} failed with {text!r}"
    hint = f"`docker service ps {service} --no-trunc` shows each task's error"

    def probe() -> CheckResult:
        tasks = SwarmReader(lab).tasks(service, desired=None)
        found = task_errors(tasks, text)
        if not found:
            seen = sorted({t.error for t in tasks if t.error}) or ["no error yet"]
            return CheckResult(name, False, "; ".join(seen), hint)
        return CheckResult(name, True, found[0])

    return guarded(name, hint, probe)


def page_served(lab: RemoteLab, port: int, text: str) -> CheckResult:
    """Every running node answers ``http://127.0.0.1:<port>/`` with a page holding ``text``."""
    name = f"every node serves {text!r} on port {port}"
    hint = f"`curl -s http://127.0.0.1:{port}/` on the node, then `docker service ps` of the stack"
    curl = shell_line(
        sh("curl", "-s", "--max-time", "5", f"http://127.0.0.1:{port}/"), "||", "true"
    )

    def probe() -> CheckResult:
        running = [n.name for n in lab.nodes if n.running]
        pages = check_nodes(lab, curl, running)
        wrong = [node for node, page in pages.items() if text not in page]
        if wrong:
            return CheckResult(name, False, f"not served on {name_list(wrong)}", hint)
        return CheckResult(name, True, f"served on {name_list(running)}")

    return guarded(name, hint, probe)


def swarm_members_left(members: Mapping[str, SwarmInfo]) -> list[str]:
    """The nodes that still belong to a swarm (``LocalNodeState`` not inactive)."""
    return [node for node, info in members.items() if info.in_swarm]


def swarm_left(lab: RemoteLab) -> CheckResult:
    """No running node belongs to a swarm any more (``docker info``: inactive)."""
    name = "every node has left the swarm"
    hint = "`docker swarm leave` on each node (`--force` on the last manager)"

    def probe() -> CheckResult:
        running = [n.name for n in lab.nodes if n.running]
        inside = swarm_members_left(swarm_members(lab, running))
        if inside:
            return CheckResult(name, False, f"still in a swarm: {name_list(inside)}", hint)
        return CheckResult(name, True, f"not in a swarm: {name_list(running)}")

    return guarded(name, hint, probe)
