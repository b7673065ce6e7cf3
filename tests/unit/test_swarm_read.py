"""SwarmReader against a fake lab that answers with recorded docker output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.fakes import (
    FakeManagersLab,
    ManagerAnswer,
    is_snapshot,
    result,
    running_only,
    snapshot_output,
)
from workshop.errors import CommandFailed, NodeUnreachable, UsageError, WorkshopError
from workshop.lab.results import RunResult
from workshop.swarm import Quorum, SwarmReader, SwarmUnavailable
from workshop.swarm.read import classify_failure
from workshop.swarm.snapshot import parse_snapshot, snapshot_command

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "swarm"
NO_LEADER = (
    "Error response from daemon: rpc error: code = Unknown desc = The swarm does not "
    "have a leader. It's possible that too few managers are online. Make sure more than "
    "half of the managers are online.\n"
)
NOT_MANAGER = (
    "Error response from daemon: This node is not a swarm manager. Worker nodes can't be "
    "used to view or modify cluster state. Please run this command on a manager node or "
    "promote the current node to a manager.\n"
)


def recorded(
    node: str, node_ls: str = "node-ls-draft.jsonl", extra: dict[str, str] | None = None
) -> ManagerAnswer:
    """A manager answering from recorded files (``extra``: command prefix -> text).

    The snapshot gets every recording, and the ``docker service ps`` texts of ``extra``.
    """

    def answer(command: str) -> RunResult:
        files = {
            "docker node ls": (DATA / node_ls).read_text(),
            "docker node inspect": (DATA / "node-inspect-draft.json").read_text(),
            "docker service ls": (DATA / "service-ls-draft.jsonl").read_text(),
            "docker service ps helloworld": (
                DATA / "service-ps-helloworld-draft.jsonl"
            ).read_text(),
        }
        pairs = [*(extra or {}).items(), *files.items()]
        keep = running_only if "desired-state=running" in command else str
        if is_snapshot(command):
            tasks = "".join(
                text for prefix, text in pairs if prefix.startswith("docker service ps")
            )
            snapshot = snapshot_output(
                files["docker node ls"],
                files["docker node inspect"],
                files["docker service ls"],
                keep(tasks),
            )
            return result(node, command, stdout=snapshot)
        for prefix, text in pairs:
            if command.startswith(prefix):
                return result(node, command, stdout=keep(text))
        return result(node, command, rc=1, stderr=f"Error: No such service: {command}\n")

    return answer


def unreachable(node: str) -> ManagerAnswer:
    return lambda command: result(node, command, rc=None, error="timed out after 7 s")


def says(node: str, stderr: str) -> ManagerAnswer:
    return lambda command: result(node, command, rc=1, stderr=stderr)


def raises(node: str) -> ManagerAnswer:
    def answer(command: str) -> RunResult:
        raise NodeUnreachable(node, "192.168.56.11", "Connection refused")

    return answer


def test_reads_nodes_with_addresses_from_first_manager() -> None:
    lab = FakeManagersLab(node_1=recorded("node-1"), node_2=recorded("node-2"))
    nodes = SwarmReader(lab, timeout=7).nodes()
    assert [(n.hostname, n.address) for n in nodes] == [
        ("node-1", "192.168.56.11"),
        ("node-2", "192.168.56.12"),
        ("node-3", "192.168.56.13"),
    ]
    assert lab.asked == ["node-1", "node-1"]
    _node, command, sudo, timeout = lab.calls[0]
    assert command == "docker node ls --format '{{json .}}'"
    assert sudo is True and timeout == 7
    assert lab.calls[1][1].startswith("docker node inspect x8k2m4q9w1e5r7t3y6u0i2o4p ")


@pytest.mark.parametrize(
    "first",
    [
        unreachable("node-1"),
        raises("node-1"),
        says("node-1", NOT_MANAGER),
        says("node-1", NO_LEADER),
    ],
    ids=["unreachable", "raises-unreachable", "not-a-manager", "no-leader"],
)
def test_fails_over_to_next_manager(first: ManagerAnswer) -> None:
    lab = FakeManagersLab(node_1=first, node_2=recorded("node-2"))
    reader = SwarmReader(lab, timeout=7)
    services = reader.services()
    assert [s.name for s in services] == ["helloworld", "web", "agent"]
    assert lab.asked == ["node-1", "node-2"]
    assert reader.last_manager == "node-2"
    reader.services()  # the manager that answered is asked first next time
    assert lab.asked[2:] == ["node-2"]
    assert all(timeout == 7 for *_, timeout in lab.calls)


def test_error_names_every_manager_when_all_fail() -> None:
    lab = FakeManagersLab(node_1=unreachable("node-1"), node_2=says("node-2", NO_LEADER))
    with pytest.raises(SwarmUnavailable) as caught:
        SwarmReader(lab).services()
    error = caught.value
    assert isinstance(error, WorkshopError)
    assert [a.manager for a in error.attempts] == ["node-1", "node-2"]
    message = str(error)
    assert "docker service ls" in message
    assert "node-1: timed out after 7 s" in message
    assert "node-2: " in message and "does not have a leader" in message
    assert error.no_leader and "majority" in message


def test_command_that_did_not_finish_fails_over() -> None:
    lab = FakeManagersLab(
        node_1=lambda c: result("node-1", c, rc=None), node_2=says("node-2", NOT_MANAGER)
    )
    with pytest.raises(SwarmUnavailable, match="node-1: did not finish within 3 s"):
        SwarmReader(lab, timeout=3).nodes()
    assert lab.asked == ["node-1", "node-2"]


def test_failure_of_the_command_itself_is_not_failed_over() -> None:
    lab = FakeManagersLab(node_1=recorded("node-1"), node_2=recorded("node-2"))
    with pytest.raises(CommandFailed) as caught:
        SwarmReader(lab).tasks("nope")
    assert caught.value.node == "node-1" and caught.value.rc == 1
    assert lab.asked == ["node-1"]


def test_tasks_filter_on_desired_state() -> None:
    lab = FakeManagersLab(node_1=recorded("node-1"), node_2=recorded("node-2"))
    reader = SwarmReader(lab)
    assert len(reader.tasks("helloworld")) == 5
    assert "--filter desired-state=running" in lab.calls[-1][1]
    assert "--no-trunc" in lab.calls[-1][1]
    assert len(reader.tasks("helloworld", desired=None)) == 6
    assert "--filter" not in lab.calls[-1][1]


def test_replica_distribution_counts_running_tasks_per_node() -> None:
    lab = FakeManagersLab(node_1=recorded("node-1"), node_2=recorded("node-2"))
    reader = SwarmReader(lab)
    assert reader.replica_distribution("helloworld") == {"node-1": 2, "node-2": 1, "node-3": 1}
    # helloworld.5 is still preparing on node-2
    everything = reader.replica_distribution("helloworld", state=None)
    assert everything == {"node-1": 2, "node-2": 2, "node-3": 1}


WEB_PS = "".join(
    json.dumps(
        {
            "CurrentState": "Running 1 minute ago",
            "DesiredState": "Running",
            "Error": "",
            "ID": f"t{slot}",
            "Image": "web:1",
            "Name": f"web.{slot}",
            "Node": node,
            "Ports": "",
        }
    )
    + "\n"
    for slot, node in [(1, "node-1"), (2, "node-2"), (3, "node-1")]
)


def test_distribution_includes_nodes_without_tasks_and_marks() -> None:
    answer = recorded("node-1", "node-ls-faults-draft.jsonl", {"docker service ps web": WEB_PS})
    lab = FakeManagersLab(node_1=answer, node_2=answer)
    distribution = SwarmReader(lab).replica_distribution("web")
    assert dict(distribution) == {"node-1": 2, "node-2": 1, "node-3": 0}
    assert list(distribution) == ["node-1", "node-2", "node-3"]
    assert distribution.total == 3
    assert distribution.marks == {"node-1": "down", "node-3": "drain"}
    lines = repr(distribution).splitlines()
    assert lines[0] == "web: 3 tasks on 2 nodes"
    assert lines[1].split() == ["NODE", "TASKS"]
    assert lines[2].split() == ["node-1", "2", "##", "(down)"]
    assert lines[4].split() == ["node-3", "0", "(drain)"]


def test_distributions_of_all_services_share_one_service_ps() -> None:
    answer = recorded("node-1", extra={"docker service ps helloworld web agent": WEB_PS})
    lab = FakeManagersLab(node_1=answer, node_2=answer)
    distributions = SwarmReader(lab).distributions()
    assert list(distributions) == ["helloworld", "web", "agent"]
    assert distributions["web"] == {"node-1": 2, "node-2": 1, "node-3": 0}
    assert distributions["agent"] == {"node-1": 0, "node-2": 0, "node-3": 0}
    assert sum(" service ps " in command for _, command, *_ in lab.calls) == 1


def test_leader_and_quorum() -> None:
    lab = FakeManagersLab(node_1=recorded("node-1"), node_2=recorded("node-2"))
    reader = SwarmReader(lab)
    leader = reader.leader()
    assert leader is not None and leader.hostname == "node-1"
    quorum = reader.quorum()
    assert (quorum.managers, quorum.reachable, quorum.leader) == (2, 2, "node-1")
    assert quorum.tolerance == 0


def test_quorum_after_a_manager_failed() -> None:
    answer = recorded("node-2", "node-ls-faults-draft.jsonl")
    lab = FakeManagersLab(node_1=unreachable("node-1"), node_2=answer)
    quorum = SwarmReader(lab).quorum()
    assert quorum == Quorum(managers=3, reachable=2, leader="node-2")
    assert quorum.summary == "quorum OK, tolerates no failure"


def test_quorum_without_a_leader_is_estimated() -> None:
    lab = FakeManagersLab(node_1=unreachable("node-1"), node_2=says("node-2", NO_LEADER))
    reader = SwarmReader(lab)
    quorum = reader.quorum()
    assert quorum == Quorum(managers=2, reachable=1, leader=None)
    assert not quorum.has_quorum
    assert reader.leader() is None
    sample = reader.sample("helloworld", t=12.5, event="node-1 powered off")
    assert (sample.running, sample.leader, sample.event) == (None, None, "node-1 powered off")


def test_quorum_without_any_answer_raises() -> None:
    lab = FakeManagersLab(node_1=unreachable("node-1"), node_2=unreachable("node-2"))
    with pytest.raises(SwarmUnavailable) as caught:
        SwarmReader(lab).quorum()
    assert not caught.value.no_leader


def test_sample_counts_running_tasks_and_leader() -> None:
    lab = FakeManagersLab(node_1=recorded("node-1"), node_2=recorded("node-2"))
    sample = SwarmReader(lab).sample("helloworld", t=3.0)
    assert (sample.t, sample.running, sample.leader, sample.event) == (3.0, 4, "node-1", None)


def test_managers_learned_from_the_swarm_are_asked_too() -> None:
    faults = recorded("node-2", "node-ls-faults-draft.jsonl")
    lab = FakeManagersLab(
        node_1=recorded("node-1", "node-ls-faults-draft.jsonl"),
        node_2=faults,
        node_3=recorded("node-3", "node-ls-faults-draft.jsonl"),
    )
    reader = SwarmReader(lab)
    reader.nodes()  # node-3 was promoted: the swarm reports it as a manager
    assert reader.candidates() == ["node-1", "node-2", "node-3"]
    lab.answers["node-1"] = unreachable("node-1")
    lab.answers["node-2"] = says("node-2", NO_LEADER)
    assert len(reader.services()) == 3
    assert lab.asked[-3:] == ["node-1", "node-2", "node-3"]


@pytest.mark.parametrize(
    ("stderr", "answered", "no_leader"),
    [
        (NO_LEADER, True, True),
        (NOT_MANAGER, True, False),
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?\n",
            False,
            False,
        ),
        ("sudo: unable to resolve host node-1\nbash: docker: command not found\n", False, False),
    ],
)
def test_classify_failures_that_mean_ask_another_manager(
    stderr: str, answered: bool, no_leader: bool
) -> None:
    attempt = classify_failure(stderr)
    assert attempt is not None
    assert (attempt.answered, attempt.no_leader) == (answered, no_leader)
    assert attempt.reason == stderr.strip().splitlines()[-1]


def test_classify_failure_of_the_command_itself() -> None:
    assert classify_failure("Error: No such service: nope\n") is None


def test_a_learned_manager_the_lab_does_not_know_is_reported() -> None:
    faults = recorded("node-1", "node-ls-faults-draft.jsonl")
    lab = FakeManagersLab(node_1=faults, node_2=recorded("node-2"))
    reader = SwarmReader(lab)
    reader.nodes()
    lab.answers["node-1"] = unreachable("node-1")
    lab.answers["node-2"] = unreachable("node-2")
    with pytest.raises(SwarmUnavailable, match="node-3: unknown node 'node-3'"):
        reader.services()


# --- the snapshot: one round trip -------------------------------------------------------

FAKE_DOCKER = """#!{python}
# Answers like docker did when tests/data/swarm/{recording} was recorded; logs its arguments.
import json, os, sys

parts, name = {{}}, None
for line in open(os.environ["RECORDING"]):
    if line.startswith("### workshop-snapshot "):
        name = line.split()[-1]
        parts[name] = ""
    else:
        parts[name] += line
args = sys.argv[1:]
with open(os.environ["DOCKER_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if " ".join(args[:2]) == os.environ.get("DOCKER_FAILS"):
    sys.exit("Error response from daemon: This node is not a swarm manager.")
lines = lambda name: [line for line in parts[name].splitlines() if line.strip()]
if args[:2] == ["node", "ls"] and args[3] == "{{{{.ID}}}} {{{{json .}}}}":
    print("\\n".join(json.loads(line)["ID"] + " " + line for line in lines("node-ls")))
elif args[:2] == ["node", "inspect"]:
    print(parts["node-inspect"], end="")
elif args[:2] == ["service", "ls"] and args[3] == "{{{{.Name}}}} {{{{json .}}}}":
    print("\\n".join(json.loads(line)["Name"] + " " + line for line in lines("service-ls")))
elif args[:2] == ["service", "ps"]:
    names = [a for a in args[2:] if not a.startswith("-") and "{{{{" not in a and "=" not in a]
    for line in lines("service-ps"):
        if json.loads(line)["Name"].rsplit(".", 1)[0] in names:
            print(line)
else:
    sys.exit(f"unexpected docker {{args}}")
"""


def run_in_a_shell(
    tmp_path: Path, recording: str, command: str, fails: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the snapshot's shell line with a `docker` that answers from a recording.

    ``fails``: the docker command (``"node ls"``) that fails as on a worker.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    python = f"{sys.executable} -S"  # no site packages: starts fast
    docker.write_text(FAKE_DOCKER.format(python=python, recording=recording))
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "RECORDING": str(DATA / recording),
        "DOCKER_LOG": str(log),
        "DOCKER_FAILS": fails,
    }
    return subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True)


def docker_calls(tmp_path: Path) -> list[list[str]]:
    """The arguments of every `docker` that :func:`run_in_a_shell` ran."""
    return [json.loads(line) for line in (tmp_path / "docker.log").read_text().splitlines()]


@pytest.mark.parametrize(
    ("recording", "services", "listed"),
    [
        ("snapshot.txt", None, ["readmodel-bench", "registry_registry"]),
        ("snapshot-readmodel-bench.txt", ["readmodel-bench", "nope"], ["readmodel-bench"]),
    ],
)
def test_snapshot_command_runs_four_docker_commands_in_one_shell(
    tmp_path: Path, recording: str, services: list[str] | None, listed: list[str]
) -> None:
    done = run_in_a_shell(tmp_path, recording, snapshot_command(services))
    assert done.returncode == 0, done.stderr
    stdout, calls = done.stdout, docker_calls(tmp_path)
    assert stdout == (DATA / recording).read_text()  # what the lab printed, byte for byte
    listings, uses = sorted(c[:2] for c in calls[:2]), sorted(c[:2] for c in calls[2:])
    assert listings == [["node", "ls"], ["service", "ls"]]  # side by side, then
    assert uses == [["node", "inspect"], ["service", "ps"]]  # what needs their IDs and names
    by_kind = {" ".join(call[:2]): call for call in calls}
    node_ids = [n.id for n in parse_snapshot(stdout, services).nodes]
    assert by_kind["node inspect"][2:] == node_ids
    options = ["--no-trunc", "--format", "{{json .}}", "--filter", "desired-state=running"]
    assert by_kind["service ps"][2:] == options + listed  # the names that exist, nothing else


@pytest.mark.parametrize("fails", ["node ls", "service ls", "node inspect", "service ps"])
def test_snapshot_command_stops_at_the_first_failure(tmp_path: Path, fails: str) -> None:
    done = run_in_a_shell(tmp_path, "snapshot.txt", snapshot_command(), fails=fails)
    assert done.returncode != 0 and "### workshop-snapshot end" not in done.stdout
    attempt = classify_failure(done.stderr)  # the reader asks another manager
    assert attempt is not None and attempt.reason.endswith("not a swarm manager.")


def snapshot_answer(node: str, recording: str = "snapshot.txt") -> ManagerAnswer:
    """A manager that answers the snapshot with a recording of the real command."""

    def answer(command: str) -> RunResult:
        if not is_snapshot(command):
            return result(node, command, rc=1, stderr=f"unexpected command {command}\n")
        return result(node, command, stdout=(DATA / recording).read_text())

    return answer


def test_snapshot_is_one_round_trip_to_one_manager() -> None:
    lab = FakeManagersLab(node_1=snapshot_answer("node-1"), node_2=snapshot_answer("node-2"))
    reader = SwarmReader(lab, timeout=7)
    snapshot = reader.snapshot()
    assert lab.asked == ["node-1"]
    _node, command, sudo, timeout = lab.calls[0]
    assert command == snapshot_command() and sudo is True and timeout == 7
    assert snapshot.manager == "node-1" and snapshot.leader is not None
    assert snapshot.distribution("readmodel-bench").total == 30


def test_snapshot_fails_over_like_a_single_command() -> None:
    lab = FakeManagersLab(
        node_1=says("node-1", NO_LEADER), node_2=snapshot_answer("node-2", "snapshot.txt")
    )
    reader = SwarmReader(lab)
    snapshot = reader.snapshot(["readmodel-bench"])
    assert lab.asked == ["node-1", "node-2"]
    assert snapshot.manager == reader.last_manager == "node-2"
    lab.answers["node-2"] = unreachable("node-2")
    with pytest.raises(SwarmUnavailable) as caught:
        reader.snapshot()
    assert lab.asked[2:] == ["node-2", "node-1"]  # the last to answer is asked first
    assert caught.value.no_leader
    assert str(caught.value).startswith("No manager could answer `docker node ls, node inspect")


def test_snapshot_learns_managers_the_swarm_reports() -> None:
    lab = FakeManagersLab(
        node_1=recorded("node-1", "node-ls-faults-draft.jsonl"), node_2=recorded("node-2")
    )
    reader = SwarmReader(lab)
    reader.snapshot([])
    assert reader.candidates() == ["node-1", "node-2", "node-3"]


def test_distribution_of_a_service_the_swarm_lacks() -> None:
    lab = FakeManagersLab(node_1=snapshot_answer("node-1"), node_2=snapshot_answer("node-2"))
    snapshot = SwarmReader(lab).snapshot(["nope"])
    assert snapshot.read == ()
    with pytest.raises(UsageError, match="service 'nope' is not valid"):
        snapshot.distribution("nope")
