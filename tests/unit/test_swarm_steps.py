"""The swarm steps' "already in place?" decisions, on docker output recorded on a lab.

Each test runs a step against a lab whose nodes, and whose swarm, answer from
recordings in tests/data/swarm (README-steps.md says how they were made), then
checks what the step decided: leave the lab alone, or change it with the real
command, and never touch the cluster for bad input.
"""

from __future__ import annotations

import pytest

from tests.unit.fakes import Handler, RecordedReader, on, swarm_lab, swarm_recording
from workshop.errors import NotReady, UnknownNode
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
    lab, remote = swarm_lab(info({**IN_SWARM, "node-3": OUTSIDE}))
    reader = RecordedReader(lab, answers={"swarm join-token -q worker": TOKEN + "\n"})
    result = swarm_join(lab, reader=reader)
    assert details(result) == {
        "node-1": (False, "already in the swarm (manager)"),
        "node-2": (False, "already in the swarm (manager)"),
        "node-3": (True, "joined as a worker via 192.168.60.11:2377"),
    }
    assert reader.writes == [["swarm", "join-token", "-q", "worker"]]
    joins = remote.matching("docker swarm join")
    assert len(joins) == 1 and "192.168.60.13" in joins[0] and "192.168.60.11:2377" in joins[0]
    assert not any(TOKEN in command for command in remote.commands)
    assert remote.stdins == [TOKEN + "\n"]


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
