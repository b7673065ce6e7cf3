"""Packages and the apt proxy: what counts as in place, on a real lab's answers."""

from __future__ import annotations

import pytest

from tests.unit.fakes import RECORDED_NODES, FakeSource, recorded_lab, recording
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
