"""The checks' judgements on recorded answers, without a lab (swarm, networks, gluster, advice)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.unit.fakes import FakeSource, FakeVagrantSource, heal_info_node_down
from workshop.checks.network import missing_networks
from workshop.checks.nodes import lab_hint, start_hint
from workshop.checks.storage import heal_problems, peer_problems
from workshop.checks.swarm import role_line, swarm_problems
from workshop.steps.gluster_parse import parse_heal_info, parse_pool_list
from workshop.swarm import SwarmNode, parse_node_ls

DATA = Path(__file__).resolve().parent.parent / "data"
NAMES = ["node-1", "node-2", "node-3"]


def _nodes(name: str) -> list[SwarmNode]:
    return parse_node_ls((DATA / "swarm" / name).read_text())


def _gluster(name: str) -> str:
    return (DATA / "gluster" / name).read_text()


# --- swarm ------------------------------------------------------------------------
def test_a_healthy_swarm_has_no_problems() -> None:
    nodes = _nodes("node-ls.jsonl")
    assert swarm_problems(nodes, NAMES, managers=2, workers=1) == []
    assert role_line(nodes) == "node-1 leader, node-2 reachable, node-3 worker"


def test_a_machine_outside_the_swarm_is_named() -> None:
    problems = swarm_problems(_nodes("node-ls.jsonl"), [*NAMES, "node-4"], 2, 1)
    assert problems == ["not in the swarm: node-4"]


def test_after_faults_the_down_leader_and_new_roles_are_reported() -> None:
    # node-1 (the old leader) down, node-3 promoted and leading: 3 managers, 0 workers.
    problems = swarm_problems(_nodes("node-ls-faults.jsonl"), NAMES, 2, 1)
    assert problems == [
        "not ready: node-1 (down)",
        "3 managers and 0 workers, expected 2 and 1",
        "managers not reachable: node-1",
    ]
    assert swarm_problems(_nodes("node-ls-faults.jsonl"), NAMES, 3, 0)[0].startswith("not ready")


def test_no_swarm_at_all() -> None:
    assert swarm_problems([], NAMES, 2, 1) == [
        "not in the swarm: node-1, node-2, node-3",
        "0 managers and 0 workers, expected 2 and 1",
        "no leader",
    ]


# --- networks ---------------------------------------------------------------------
#: The recorded listing without the two networks joining a swarm adds.
ENGINE_ONLY = "".join(
    line + "\n"
    for line in (DATA / "swarm" / "network-ls.jsonl").read_text().splitlines()
    if '"Name":"ingress"' not in line and '"Name":"docker_gwbridge"' not in line
)


def test_an_engine_outside_a_swarm_lacks_both_swarm_networks() -> None:
    assert missing_networks(ENGINE_ONLY) == ["ingress (overlay)", "docker_gwbridge (bridge)"]
    assert missing_networks("") == ["ingress (overlay)", "docker_gwbridge (bridge)"]


def test_a_network_of_the_right_name_but_another_driver_does_not_count() -> None:
    local_ingress = ENGINE_ONLY.replace('"Name":"bridge"', '"Name":"ingress"')
    assert "ingress (overlay)" in missing_networks(local_ingress)


# --- gluster ----------------------------------------------------------------------
def test_pool_of_two_connected_peers() -> None:
    pool = parse_pool_list(_gluster("pool-list.xml"))
    assert peer_problems(pool, peers=2) == []
    assert peer_problems(pool, peers=3) == ["2 of 3 peers in the pool"]


def test_a_pool_before_any_probe_has_no_peers() -> None:
    pool = parse_pool_list(_gluster("pool-list-alone.xml"))
    assert peer_problems(pool, peers=2) == ["0 of 2 peers in the pool"]


def test_a_disconnected_peer_is_named() -> None:
    pool = [
        replace(peer, connected=False) if peer.hostname == "gluster-2" else peer
        for peer in parse_pool_list(_gluster("pool-list.xml"))
    ]
    assert peer_problems(pool, peers=2) == ["gluster-2 (Disconnected)"]


def test_heal_info_with_a_node_down() -> None:
    brick = "gluster-{}:/data/bricks/swarm-data/brick"
    assert heal_problems(parse_heal_info(heal_info_node_down())) == [
        f"{brick.format(1)} has 2 to heal",
        f"{brick.format(2)} has 2 to heal",
        f"{brick.format(3)} Transport endpoint is not connected",
    ]
    assert heal_problems(parse_heal_info(_gluster("heal-info.xml"))) == []


# --- advice -----------------------------------------------------------------------
def test_advice_follows_the_source(tmp_path: Path) -> None:
    hosts, vagrant = FakeSource(), FakeVagrantSource(tmp_path)
    assert "workshop up" in lab_hint(vagrant)
    assert "workshop up" not in lab_hint(hosts)
    assert start_hint(hosts, ["node-2"]) == hosts.start_advice("node-2")
    both = start_hint(vagrant, ["node-1", "node-3"])
    assert "lab.start('node-1')" in both and "lab.start('node-3')" in both
