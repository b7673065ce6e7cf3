"""Chapter 09's checks against a fake lab answering with output recorded on a real lab."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.unit.fakes import Handler, Reply, on, swarm_lab
from workshop import checks
from workshop.checks.faults import container_changes, says_no_leader
from workshop.checks.snapshot import snapshot_of
from workshop.swarm import parse_node_ls

DATA = Path(__file__).resolve().parent.parent / "data"
FAULTS = DATA / "faults"
SWARM = DATA / "swarm"
NO_LEADER = (FAULTS / "node-ls-no-leader.stderr.txt").read_text()
ALL_RUNNING = {"node-1": "running", "node-2": "running", "node-3": "running"}


def recorded(
    tasks: Path, services: Path = FAULTS / "service-ls-drained.jsonl", nodes: Path | None = None
) -> list[Handler]:
    """`docker service ls/ps` and `node ls/inspect` answered from recordings."""
    node_ls = nodes or FAULTS / "node-ls-drained.jsonl"
    return [
        on(r"docker node ls", node_ls.read_text()),
        on(r"docker node inspect", (SWARM / "node-inspect.json").read_text()),
        on(r"docker service ls", services.read_text()),
        service_ps(tasks),
    ]


def service_ps(path: Path) -> Handler:
    """`docker service ps` from a recording, honouring ``--filter desired-state=running``."""
    lines = path.read_text().splitlines(keepends=True)
    running = "".join(line for line in lines if '"DesiredState":"Running"' in line)

    def handle(node: str, command: str) -> Reply | None:
        if "docker service ps" not in command:
            return None
        return (0, running if "desired-state=running" in command else "".join(lines), "")

    return handle


def answers(pattern: str, *replies: Reply) -> Handler:
    """A handler: commands matching ``pattern`` get ``replies`` in turn, the last repeating."""
    queue = list(replies)

    def handle(node: str, command: str) -> Reply | None:
        if not re.search(pattern, command):
            return None
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handle


# --- a container removed by hand -------------------------------------------------
def test_task_replaced_waits_until_the_replacement_runs() -> None:
    lab, _ = swarm_lab(recorded(FAULTS / "service-ps-helloworld-removed-early.jsonl"))
    early = checks.task_replaced(lab, "helloworld", "node-3")
    assert not early.passed and "5 of 6 tasks running" in early.message

    lab, _ = swarm_lab(recorded(FAULTS / "service-ps-helloworld-replaced.jsonl"))
    result = checks.task_replaced(lab, "helloworld", "node-3")
    assert result.passed
    assert result.message == ("helloworld.6 on node-3: failed (task: non-zero exit (137)); 6/6 run")


def test_task_replaced_needs_a_history_row_on_that_node() -> None:
    lab, _ = swarm_lab(recorded(FAULTS / "service-ps-helloworld-created.jsonl"))
    result = checks.task_replaced(lab, "helloworld", "node-3")
    assert not result.passed and "no task on node-3 has been shut down yet" in result.message
    lab, _ = swarm_lab(recorded(FAULTS / "service-ps-helloworld-replaced.jsonl"))
    assert not checks.task_replaced(lab, "helloworld", "node-1").passed
    missing = checks.task_replaced(lab, "web", "node-3")
    assert not missing.passed and "no service 'web'" in missing.message


# --- drain, and a node powered off ---------------------------------------------
def test_node_tasks_after_a_drain() -> None:
    lab, _ = swarm_lab(recorded(FAULTS / "service-ps-helloworld-drained.jsonl"))
    drained = checks.node_tasks(lab, "helloworld", "node-3", 0)
    assert drained.passed and drained.message == "6/6 running: node-1 3, node-2 3"
    busy = checks.node_tasks(lab, "helloworld", "node-1", 0)
    assert not busy.passed and busy.message.startswith("node-1 has 3")


def test_node_tasks_before_and_after_the_swarm_gave_a_down_node_up() -> None:
    services = SWARM / "service-ls.jsonl"
    lab, _ = swarm_lab(recorded(SWARM / "service-ps-helloworld.jsonl", services))
    assert not checks.node_tasks(lab, "helloworld", "node-1", 0).passed

    lab, _ = swarm_lab(recorded(SWARM / "service-ps-helloworld-faults.jsonl", services))
    result = checks.node_tasks(lab, "helloworld", "node-1", 0)
    assert result.passed and result.message == "6/6 running: node-2 6"


# --- the leader --------------------------------------------------------------------
def test_says_no_leader_knows_both_wordings() -> None:
    assert says_no_leader(NO_LEADER)
    # Docker 1.12, as the second source article printed it:
    assert says_no_leader(
        "Error response from daemon: rpc error: code = 2 desc = raft: no elected cluster leader"
    )
    assert not says_no_leader("Error response from daemon: This node is not a swarm manager.")


def test_no_leader_passes_with_what_the_manager_said() -> None:
    lab, _ = swarm_lab([answers(r"docker node ls", (1, "", NO_LEADER))])
    result = checks.no_leader(lab, on="node-2")
    assert result.passed and result.message == NO_LEADER.strip()

    lab, _ = swarm_lab(recorded(FAULTS / "service-ps-helloworld-created.jsonl"))
    answered = checks.no_leader(lab, on="node-2")
    assert not answered.passed and "still answers" in answered.message


def test_no_leader_fails_on_another_error() -> None:
    refused = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
    lab, _ = swarm_lab([answers(r"docker node ls", (1, "", refused))])
    result = checks.no_leader(lab, on="node-2")
    assert not result.passed and refused in result.message


def test_leader_elected_other_than_the_node_that_is_down() -> None:
    faults = SWARM / "node-ls-faults.jsonl"
    lab, _ = swarm_lab(recorded(SWARM / "service-ps-helloworld-faults.jsonl", nodes=faults))
    result = checks.leader_elected(lab, not_on="node-1")
    assert result.passed and result.message == "node-3 is the leader"

    lab, _ = swarm_lab(
        recorded(SWARM / "service-ps-helloworld.jsonl", nodes=SWARM / "node-ls.jsonl")
    )
    stale = checks.leader_elected(lab, not_on="node-1")
    assert not stale.passed and "node-1 is still listed" in stale.message
    assert checks.leader_elected(lab).passed


def test_leader_elected_fails_while_there_is_none() -> None:
    lab, _ = swarm_lab([answers(r"docker node ls", (1, "", NO_LEADER))])
    result = checks.leader_elected(lab, not_on="node-1")
    assert not result.passed and result.message == "no leader yet"


class FakeTimeline:
    """A fault timeline whose clock reads the given times in turn."""

    def __init__(self, *times: float) -> None:
        self.times = list(times)
        self.marks: list[tuple[float, str]] = []

    @property
    def elapsed(self) -> float:
        return self.times.pop(0)

    def mark(self, event: str) -> Any:
        self.marks.append((0.0, event))
        return None


def test_failover_marks_the_leader_then_the_tasks_with_their_seconds() -> None:
    handlers = recorded(
        SWARM / "service-ps-helloworld-faults.jsonl",
        SWARM / "service-ls.jsonl",
        nodes=SWARM / "node-ls-faults.jsonl",
    )
    lab, _ = swarm_lab(handlers)
    timeline = FakeTimeline(41.0, 74.5)
    result = checks.failover(lab, "helloworld", down="node-1", timeline=timeline, since=10.0)
    assert result.passed
    assert [event for _, event in timeline.marks] == ["new leader", "helloworld whole again"]
    assert result.message == (
        "node-3 is the leader, 31 s after the fault; 6/6 running: node-2 6, 64 s after the fault"
    )


# --- nothing rescheduled -----------------------------------------------------------
def test_container_changes_names_starts_and_stops_per_node() -> None:
    before = {"node-2": frozenset({"a", "b"}), "node-3": frozenset({"c"})}
    assert container_changes(before, dict(before)) == []
    now = {"node-2": frozenset({"a", "b", "d"}), "node-3": frozenset()}
    assert container_changes(before, now) == ["1 started on node-2", "1 stopped on node-3"]


def ids(*names: str) -> Reply:
    return (0, "".join(f"{name}\n" for name in names), "")


def test_tasks_kept_passes_when_the_same_containers_run() -> None:
    lab, remote = swarm_lab([answers(r"docker ps", ids("3f1acecdfbb1", "5f6afd8b4859"))])
    result = checks.tasks_kept(lab, "helloworld", on=["node-2", "node-3"], watch=0)
    assert (
        result.passed and result.message == "for 0 s the same containers ran (node-2 2, node-3 2)"
    )
    assert remote.matching(r"label=com\.docker\.swarm\.service\.name=helloworld")


def test_tasks_kept_fails_when_a_container_starts() -> None:
    replies = (ids("3f1acecdfbb1"), ids("3f1acecdfbb1", "7a139e344568"))
    lab, _ = swarm_lab([answers(r"docker ps", *replies)])
    result = checks.tasks_kept(lab, "helloworld", on=["node-2"], watch=0)
    assert not result.passed and "1 started on node-2" in result.message


# --- the lab as found ---------------------------------------------------------------
def snapshots() -> Iterator[Any]:
    yield snapshot_of(ALL_RUNNING, parse_node_ls((SWARM / "node-ls.jsonl").read_text()))
    faults = parse_node_ls((SWARM / "node-ls-faults.jsonl").read_text())
    yield snapshot_of({**ALL_RUNNING, "node-1": "stopped"}, faults)


def test_a_snapshot_names_every_difference() -> None:
    found, now = snapshots()
    assert str(found).splitlines()[2] == "node-3: running, worker, active, ready"
    assert found.differences(found) == []
    assert found.differences(now) == [
        "node-1 power stopped (was running)",
        "node-1 status down (was ready)",
        "node-3 role manager (was worker)",
        "node-3 availability drain (was active)",
    ]


def test_lab_as_found_reads_the_lab_again() -> None:
    found, _ = snapshots()
    lab, _ = swarm_lab(
        recorded(FAULTS / "service-ps-helloworld-created.jsonl", nodes=SWARM / "node-ls.jsonl")
    )
    assert checks.lab_as_found(lab, found).passed
    lab, _ = swarm_lab(recorded(FAULTS / "service-ps-helloworld-drained.jsonl"))
    result = checks.lab_as_found(lab, found)
    assert not result.passed and result.message == "node-3 availability drain (was active)"
