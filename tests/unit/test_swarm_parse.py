"""Parsing recorded docker output into the swarm read model.

Invariant tests run over every matching file in ``tests/data/swarm`` (drafts and
real recordings from the lab alike); value tests pin the ``*-draft`` files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workshop.errors import UsageError
from workshop.swarm.parse import (
    SwarmParseError,
    parse_current_state,
    parse_json_lines,
    parse_node_inspect,
    parse_node_ls,
    parse_replicas,
    parse_service_ls,
    parse_service_ps,
)
from workshop.swarm.snapshot import MARK, parse_snapshot, split_sections

DATA = Path(__file__).resolve().parent.parent / "data" / "swarm"
STATUSES = {"ready", "down", "unknown", "disconnected"}
AVAILABILITIES = {"active", "pause", "drain"}
MANAGER_STATUSES = {"Leader", "Reachable", "Unreachable", "Unknown"}


def recordings(pattern: str) -> list[Path]:
    """Files in tests/data/swarm matching ``pattern`` (ids are file names)."""
    return sorted(DATA.glob(pattern))


def params(pattern: str) -> list[Any]:
    return [pytest.param(path, id=path.name) for path in recordings(pattern)]


@pytest.mark.parametrize("path", params("node-ls*.jsonl"))
def test_node_ls_recordings(path: Path) -> None:
    nodes = parse_node_ls(path.read_text())
    assert nodes
    assert len({n.id for n in nodes}) == len(nodes)
    assert sum(n.is_leader for n in nodes) <= 1
    for node in nodes:
        assert node.id and node.hostname and not node.id.endswith("*")
        assert node.status in STATUSES
        assert node.availability in AVAILABILITIES
        if node.role == "manager":
            assert node.manager_status in MANAGER_STATUSES
        else:
            assert node.role == "worker" and node.manager_status == ""


@pytest.mark.parametrize("path", params("node-inspect*.json"))
def test_node_inspect_recordings(path: Path) -> None:
    nodes = parse_node_inspect(path.read_text())
    assert nodes
    for node in nodes:
        assert node.role in {"manager", "worker"}
        assert node.address and node.address != "0.0.0.0"
        assert node.status in STATUSES and node.availability in AVAILABILITIES
        assert (node.manager_status != "") == (node.role == "manager")


def recorded_together() -> list[Any]:
    """Pairs node-ls<X>.jsonl / node-inspect<X>.json recorded at the same moment."""
    pairs = []
    for path in recordings("node-ls*.jsonl"):
        partner = path.with_name(path.name.replace("node-ls", "node-inspect", 1))
        partner = partner.with_suffix(".json")
        if partner.exists():
            pairs.append(pytest.param(path, partner, id=path.name))
    return pairs


@pytest.mark.parametrize(("path", "partner"), recorded_together())
def test_node_ls_agrees_with_inspect_recorded_with_it(path: Path, partner: Path) -> None:
    listed = {n.id: n for n in parse_node_ls(path.read_text())}
    inspected = {n.id: n for n in parse_node_inspect(partner.read_text())}
    assert listed.keys() == inspected.keys()
    for node_id, node in listed.items():
        other = inspected[node_id]
        assert (node.hostname, node.role, node.manager_status) == (
            other.hostname,
            other.role,
            other.manager_status,
        )


@pytest.mark.parametrize("path", params("service-ls*.jsonl"))
def test_service_ls_recordings(path: Path) -> None:
    services = parse_service_ls(path.read_text())
    assert services
    for service in services:
        assert service.id and service.name and service.image
        assert service.mode in {"replicated", "global", "replicated-job", "global-job"}
        assert service.replicas_running >= 0 and service.replicas_desired >= 0
        assert all("->" in port for port in service.ports)


@pytest.mark.parametrize("path", params("service-ps-*.jsonl"))
def test_service_ps_recordings(path: Path) -> None:
    name = path.stem.removeprefix("service-ps-").removesuffix("-draft").removesuffix("-faults")
    tasks = parse_service_ps(path.read_text())
    assert tasks
    for task in tasks:
        assert task.service == name
        assert not task.name.startswith(("\\", " "))
        assert task.current_state == task.current_state.lower() != ""
        assert task.desired_state in {"running", "shutdown", "ready", "complete", "accepted"}
        assert not task.error.startswith('"')


def test_recordings_exist() -> None:
    for pattern in (
        "node-ls*.jsonl",
        "node-inspect*.json",
        "service-ls*.jsonl",
        "service-ps-*.jsonl",
        "snapshot*.txt",
    ):
        assert recordings(pattern), pattern


# Values of the draft recordings -------------------------------------------------


def test_node_ls_draft_values() -> None:
    nodes = parse_node_ls((DATA / "node-ls-draft.jsonl").read_text())
    assert [(n.hostname, n.role, n.manager_status) for n in nodes] == [
        ("node-1", "manager", "Leader"),
        ("node-2", "manager", "Reachable"),
        ("node-3", "worker", ""),
    ]
    assert nodes[0].status == "ready" and nodes[0].availability == "active"
    assert nodes[0].engine_version == "20.10.24+dfsg1"
    assert nodes[0].address == ""  # node ls does not show addresses
    assert nodes[0].is_leader and nodes[1].is_reachable_manager and not nodes[2].is_manager


def test_node_ls_faults_draft_marks() -> None:
    text = (DATA / "node-ls-faults-draft.jsonl").read_text()
    nodes = {n.hostname: n for n in parse_node_ls(text)}
    assert nodes["node-1"].marks == ("down",)
    assert nodes["node-1"].manager_status == "Unreachable"
    assert nodes["node-3"].marks == ("drain",) and not nodes["node-3"].schedulable
    assert nodes["node-2"].is_leader and nodes["node-2"].marks == ()


def test_node_inspect_draft_values() -> None:
    nodes = parse_node_inspect((DATA / "node-inspect-draft.json").read_text())
    assert [(n.hostname, n.role, n.manager_status, n.address) for n in nodes] == [
        # Status.Addr is 0.0.0.0 for the leader: the manager address is used
        ("node-1", "manager", "Leader", "192.168.56.11"),
        ("node-2", "manager", "Reachable", "192.168.56.12"),
        ("node-3", "worker", "", "192.168.56.13"),
    ]


def test_service_ls_draft_values() -> None:
    services = {s.name: s for s in parse_service_ls((DATA / "service-ls-draft.jsonl").read_text())}
    hello, web, agent = services["helloworld"], services["web"], services["agent"]
    assert (hello.replicas_running, hello.replicas_desired, hello.ports) == (5, 5, ())
    assert hello.converged and hello.mode == "replicated"
    assert (web.replicas_running, web.replicas_desired, web.max_per_node) == (2, 3, 1)
    assert web.ports == ("*:8080->80/tcp", "*:8443->443/tcp") and not web.converged
    assert web.image == "registry.lab:5000/workshop/web:1.0"
    assert agent.mode == "global" and agent.max_per_node is None


def test_service_ps_draft_values() -> None:
    tasks = parse_service_ps((DATA / "service-ps-helloworld-draft.jsonl").read_text())
    assert [t.name for t in tasks] == [
        "helloworld.1",
        "helloworld.2",
        "helloworld.2",
        "helloworld.3",
        "helloworld.4",
        "helloworld.5",
    ]
    old = tasks[2]
    assert (old.desired_state, old.current_state) == ("shutdown", "shutdown")
    assert old.since == "2 minutes ago"
    assert old.error == "task: non-zero exit (1)" and old.slot == 2 and old.node == "node-3"
    assert tasks[5].current_state == "preparing" and not tasks[5].running
    assert sum(t.running for t in tasks) == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/5", (3, 5, None)),
        ("0/1", (0, 1, None)),
        ("3/5 (max 2 per node)", (3, 5, 2)),
        ("10/10", (10, 10, None)),
        ("0/1 (1/1 completed)", (0, 1, None)),
    ],
)
def test_parse_replicas(text: str, expected: tuple[int, int, int | None]) -> None:
    assert parse_replicas(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Running 5 minutes ago", ("running", "5 minutes ago")),
        ("Rejected less than a second ago", ("rejected", "less than a second ago")),
        ("New", ("new", "")),
    ],
)
def test_parse_current_state(text: str, expected: tuple[str, str]) -> None:
    assert parse_current_state(text) == expected


def test_global_task_has_no_slot() -> None:
    line = (
        '{"CurrentState":"Running 1 minute ago","DesiredState":"Running","Error":"",'
        '"ID":"t1","Image":"a","Name":"agent.q1w3e5r7t9y2u4i6o8p0a2s4d","Node":"node-3",'
        '"Ports":""}'
    )
    (task,) = parse_service_ps(line)
    assert task.service == "agent" and task.slot is None


def test_blank_lines_are_ignored() -> None:
    assert parse_json_lines("\n\n") == []


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        (parse_node_ls, "Error response from daemon: This node is not a swarm manager."),
        (parse_node_ls, '{"ID": "x"}'),
        (parse_service_ls, '{"ID":"a","Image":"i","Mode":"replicated","Name":"n","Replicas":"?"}'),
        (parse_node_inspect, "{}"),
        (parse_node_inspect, "[{}]"),
        (parse_service_ps, "[1, 2]"),
    ],
)
def test_bad_output_raises_parse_error(parser: object, text: str) -> None:
    with pytest.raises(SwarmParseError):
        parser(text)  # type: ignore[operator]


# The snapshot: every answer of a dashboard refresh in one command's output -------------


@pytest.mark.parametrize("path", params("snapshot*.txt"))
def test_snapshot_recordings(path: Path) -> None:
    asked = path.stem.removeprefix("snapshot").removeprefix("-")  # snapshot-<service>.txt
    snapshot = parse_snapshot(path.read_text(), [asked] if asked else None)
    assert snapshot.nodes and snapshot.services
    for node in snapshot.nodes:  # node ls, with the address node inspect gave
        assert node.address and node.address != "0.0.0.0"
    assert snapshot.leader is not None
    assert snapshot.read
    for service in (s for s in snapshot.services if s.name in snapshot.read):
        # the tasks listed are the ones service ls counts
        running = [t for t in snapshot.tasks_of(service.name) if t.running]
        assert len(running) == service.replicas_running
        assert all(task.desired_state == "running" for task in snapshot.tasks_of(service.name))


def test_snapshot_values() -> None:
    snapshot = parse_snapshot((DATA / "snapshot.txt").read_text())
    assert [(n.hostname, n.address, n.manager_status) for n in snapshot.nodes] == [
        ("node-1", "192.168.60.11", "Leader"),
        ("node-2", "192.168.60.12", "Reachable"),
        ("node-3", "192.168.60.13", ""),
    ]
    assert snapshot.read == ("readmodel-bench", "registry_registry")
    distributions = snapshot.distributions()
    assert dict(distributions["readmodel-bench"]) == {"node-1": 10, "node-2": 10, "node-3": 10}
    assert dict(distributions["registry_registry"]) == {"node-1": 1, "node-2": 1, "node-3": 1}
    quorum = snapshot.quorum
    assert quorum is not None and (quorum.managers, quorum.reachable) == (2, 2)


def test_snapshot_of_some_services_lists_only_their_tasks() -> None:
    # recorded with snapshot_command(["readmodel-bench", "nope"]): nope does not exist
    text = (DATA / "snapshot-readmodel-bench.txt").read_text()
    tasks_printed = split_sections(text)["service-ps"]
    assert "registry_registry" not in tasks_printed  # the command itself left them out
    snapshot = parse_snapshot(text, ["readmodel-bench", "nope"])
    assert snapshot.read == ("readmodel-bench",)
    assert snapshot.distribution("readmodel-bench").total == 30
    with pytest.raises(UsageError, match="'nope' is not valid; choose one of: readmodel-bench"):
        snapshot.distribution("nope")
    with pytest.raises(UsageError, match="did not read the tasks of 'registry_registry'"):
        snapshot.tasks_of("registry_registry")


def test_snapshot_cut_short_raises_parse_error() -> None:
    text = (DATA / "snapshot.txt").read_text()
    before_end = text[: text.index(f"{MARK} end")]
    with pytest.raises(SwarmParseError, match="the end marker missing"):
        parse_snapshot(before_end)
    with pytest.raises(SwarmParseError, match="service-ls, service-ps missing"):
        parse_snapshot(text[: text.index(f"{MARK} service-ls")])
