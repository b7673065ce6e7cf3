"""firewall() compares the rules a node has with its own, from a real lab's answers."""

from __future__ import annotations

from tests.unit.fakes import recorded_lab, recording
from workshop.steps.firewall import RULES_FILE, UNIT_FILE, firewall, firewall_ok, lab_network


def test_rules_loaded_on_the_lab_are_the_ones_the_step_writes() -> None:
    # The digest each node printed is of the files the step wrote there.
    lab, remote = recorded_lab(recording("firewall-loaded"))
    assert lab_network(lab) == ["192.168.60.0/24"]
    assert firewall_ok(lab)
    result = firewall(lab)
    assert not result.changed and remote.unrecorded == [] and remote.files == []


def test_a_node_without_the_rules_gets_file_unit_and_nftables() -> None:
    lab, remote = recorded_lab(recording("firewall-absent"))
    assert not firewall_ok(lab)
    result = firewall(lab)
    assert sorted(remote.files) == sorted(
        (node, path) for node in lab.names for path in (RULES_FILE, UNIT_FILE)
    )
    assert remote.changes(r"systemctl restart workshop-firewall\.service") == lab.names
    assert remote.changes(r"install --no-install-recommends nftables") == lab.names
    assert result.changed_nodes == lab.names


def test_only_the_node_that_lost_its_rules_is_fixed() -> None:
    absent_on_2 = [a for a in recording("firewall-absent") if a["node"] == "node-2"]
    lab, remote = recorded_lab(recording("firewall-loaded"), absent_on_2)
    result = firewall(lab)
    assert {node for node, _ in remote.files} == {"node-2"}
    assert result.changed_nodes == ["node-2"]
