"""Lab settings: defaults, workshop.yml, WORKSHOP_* variables, validation."""

from __future__ import annotations

import dataclasses

import pytest

from workshop.errors import UnknownNode, UsageError
from workshop.settings import ENV_VARS, LabSettings


def load(tmp_path, yml: str | None = None, **env: str) -> LabSettings:
    if yml is not None:
        (tmp_path / "workshop.yml").write_text(yml)
    return LabSettings.load(tmp_path, env=env)


def test_defaults(tmp_path):
    settings = load(tmp_path)
    assert settings == LabSettings()
    assert dataclasses.asdict(settings) == {
        "name": "workshop",
        "nodes": 3,
        "managers": 2,
        "subnet": "192.168.56",
        "memory": 2048,
        "cpus": 2,
        "provider": "auto",
        "node_flags": "auto",
    }


def test_env_var_names_are_the_vagrantfile_contract():
    assert ENV_VARS == {
        "name": "WORKSHOP_LAB",
        "nodes": "WORKSHOP_NODES",
        "managers": "WORKSHOP_MANAGERS",
        "subnet": "WORKSHOP_SUBNET",
        "memory": "WORKSHOP_MEMORY",
        "cpus": "WORKSHOP_CPUS",
        "provider": "WORKSHOP_PROVIDER",
        "node_flags": "WORKSHOP_NODE_FLAGS",
    }


def test_nodes_roles_and_addresses():
    settings = LabSettings(nodes=4, managers=3, subnet="10.20.30")
    assert settings.node_names == ["node-1", "node-2", "node-3", "node-4"]
    assert [settings.role(n) for n in settings.node_names] == [
        "manager",
        "manager",
        "manager",
        "worker",
    ]
    assert settings.address("node-1") == "10.20.30.11"
    assert settings.address("node-4") == "10.20.30.14"
    assert settings.network == "10.20.30.0/24"


def test_default_lab_addresses():
    settings = LabSettings()
    assert [settings.address(n) for n in settings.node_names] == [
        "192.168.56.11",
        "192.168.56.12",
        "192.168.56.13",
    ]
    assert settings.network == "192.168.56.0/24"


def test_unknown_node_lists_the_valid_ones():
    with pytest.raises(UnknownNode) as caught:
        LabSettings().role("node-4")
    assert caught.value.valid == ["node-1", "node-2", "node-3"]
    assert "node-1, node-2, node-3" in str(caught.value)
    with pytest.raises(UnknownNode):
        LabSettings().address("manager")


def test_file_then_environment(tmp_path):
    yml = "name: class-a\nnodes: 5\nmanagers: 3\nprovider: virtualbox\nmemory: '1024'\n"
    settings = load(tmp_path, yml, WORKSHOP_NODES="4", WORKSHOP_NODE_FLAGS="restricted")
    assert settings == LabSettings(
        name="class-a",
        nodes=4,
        managers=3,
        memory=1024,
        provider="virtualbox",
        node_flags="restricted",
    )


def test_every_env_var_is_read(tmp_path):
    settings = load(
        tmp_path,
        WORKSHOP_LAB="ci-7",
        WORKSHOP_NODES="5",
        WORKSHOP_MANAGERS="3",
        WORKSHOP_SUBNET="172.28.5",
        WORKSHOP_MEMORY="4096",
        WORKSHOP_CPUS="4",
        WORKSHOP_PROVIDER="docker",
        WORKSHOP_NODE_FLAGS="privileged",
    )
    assert settings == LabSettings("ci-7", 5, 3, "172.28.5", 4096, 4, "docker", "privileged")


def test_empty_env_vars_count_as_unset(tmp_path):
    assert load(tmp_path, "nodes: 2\nmanagers: 1\n", WORKSHOP_NODES="", WORKSHOP_LAB=" ") == (
        LabSettings(nodes=2, managers=1)
    )


def test_empty_file_is_fine(tmp_path):
    assert load(tmp_path, "# nothing set\n") == LabSettings()


def test_os_environ_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_NODES", "1")
    monkeypatch.setenv("WORKSHOP_MANAGERS", "1")
    assert LabSettings.load(tmp_path).node_names == ["node-1"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKSHOP_NODES": "0"}, "WORKSHOP_NODES must be between 1 and 9, got 0"),
        ({"WORKSHOP_NODES": "10"}, "WORKSHOP_NODES must be between 1 and 9, got 10"),
        ({"WORKSHOP_NODES": "three"}, "WORKSHOP_NODES must be a whole number, got 'three'"),
        ({"WORKSHOP_MANAGERS": "4"}, "WORKSHOP_MANAGERS must be between 1 and nodes (3), got 4"),
        ({"WORKSHOP_MANAGERS": "0"}, "WORKSHOP_MANAGERS must be between 1 and nodes (3)"),
        ({"WORKSHOP_SUBNET": "192.168.56.0"}, "WORKSHOP_SUBNET must be the first three octets"),
        ({"WORKSHOP_SUBNET": "192.168.256"}, "like 192.168.56; got '192.168.256'"),
        ({"WORKSHOP_SUBNET": "192.168.056"}, "WORKSHOP_SUBNET must be the first three octets"),
        ({"WORKSHOP_SUBNET": "10.0"}, "WORKSHOP_SUBNET must be the first three octets"),
        ({"WORKSHOP_LAB": "My_Lab"}, "WORKSHOP_LAB must use only a-z, 0-9 and '-', got 'My_Lab'"),
        (
            {"WORKSHOP_PROVIDER": "vbox"},
            "WORKSHOP_PROVIDER 'vbox' is not valid; choose one of: docker, virtualbox, "
            "libvirt, auto",
        ),
        (
            {"WORKSHOP_NODE_FLAGS": "root"},
            "WORKSHOP_NODE_FLAGS 'root' is not valid; choose one of: auto, restricted, privileged",
        ),
        ({"WORKSHOP_MEMORY": "128"}, "WORKSHOP_MEMORY must be at least 256 (MB), got 128"),
        ({"WORKSHOP_CPUS": "0"}, "WORKSHOP_CPUS must be at least 1, got 0"),
        ({"WORKSHOP_CPUS": "1.5"}, "WORKSHOP_CPUS must be a whole number, got '1.5'"),
    ],
)
def test_bad_env_values(tmp_path, env, message):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, **env)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_all_problems_are_reported_at_once(tmp_path):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, WORKSHOP_LAB="Bad Name", WORKSHOP_PROVIDER="vmware")
    message = str(caught.value)
    assert message.startswith("invalid lab settings:")
    assert "WORKSHOP_LAB" in message
    assert "WORKSHOP_PROVIDER" in message


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        ("nodes: 12\n", "'nodes' in "),
        ("nodes: true\n", "must be a whole number, got True"),
        ("subnet: 192.168\n", "must be the first three octets"),
        ("nodse: 3\n", "unknown setting(s) 'nodse'; valid keys are: name, nodes"),
        ("- nodes\n", "must be a mapping of settings"),
        ("nodes: [\n", "is not valid YAML"),
    ],
)
def test_bad_file_values(tmp_path, yml, message):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, yml)
    assert message in str(caught.value)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, "managers: 5\n")
    assert str(caught.value) == (
        f"invalid lab setting: 'managers' in {tmp_path / 'workshop.yml'} must be between "
        "1 and nodes (3), got 5"
    )


def test_direct_construction_is_validated():
    with pytest.raises(UsageError, match="nodes must be between 1 and 9"):
        LabSettings(nodes=0)
    with pytest.raises(UsageError, match="managers must be between 1 and nodes"):
        LabSettings(nodes=1)  # two managers by default


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        LabSettings().nodes = 5  # type: ignore[misc]
