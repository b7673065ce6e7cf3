"""Packages and the apt proxy: what counts as in place, on a real lab's answers."""

from __future__ import annotations

import re

import pytest

from tests.unit.fakes import RECORDED_NODES, FakeSource, recorded_lab, recording
from workshop.errors import CommandFailed
from workshop.settings import LabSettings
from workshop.steps import apt
from workshop.steps.apt import apt_cache, install_packages, missing_packages

PACKAGES = ["docker.io", "nftables", "glusterfs-server"]


class _NodeContainers(FakeSource):
    """The development lab's source: node containers on 192.168.60.0/24."""

    settings = LabSettings(name="wsdev", subnet="192.168.60", provider="docker")
    provider = "docker"


def test_installed_packages_are_not_missing() -> None:
    lab, _ = recorded_lab(recording("packages-installed"))
    assert missing_packages(lab, PACKAGES) == {n: [] for n in lab.names}


def test_packages_still_unpacking_count_as_missing() -> None:
    # Recorded while apt was installing them: "install ok unpacked", "half-configured".
    lab, _ = recorded_lab(recording("packages-unpacked"))
    assert missing_packages(lab, PACKAGES) == {n: PACKAGES for n in lab.names}


def test_install_packages_runs_apt_only_where_needed() -> None:
    lab, remote = recorded_lab(recording("packages-installed"))
    assert not install_packages(lab, PACKAGES).changed and remote.unrecorded == []
    unpacked_on_1 = [a for a in recording("packages-unpacked") if a["node"] == "node-1"]
    lab, remote = recorded_lab(recording("packages-installed"), unpacked_on_1)
    result = install_packages(lab, PACKAGES)
    assert remote.changes("apt-get") == ["node-1"] and result.changed_nodes == ["node-1"]


def test_apt_already_pointing_at_the_lab_cache_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(apt, "_ensure_cache_container", lambda settings, progress: None)
    lab, remote = recorded_lab(recording("apt-proxy"))
    lab.source = _NodeContainers(RECORDED_NODES)
    result = apt_cache(lab)
    assert not result.changed and remote.files == []
    assert "http://192.168.60.250:3142" in result["node-1"].detail


def test_a_node_without_the_proxy_setting_gets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apt, "_ensure_cache_container", lambda settings, progress: None)
    in_place = [a for a in recording("apt-proxy") if a["node"] != "node-3"]
    lab, remote = recorded_lab(in_place)
    lab.source = _NodeContainers(RECORDED_NODES)
    assert apt_cache(lab).changed_nodes == ["node-3"]
    assert remote.files == [("node-3", apt.PROXY_FILE)]


def test_hosts_and_vms_keep_their_apt() -> None:
    lab, remote = recorded_lab()
    assert not apt_cache(lab).changed and remote.commands == []


# --- an install cut short: dpkg's journal left behind (recorded, see README.md) ---------

INTERRUPTED = recording("dpkg-interrupted")
#: The same, without apt's refusal (which the repair makes go away).
REPAIRABLE = [a for a in INTERRUPTED if "apt-get -q update" not in a["command"]]


def test_dpkg_state_tells_an_interrupted_run_from_a_finished_one() -> None:
    states = [a for a in INTERRUPTED if a["command"] == apt.DPKG_STATE]
    seen = [(a["node"], apt.dpkg_interrupted(a["stdout"])) for a in states]
    # node-1 untouched; node-2 with dpkg killed mid-unpack, then after the repair.
    assert seen == [("node-1", False), ("node-2", True), ("node-2", False)]
    # apt's own test is the journal; dpkg --audit alone also counts.
    journal, _, audit = states[1]["stdout"].partition(apt.AUDIT_MARK)
    assert apt.dpkg_interrupted(journal + apt.AUDIT_MARK + "\n")
    assert apt.dpkg_interrupted(apt.AUDIT_MARK + audit)


def test_apt_refusing_after_an_interrupted_run_keeps_its_message() -> None:
    refused = next(a for a in INTERRUPTED if "apt-get -q update" in a["command"])
    lab, _ = recorded_lab([refused])
    with pytest.raises(CommandFailed) as caught:
        lab.run(refused["command"], on="node-2", sudo=True).raise_for_failures()
    message = str(caught.value)
    assert "exit code 100" in message
    assert "E: dpkg was interrupted, you must manually run 'sudo dpkg --configure -a'" in message


def test_install_packages_finishes_an_interrupted_run_first_and_only_there() -> None:
    lab, remote = recorded_lab(REPAIRABLE)
    lines: list[str] = []
    result = install_packages(lab, ["tree"], progress=lines.append)
    ran = [(node, command) for node, command in remote.commands if command != apt.DPKG_STATE]
    repairs = [node for node, command in ran if command == apt.DPKG_REPAIR]
    assert repairs == ["node-2"]
    first_install = next(i for i, (_, c) in enumerate(ran) if "apt-get -q update" in c)
    assert ran.index(("node-2", apt.DPKG_REPAIR)) < first_install
    assert any("dpkg was interrupted on node-2" in line for line in lines)
    assert result.changed_nodes == ["node-1", "node-2", "node-3"]


def test_a_second_run_after_the_repair_repairs_nothing() -> None:
    after = [a for a in INTERRUPTED if a["command"] == apt.DPKG_STATE][-1]
    lab, remote = recorded_lab(REPAIRABLE, [after])
    install_packages(lab, ["tree"])
    assert remote.changes(re.escape(apt.DPKG_REPAIR)) == []
