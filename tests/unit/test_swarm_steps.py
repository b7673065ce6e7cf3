"""The swarm steps' "already in place?" decisions, on docker output recorded on a lab.

Each test runs a step against a lab whose nodes, and whose swarm, answer from
recordings in tests/data/swarm (README-steps.md says how they were made), then
checks what the step decided: leave the lab alone, or change it with the real
command, and never touch the cluster for bad input.
"""

from __future__ import annotations

import json
import re
from functools import partial

import pytest

from tests.unit.fakes import (
    WSREC_NODES,
    FakeSource,
    Handler,
    RecordedReader,
    Reply,
    StepsRecordedReader,
    SwarmRemote,
    on,
    recorded_answer,
    recording,
    swarm_lab,
    swarm_recording,
)
from workshop import Lab
from workshop.errors import CommandFailed, NotReady, UnknownNode
from workshop.steps import joining
from workshop.steps.joining import JOIN_URL, engine_refusal, join_command
from workshop.steps.roles import demote, promote, swarm_roles
from workshop.steps.swarm import active_manager, join_token, swarm_init, swarm_join

NAMES = ("node-1", "node-2", "node-3")
#: What each node of the recorded swarm says of itself (node-1 leads, node-3 works).
IN_SWARM = {name: swarm_recording(f"info-swarm-{name}-steps.json") for name in NAMES}
#: What an engine outside any swarm says.
OUTSIDE = swarm_recording("info-swarm-inactive-steps.json")

TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"
SWARM_CHANGES = ("docker swarm init", "docker swarm join", "docker swarm leave", "docker node")


def info(answers: dict[str, str]) -> list[Handler]:
    """Each node answers ``docker info`` with its own recording."""
    return [on("docker info --format", text, nodes=[node]) for node, text in answers.items()]


def details(result) -> dict[str, tuple[bool, str]]:
    return {change.node: (change.changed, change.detail) for change in result.nodes}


def swarm_changes(commands: list[str]) -> list[str]:
    return [c for c in commands if any(word in c for word in SWARM_CHANGES)]


def calls_on(remote: SwarmRemote, node: str) -> list[str]:
    return [command for name, command in remote.calls if name == node]


def joins_then(info_after: str, node: str) -> Handler:
    """``node`` answers ``docker info`` with ``info_after`` once a join request reached it."""
    joined: list[bool] = []

    def handle(name: str, command: str) -> Reply | None:
        if name != node:
            return None
        if JOIN_URL in command:
            joined.append(True)
            return (0, "", "")
        if joined and command.startswith("docker info --format"):
            return (0, info_after, "")
        return None

    return handle


# --- swarm_init ------------------------------------------------------------------------


def test_swarm_init_leaves_a_lab_that_is_already_in_a_swarm_alone():
    lab, remote = swarm_lab(info(IN_SWARM))
    result = swarm_init(lab)
    assert not result.changed
    assert details(result) == {"node-1": (False, "swarm already exists (manager: node-1)")}
    assert swarm_changes(remote.commands) == []


def test_swarm_init_creates_the_swarm_on_the_first_manager_when_no_node_is_in_one():
    lab, remote = swarm_lab(info(dict.fromkeys(NAMES, OUTSIDE)))
    result = swarm_init(lab)
    assert result.changed
    assert swarm_changes(remote.commands) == ["docker swarm init --advertise-addr 192.168.60.11"]
    assert details(result)["node-1"][0]


# --- swarm_join ------------------------------------------------------------------------


def test_swarm_join_leaves_members_alone_and_names_their_roles():
    lab, remote = swarm_lab(info(IN_SWARM))
    reader = RecordedReader(lab)
    result = swarm_join(lab, reader=reader)
    assert "nodes" in reader.reads  # node-3, a worker, is looked up in the swarm's record
    assert not result.changed
    assert details(result) == {
        "node-1": (False, "already in the swarm (manager)"),
        "node-2": (False, "already in the swarm (manager)"),
        "node-3": (False, "already in the swarm (worker)"),
    }
    assert swarm_changes(remote.commands) == [] and reader.writes == []


def test_swarm_join_does_not_join_again_a_member_in_the_wrong_role():
    lab, remote = swarm_lab(info(IN_SWARM), roles=("manager", "manager", "manager"))
    reader = RecordedReader(lab)
    result = swarm_join(lab, reader=reader)
    assert not result.changed
    changed, detail = details(result)["node-3"]
    assert not changed and detail.startswith("already in the swarm (worker)")
    assert "the lab wants a manager" in detail and "swarm_roles" in detail
    assert swarm_changes(remote.commands) == [] and reader.writes == []


def test_swarm_join_joins_only_the_node_outside_with_the_token_on_stdin():
    joined = joins_then(IN_SWARM["node-3"], "node-3")
    lab, remote = swarm_lab([joined, *info({**IN_SWARM, "node-3": OUTSIDE})])
    reader = RecordedReader(lab, answers={"swarm join-token -q worker": TOKEN + "\n"})
    lines: list[str] = []
    result = swarm_join(lab, reader=reader, progress=lines.append)
    assert details(result) == {
        "node-1": (False, "already in the swarm (manager)"),
        "node-2": (False, "already in the swarm (manager)"),
        "node-3": (True, "joined as a worker via 192.168.60.11:2377"),
    }
    assert reader.writes == [["swarm", "join-token", "-q", "worker"]]
    # Through node-3's Docker API, the request (token included) on stdin only.
    assert [node for node, command in remote.calls if JOIN_URL in command] == ["node-3"]
    assert [json.loads(body) for body in remote.stdins] == [
        {
            "ListenAddr": "0.0.0.0:2377",
            "AdvertiseAddr": "192.168.60.13",
            "RemoteAddrs": ["192.168.60.11:2377"],
            "JoinToken": TOKEN,
        }
    ]
    assert not any(TOKEN[-8:] in command for command in remote.commands)
    # The operator's command is what the learner reads, token masked.
    shown = [line for line in lines if "docker swarm join --token" in line]
    assert shown == [
        "swarm_join: node-3: docker swarm join --token SWMTKN-1-3pu6****… "
        "--advertise-addr 192.168.60.13 192.168.60.11:2377"
    ]


# --- joining through the Docker API: the engine's answers, recorded -------------------

API_ANSWERS = recording("swarm-join-api")


def test_the_engine_s_refusals_are_read_from_its_recorded_answers():
    refusals = [engine_refusal(a["stdout"]) for a in API_ANSWERS if a["command"] == join_command()]
    assert refusals == [
        "rpc error: code = InvalidArgument desc = A valid join token is necessary to join "
        "this cluster",
        "",  # joined: the engine answers nothing
        'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm '
        "and join another one.",
        "Timeout was reached before node joined. The attempt to join the swarm will continue "
        'in the background. Use the "docker info" command to see the current swarm status '
        "of your node.",
    ]
    assert engine_refusal("curl: (7) Couldn't connect to server") == (
        "curl: (7) Couldn't connect to server"
    )


def test_a_refused_join_says_the_engine_s_reason_and_never_the_token():
    refused = API_ANSWERS[0]
    assert refused["rc"] == 22
    answer = on(re.escape(JOIN_URL), refused["stdout"], rc=refused["rc"], nodes=["node-3"])
    lab, _ = swarm_lab([answer, *info({**IN_SWARM, "node-3": OUTSIDE})])
    reader = RecordedReader(lab, answers={"swarm join-token -q worker": TOKEN + "\n"})
    with pytest.raises(CommandFailed) as caught:
        swarm_join(lab, reader=reader)
    message = str(caught.value)
    assert "A valid join token is necessary to join this cluster" in message
    assert "docker swarm join --token SWMTKN-1-3pu6****…" in message
    assert caught.value.node == "node-3" and TOKEN[-8:] not in message


# --- half-joined nodes: they leave, then join again ------------------------------------


def wsrec_lab(handlers: list[Handler]) -> tuple[Lab, SwarmRemote]:
    lab = Lab(FakeSource(WSREC_NODES), list(WSREC_NODES))
    remote = SwarmRemote(handlers)
    lab.remote = remote  # type: ignore[assignment]
    return lab, remote


def stuck_node_2(info_2: str) -> tuple[Lab, SwarmRemote, StepsRecordedReader]:
    """node-1 leads (recorded); node-2 says ``info_2`` until it joins, then it is in."""
    removed = recording("swarm-stuck-removed")
    node_1 = recorded_answer("swarm-stuck-removed", "node-1", "docker info")["stdout"]
    after = recorded_answer("swarm-join-api", "node-2", "docker info")["stdout"]
    handlers = [
        joins_then(after, "node-2"),
        on("docker info --format", node_1, nodes=["node-1"]),
        on("docker info --format", info_2, nodes=["node-2"]),
    ]
    lab, remote = wsrec_lab(handlers)
    inspect = next(a["stdout"] for a in removed if a["command"].startswith("docker node inspect"))
    reader = StepsRecordedReader(lab, inspect, answers={"swarm join-token -q worker": TOKEN + "\n"})
    return lab, remote, reader


@pytest.mark.parametrize(
    ("recorded", "why"),
    [
        ("swarm-stuck-pending", "its swarm state is pending"),
        ("swarm-stuck-removed", "the swarm's managers do not list it"),
    ],
)
def test_a_half_joined_node_leaves_and_joins_again(recorded, why, monkeypatch):
    monkeypatch.setattr(joining, "STUCK_GRACE", 0.0)  # no wait for it to settle
    info_2 = recorded_answer(recorded, "node-2", "docker info")["stdout"]
    lab, remote, reader = stuck_node_2(info_2)
    result = swarm_join(lab, reader=reader)
    assert swarm_changes(calls_on(remote, "node-2")) == ["docker swarm leave --force"]
    assert [command for command in calls_on(remote, "node-2") if JOIN_URL in command] == [
        join_command()
    ]
    assert details(result) == {
        "node-1": (False, "already in the swarm (manager)"),
        "node-2": (
            True,
            f"joined as a worker via 192.168.66.11:2377 (it was stuck: {why}; it left first)",
        ),
    }
    assert calls_on(remote, "node-1") and swarm_changes(calls_on(remote, "node-1")) == []
    # The entries node-2 left behind in the record (status down) are removed.
    assert [w[:3] for w in reader.writes if w[:2] == ["node", "rm"]] == [
        ["node", "rm", "--force"]
    ] * 2


def test_the_entry_of_a_node_that_left_is_removed_even_while_still_called_ready():
    # node-2 left and joined again: its old entry stays Ready until heartbeats run out.
    name = "swarm-left-still-ready"
    after = recorded_answer(name, "node-2", "docker info", 1)["stdout"]
    before = {n: recorded_answer(name, n, "docker info")["stdout"] for n in ("node-1", "node-2")}
    lab, _ = wsrec_lab(
        [joins_then(after, "node-2")]
        + [on("docker info", text, nodes=[node]) for node, text in before.items()]
    )
    inspect = recorded_answer(name, "node-1", "docker node inspect")["stdout"]
    reader = StepsRecordedReader(lab, inspect, answers={"swarm join-token -q worker": TOKEN})
    result = swarm_join(lab, reader=reader)
    assert result["node-2"].changed
    removed = [w for w in reader.writes if w[:2] == ["node", "rm"]]
    assert removed == [["node", "rm", "--force", "ypcjarqo6r4ifmaisyy0mplqr"]]


def test_a_pending_node_that_settles_by_itself_is_left_alone(monkeypatch):
    # node-3's engine restarted: `pending` for a moment, then in the swarm again.
    pending = recorded_answer("swarm-stuck-pending", "node-2", "docker info")["stdout"]
    answers = [pending, IN_SWARM["node-3"]]

    def node_3(name: str, command: str) -> Reply | None:
        if name != "node-3" or not command.startswith("docker info --format"):
            return None
        return (0, answers.pop(0) if len(answers) > 1 else answers[0], "")

    monkeypatch.setattr(joining, "STUCK_GRACE", 5.0)
    monkeypatch.setattr(joining, "poll_until", partial(joining.poll_until, sleep=lambda s: None))
    lab, remote = swarm_lab([node_3, *info(IN_SWARM)])
    reader = RecordedReader(lab)
    lines: list[str] = []
    result = swarm_join(lab, reader=reader, progress=lines.append)
    assert not result.changed
    assert details(result)["node-3"] == (False, "already in the swarm (worker)")
    assert swarm_changes(remote.commands) == [] and reader.writes == []
    assert any("waiting up to 5 s for node-3 to settle" in line for line in lines)


def test_join_token_without_a_swarm_says_which_state_to_require():
    lab, remote = swarm_lab(info(dict.fromkeys(NAMES, OUTSIDE)))
    reader = RecordedReader(lab, unavailable=True)
    with pytest.raises(NotReady, match=r'lab\.require\("swarm"\)'):
        join_token(lab, "worker", reader=reader)
    with pytest.raises(NotReady, match=r'lab\.require\("swarm"\)'):
        active_manager(lab, reader=reader)
    assert reader.writes == [] and swarm_changes(remote.commands) == []


# --- promote, demote, swarm_roles ------------------------------------------------------


def test_promote_and_demote_leave_nodes_already_in_that_role():
    lab, remote = swarm_lab(info(IN_SWARM))
    reader = RecordedReader(lab)
    promoted = promote(lab, ["node-1", "node-2"], reader=reader)
    demoted = demote(lab, "node-3", reader=reader)
    roles = swarm_roles(lab, reader=reader)
    assert details(promoted) == {
        "node-1": (False, "already a manager"),
        "node-2": (False, "already a manager"),
    }
    assert details(demoted) == {"node-3": (False, "already a worker")}
    assert not roles.changed
    assert details(roles)["node-3"] == (False, "role worker as the lab says")
    assert reader.writes == [] and swarm_changes(remote.commands) == []


def test_promote_of_a_node_outside_the_swarm_says_which_state_to_require():
    lab, _ = swarm_lab(info({**IN_SWARM, "node-3": OUTSIDE}))
    reader = RecordedReader(lab)
    with pytest.raises(NotReady, match=r'node-3 is not in the swarm.*lab\.require\("swarm"\)'):
        promote(lab, "node-3", reader=reader)
    with pytest.raises(UnknownNode):
        promote(lab, "node-9", reader=reader)
    assert reader.writes == []


def test_demote_of_a_manager_runs_docker_node_demote_through_the_reader():
    lab, remote = swarm_lab(info(IN_SWARM))
    reader = RecordedReader(lab)
    result = demote(lab, "node-2", reader=reader)
    node_2 = "jmq3s37mhv6o5mtijrgh56j5m"  # its ID in the recordings
    assert reader.writes == [["node", "demote", node_2]]
    assert details(result)["node-2"][0]
    assert swarm_changes(remote.commands) == []
