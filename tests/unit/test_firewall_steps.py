"""firewall() compares the rules a node has with its own, from a real lab's answers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.fakes import RECORDED_NODES, recorded_lab, recording
from workshop.errors import UsageError
from workshop.steps.firewall import (
    RULES_FILE,
    UNIT_FILE,
    firewall,
    firewall_ok,
    lab_addresses,
    ruleset,
)

#: The lab the loaded rules were recorded on (``wssec``, tests/data/steps/README.md).
WSSEC = tuple(
    replace(node, address=f"192.168.65.{11 + i}") for i, node in enumerate(RECORDED_NODES)
)


def test_rules_loaded_on_the_lab_are_the_ones_the_step_writes() -> None:
    # The digest each node printed is of the files the step wrote there.
    lab, remote = recorded_lab(recording("firewall-loaded"), nodes=WSSEC)
    assert lab_addresses(lab) == ["192.168.65.11", "192.168.65.12", "192.168.65.13"]
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
    lab, remote = recorded_lab(recording("firewall-loaded"), absent_on_2, nodes=WSSEC)
    result = firewall(lab)
    assert {node for node, _ in remote.files} == {"node-2"}
    assert result.changed_nodes == ["node-2"]


def test_the_lab_is_its_node_addresses_not_their_network() -> None:
    lab, _ = recorded_lab(recording("firewall-loaded"), nodes=WSSEC)
    rules = ruleset(lab_addresses(lab))
    assert "elements = { 192.168.65.11, 192.168.65.12, 192.168.65.13 }" in rules
    assert "/24" not in rules and "192.168.65.1," not in rules
    # The same lab on other addresses is not in place: the set must follow the nodes.
    moved = (*WSSEC[:2], replace(WSSEC[2], address="192.168.65.14"))
    lab, _ = recorded_lab(recording("firewall-loaded"), nodes=moved)
    assert not firewall_ok(lab)


def test_published_ports_are_filtered_in_forward_for_new_dnat_connections() -> None:
    rules = ruleset(["192.168.65.11", "192.168.65.12"])
    forward = rules[rules.index("chain forward") :]
    assert "type filter hook forward priority filter; policy accept;" in forward
    assert "ct state new ct status dnat jump published" in forward
    published = rules[rules.index("chain published") :]
    lines = [line.strip() for line in published.splitlines()]
    assert lines.index("ip saddr @lab_nodes accept") < lines.index("counter drop")


def test_a_node_without_an_ipv4_address_is_a_usage_error() -> None:
    lab, remote = recorded_lab(nodes=(*WSSEC[:2], replace(WSSEC[2], address="node-3.lan")))
    with pytest.raises(UsageError, match=r"node-3's lab address 'node-3\.lan'"):
        firewall(lab)
    assert remote.commands == []
