"""Chapter 09: what a fault does to the swarm: replaced tasks, lost and new leaders.

Each check reads the swarm through :class:`~workshop.swarm.SwarmReader` (JSON of
``docker node ls`` / ``service ps``) or runs the docker command a learner would
type, and judges what it read with a pure function below (tested on recorded
output). Chapter 09 waits on them with :func:`~workshop.checks.wait.wait_until`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.checks.wait import wait_until
from workshop.errors import NotConverged
from workshop.lab import Node, Results
from workshop.lab.results import node_sort_key
from workshop.progress import poll_until
from workshop.remote import RemoteLab
from workshop.steps.commands import sh
from workshop.steps.fanout import check_nodes
from workshop.swarm import SwarmReader, Task

__all__ = [
    "NO_LEADER_PHRASES",
    "failover",
    "fault_reader",
    "leader_elected",
    "no_leader",
    "node_tasks",
    "says_no_leader",
    "task_problems",
    "task_replaced",
    "tasks_kept",
]

#: What a manager says (lower case) when the swarm has no leader: Docker 20.10 and
#: later, and the older swarmkit wording the source articles print.
NO_LEADER_PHRASES = ("does not have a leader", "no elected cluster leader")
#: Seconds a chapter waits for a leader or for the tasks (this host needs ~30 and ~60).
FAULT_TIMEOUT = 120.0
#: Seconds between two looks at the containers while watching them.
WATCH_INTERVAL = 3.0
#: Seconds one node may take to answer a read during a fault, before the next is asked.
READ_TIMEOUT = 8.0


class _EveryRunningNode:
    """The lab as a :class:`SwarmReader` sees it when every running node may be a manager."""

    def __init__(self, lab: RemoteLab) -> None:
        self.lab = lab

    @property
    def managers(self) -> list[Node]:
        return [node for node in self.lab.nodes if node.running]

    def run(
        self, command: str, *, on: str, sudo: bool = False, timeout: float = READ_TIMEOUT
    ) -> Results:
        return self.lab.run(command, on=on, sudo=sudo, timeout=timeout)


def fault_reader(lab: RemoteLab) -> SwarmReader:
    """A reader for a swarm under a fault: it asks every running node, each briefly.

    A promoted worker is a manager the lab's settings do not name, and a manager
    that lost its leader may hang for a while before it answers; this reader asks
    the running nodes in turn (the one that answered last first), giving each
    :data:`READ_TIMEOUT` seconds.
    """
    return SwarmReader(_EveryRunningNode(lab), timeout=READ_TIMEOUT)


# --- tasks -----------------------------------------------------------------------
def task_problems(tasks: Sequence[Task], desired: int) -> list[str]:
    """Why a service's tasks are not all running (empty: ``desired`` run, none pending).

    Args:
        tasks: The service's tasks the swarm wants running (``desired-state=running``).
        desired: Replicas the service wants.
    """
    running = [t for t in tasks if t.running]
    problems = []
    if len(running) != desired:
        problems.append(f"{len(running)} of {desired} tasks running")
    pending = [f"{t.name} {t.current_state}" for t in tasks if not t.running]
    if pending:
        problems.append("not running yet: " + ", ".join(pending[:4]))
    return problems


def _per_node(tasks: Sequence[Task]) -> str:
    counts: dict[str, int] = {}
    for task in tasks:
        if task.running:
            counts[task.node] = counts.get(task.node, 0) + 1
    return ", ".join(f"{n} {counts[n]}" for n in sorted(counts, key=node_sort_key)) or "none"


def _desired(reader: SwarmReader, service: str) -> int | None:
    found = next((s for s in reader.services() if s.name == service), None)
    return None if found is None else found.replicas_desired


def node_tasks(
    lab: RemoteLab, service: str, node: str, running: int, *, reader: SwarmReader | None = None
) -> CheckResult:
    """``node`` runs exactly ``running`` tasks of ``service``, and the service runs all it wants.

    ``node_tasks(lab, "helloworld", "node-3", 0)`` passes once a drain has moved
    node-3's tasks away, or once a powered-off node's tasks run elsewhere.

    Args:
        lab: The lab.
        service: The service.
        node: The node whose tasks are counted.
        running: Tasks it must run.
        reader: Read through this reader (default: :func:`fault_reader`).
    """
    name = f"{node} runs {running} tasks of {service}"
    hint = f"`docker service ps {service} --filter desired-state=running` on a manager"

    def probe() -> CheckResult:
        read = reader or fault_reader(lab)
        desired = _desired(read, service)
        if desired is None:
            return CheckResult(name, False, f"there is no service {service!r}", hint)
        tasks = read.tasks(service)
        problems = task_problems(tasks, desired)
        here = sum(1 for t in tasks if t.node == node)
        if here != running:
            problems.insert(0, f"{node} has {here}")
        seen = f"{_per_node(tasks)}"
        if problems:
            return CheckResult(name, False, f"{'; '.join(problems)} ({seen})", hint)
        return CheckResult(name, True, f"{desired}/{desired} running: {seen}")

    return guarded(name, hint, probe)


def task_replaced(lab: RemoteLab, service: str, node: str) -> CheckResult:
    """A task of ``service`` on ``node`` is history (``\\_ ... Shutdown``) and all run again."""
    name = f"a task of {service} on {node} was replaced"
    hint = f"`docker service ps {service}`: look for the `\\_` rows"

    def probe() -> CheckResult:
        reader = fault_reader(lab)
        desired = _desired(reader, service)
        if desired is None:
            return CheckResult(name, False, f"there is no service {service!r}", hint)
        tasks = reader.tasks(service, desired=None)
        old = [t for t in tasks if t.node == node and t.desired_state == "shutdown"]
        problems = task_problems([t for t in tasks if t.desired_state == "running"], desired)
        if not old:
            problems.insert(0, f"no task on {node} has been shut down yet")
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        gone = old[0]
        why = f" ({gone.error})" if gone.error else ""
        message = f"{gone.name} on {node}: {gone.current_state}{why}; {desired}/{desired} run"
        return CheckResult(name, True, message)

    return guarded(name, hint, probe)


# --- the leader ------------------------------------------------------------------
def says_no_leader(stderr: str) -> bool:
    """Whether a failed docker command said that the swarm has no leader."""
    lowered = stderr.lower()
    return any(phrase in lowered for phrase in NO_LEADER_PHRASES)


def no_leader(lab: RemoteLab, on: str) -> CheckResult:
    """Manager ``on`` answers ``docker node ls`` with "no leader" (the quorum is lost)."""
    name = f"{on} says the swarm has no leader"
    hint = "`docker node ls` on a manager shows who leads; a majority of managers must be up"
    answer = lab.run("docker node ls", on=on, sudo=True, timeout=30)[0]
    said = answer.stderr.strip().splitlines()[-1:] or [str(answer.error or "nothing")]
    if answer.rc == 0:
        return CheckResult(name, False, f"{on} still answers `docker node ls`", hint)
    if not says_no_leader(answer.stderr):
        return CheckResult(name, False, f"{on} answered: {said[0]}", hint)
    return CheckResult(name, True, said[0])


def leader_elected(
    lab: RemoteLab, *, not_on: str | None = None, reader: SwarmReader | None = None
) -> CheckResult:
    """The swarm has a leader (other than ``not_on``, a manager that is down).

    Args:
        lab: The lab.
        not_on: A node that must not be the leader any more.
        reader: Read through this reader (default: :func:`fault_reader`).
    """
    name = "a leader" if not_on is None else f"a leader other than {not_on}"
    hint = "`docker node ls` on a manager: a majority of managers must be up"

    def probe() -> CheckResult:
        leader = (reader or fault_reader(lab)).leader()
        if leader is None:
            return CheckResult(name, False, "no leader yet", hint)
        if leader.hostname == not_on:
            return CheckResult(name, False, f"{not_on} is still listed as the leader", hint)
        return CheckResult(name, True, f"{leader.hostname} is the leader")

    return guarded(name, hint, probe)


class Marks(Protocol):
    """A fault timeline's clock and marks (``dashboard.FaultTimeline`` fits)."""

    @property
    def elapsed(self) -> float:
        """Seconds since the timeline started."""
        ...

    def mark(self, event: str) -> object:
        """Note an event now."""
        ...


def _timed(
    check: Callable[[], CheckResult], event: str, timeline: Marks, since: float
) -> CheckResult:
    """Wait for a check; mark ``event`` when it passes, and add the seconds since ``since``."""
    result = wait_until(check, timeout=FAULT_TIMEOUT, interval=1.0)
    if not result.passed:
        return result
    seconds = timeline.elapsed - since
    timeline.mark(event)
    return CheckResult(result.name, True, f"{result.message}, {seconds:.0f} s after the fault")


def failover(
    lab: RemoteLab, service: str, *, down: str, timeline: Marks, since: float
) -> CheckResult:
    """Wait for the swarm to get over losing node ``down``: a new leader, then every task.

    Each success is marked on the timeline, and its message says how many seconds
    after the fault (``since``, in the timeline's time) it came.

    Args:
        lab: The lab.
        service: The service whose tasks must all run again, none on ``down``.
        down: The node that was powered off.
        timeline: Where to mark what happened (a ``dashboard.FaultTimeline``).
        since: The timeline time of the fault, e.g. ``timeline.mark("...").t``.
    """
    name = f"the swarm recovers from losing {down}"
    reader = fault_reader(lab)
    elected = lambda: leader_elected(lab, not_on=down, reader=reader)  # noqa: E731
    leader = _timed(elected, "new leader", timeline, since)
    if not leader.passed:
        return CheckResult(name, False, leader.message, leader.hint, (leader,))
    moved = lambda: node_tasks(lab, service, down, 0, reader=reader)  # noqa: E731
    tasks = _timed(moved, f"{service} whole again", timeline, since)
    message = f"{leader.message}; {tasks.message}"
    return CheckResult(name, tasks.passed, message, tasks.hint, (leader, tasks))


# --- nothing is rescheduled ------------------------------------------------------
def _containers(lab: RemoteLab, service: str, on: Sequence[str]) -> dict[str, frozenset[str]]:
    label = f"label=com.docker.swarm.service.name={service}"
    found = check_nodes(lab, sh("docker", "ps", "--quiet", "--no-trunc", "--filter", label), on)
    return {node: frozenset(found[node].split()) for node in on}


def container_changes(
    before: Mapping[str, frozenset[str]], now: Mapping[str, frozenset[str]]
) -> list[str]:
    """What changed between two looks at the containers per node (empty: nothing)."""
    changes = []
    for node in sorted(before, key=node_sort_key):
        started = len(now.get(node, frozenset()) - before[node])
        stopped = len(before[node] - now.get(node, frozenset()))
        if started:
            changes.append(f"{started} started on {node}")
        if stopped:
            changes.append(f"{stopped} stopped on {node}")
    return changes


def tasks_kept(lab: RemoteLab, service: str, on: Sequence[str], *, watch: float) -> CheckResult:
    """For ``watch`` seconds, no container of ``service`` starts or stops on nodes ``on``.

    ``docker ps`` on each node answers without a leader, so this shows that no
    task is rescheduled while the swarm has none.
    """
    nodes = list(on)
    name = f"no task of {service} rescheduled on {name_list(nodes)}"
    hint = f"`docker ps --filter label=com.docker.swarm.service.name={service}` on each node"

    def probe() -> CheckResult:
        before = _containers(lab, service, nodes)
        started = time.monotonic()
        try:
            now = poll_until(
                lambda: _containers(lab, service, nodes),
                lambda now: bool(container_changes(before, now)),
                timeout=watch,
                interval=WATCH_INTERVAL,
            )
        except NotConverged:
            counts = ", ".join(f"{n} {len(before[n])}" for n in nodes)
            message = f"for {watch:.0f} s the same containers ran ({counts})"
            return CheckResult(name, True, message)
        changed = "; ".join(container_changes(before, now))
        seconds = time.monotonic() - started
        return CheckResult(name, False, f"after {seconds:.0f} s: {changed}", hint)

    return guarded(name, hint, probe)
