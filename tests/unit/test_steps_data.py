"""The data the steps are made of: states, firewall rules, stacks, gluster names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.fakes import FakeSource
from workshop import Lab
from workshop.errors import UsageError
from workshop.lab import Node, SSHEndpoint
from workshop.steps import states
from workshop.steps.firewall import PORTS, ruleset
from workshop.steps.gluster import _fstab_line, gluster_names
from workshop.steps.stackfile import STACKS_DIR, load_stack, shipped_stacks

IMAGES = Path(__file__).resolve().parents[2] / "workshop" / "images"


def _lab(count: int = 3) -> Lab:
    nodes = [
        Node(f"node-{i}", "manager" if i <= 2 else "worker", f"10.0.0.{10 + i}", SSHEndpoint("h"))
        for i in range(1, count + 1)
    ]
    return Lab(FakeSource(nodes), nodes)


def test_states_are_data_in_chapter_order():
    assert states.STATE_NAMES == (
        "nodes",
        "docker",
        "swarm",
        "firewall",
        "gluster",
        "registry",
        "demoapp",
    )
    for state in states.STATES:
        assert callable(state.check) and state.steps and all(callable(s) for s in state.steps)
        assert state.description
    assert states.state_named("gluster").name == "gluster"
    packages = {s.name: s.packages for s in states.STATES if s.packages}
    assert packages == {
        "docker": ("docker.io",),
        "firewall": ("nftables",),
        "gluster": ("glusterfs-server",),
    }
    with pytest.raises(UsageError, match="nodes, docker, swarm"):
        states.state_named("kubernetes")


def test_firewall_rules_limit_cluster_ports_to_the_lab_and_keep_the_rest_open():
    rules = ruleset(["192.168.56.11", "192.168.56.12"])
    assert "policy accept" in rules and "policy drop" not in rules
    assert "elements = { 192.168.56.11, 192.168.56.12 }" in rules
    assert 'iifname "lo" accept' in rules and "ip saddr @lab_nodes accept" in rules
    for port in ("2377", "7946", "24007-24008", "49152-49251"):
        assert port in PORTS["tcp"] and port in rules
    assert set(PORTS["udp"]) == {"7946", "4789"}
    # Replaces only its own table, atomically; SSH (22) is never mentioned.
    assert rules.index("delete table inet workshop_firewall") < rules.index("chain input")
    assert "flush ruleset" not in rules and " 22" not in rules


def test_gluster_names_and_fstab_line():
    lab = _lab()
    assert gluster_names(lab) == {
        "node-1": ("gluster-1", "10.0.0.11"),
        "node-2": ("gluster-2", "10.0.0.12"),
        "node-3": ("gluster-3", "10.0.0.13"),
    }
    line = _fstab_line(lab, "swarm-data", "/mnt/swarm-data")
    assert line.startswith("localhost:/swarm-data /mnt/swarm-data glusterfs ")
    assert "_netdev" in line and "backup-volfile-servers=gluster-1:gluster-2:gluster-3" in line


def test_shipped_stacks_load_and_use_only_lab_images():
    assert {"demoapp", "helloworld", "lb", "registry"} <= set(shipped_stacks())
    for name in shipped_stacks():
        definition = load_stack(name)
        data = yaml.safe_load(definition.text)
        for service in data["services"].values():
            image = service["image"]
            assert image.startswith(("${REGISTRY}/workshop/", "${REGISTRY_IMAGE}")), image
    demoapp = load_stack("demoapp")
    assert demoapp.service_names == ["demoapp_web", "demoapp_app"]
    assert set(demoapp.files) == {"html/index.php", "nginx/demoapp.conf"}
    assert "gethostname()" in demoapp.files["html/index.php"].decode()


def test_published_ports_follow_the_publish_mode_variable():
    for name in ("demoapp", "lb"):
        data = yaml.safe_load(load_stack(name).text)
        published = [p for s in data["services"].values() for p in s.get("ports", [])]
        assert published and all(p["mode"] == "${PUBLISH_MODE}" for p in published)


def test_the_registry_listens_on_each_nodes_loopback_only_and_deletes_nothing():
    data = yaml.safe_load(load_stack("registry").text)
    registry = data["services"]["registry"]
    assert registry["deploy"]["mode"] == "global" and "ports" not in registry
    assert registry["networks"] == ["host"] and data["networks"]["host"]["name"] == "host"
    assert registry["environment"]["REGISTRY_HTTP_ADDR"] == "127.0.0.1:5000"
    assert registry["environment"]["REGISTRY_STORAGE_DELETE_ENABLED"] == "false"


def test_stack_digest_changes_with_settings_and_a_file_stack_gets_its_name(tmp_path: Path):
    hello = load_stack("helloworld")
    assert hello.digest({"PUBLISH_MODE": "host"}) != hello.digest({"PUBLISH_MODE": "ingress"})
    path = tmp_path / "web.yml"
    path.write_text("services:\n  web:\n    image: 127.0.0.1:5000/workshop/web:latest\n")
    mine = load_stack(path)
    assert mine.name == "web" and mine.files == {}
    assert load_stack(path, name="other").name == "other"
    assert STACKS_DIR.is_dir()


def test_stack_images_build_from_the_shared_base():
    for name in ("web", "app", "registry", "apt-cache"):
        dockerfile = (IMAGES / name / "Dockerfile").read_text()
        assert "ARG BASE" in dockerfile and "FROM ${BASE}" in dockerfile
    config = yaml.safe_load((IMAGES / "registry" / "config.yml").read_text())
    assert "auth" not in config and config["http"]["addr"] == "127.0.0.1:5000"
    assert config["storage"]["delete"]["enabled"] is False
