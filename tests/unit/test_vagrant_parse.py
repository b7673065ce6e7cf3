"""Parsing ``vagrant status --machine-readable`` and ``vagrant ssh-config``.

Every ``tests/data/vagrant/status*.txt`` and ``ssh-config*.txt`` file is checked:
``status.txt`` and ``ssh-config.txt`` are recordings from a real lab, the
``*-draft.txt`` files are hand-made cases that pin exact values.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workshop.errors import UsageError
from workshop.lab.node import SSHEndpoint
from workshop.lab.ssh_config import read_ssh_config
from workshop.lab.vagrant_parse import MachineStatus, find_error, parse_ssh_config, parse_status

DATA = Path(__file__).resolve().parents[1] / "data" / "vagrant"
STATUS_FILES = sorted(DATA.glob("status*.txt"))
SSH_CONFIG_FILES = sorted(DATA.glob("ssh-config*.txt"))
RECORDED = [path for path in [*STATUS_FILES, *SSH_CONFIG_FILES] if "draft" not in path.name]


def names_in_order(count: int) -> list[str]:
    return [f"node-{i}" for i in range(1, count + 1)]


def test_recordings_are_found():
    assert STATUS_FILES
    assert SSH_CONFIG_FILES


@pytest.mark.parametrize("path", STATUS_FILES, ids=lambda p: p.name)
def test_every_status_recording_parses(path: Path):
    machines = parse_status(path.read_text())
    assert list(machines) == names_in_order(len(machines))
    for name, machine in machines.items():
        assert machine.name == name
        assert machine.provider in {"docker", "virtualbox", "libvirt"}
        assert re.fullmatch(r"[a-z_]+", machine.state)
        assert machine.state_human
        assert "VAGRANT_COMMA" not in machine.description
        assert "\\n" not in machine.description
    assert find_error(path.read_text()) is None


@pytest.mark.parametrize("path", SSH_CONFIG_FILES, ids=lambda p: p.name)
def test_every_ssh_config_recording_parses(path: Path):
    endpoints = parse_ssh_config(path.read_text())
    assert list(endpoints) == names_in_order(len(endpoints))
    for endpoint in endpoints.values():
        assert endpoint.host
        assert 1 <= endpoint.port <= 65535
        assert endpoint.user == "vagrant"
        assert endpoint.identity_files
        assert all(Path(key).is_absolute() for key in endpoint.identity_files)
        assert not any('"' in key for key in endpoint.identity_files)


@pytest.mark.skipif(
    not {"status.txt", "ssh-config.txt"} <= {p.name for p in RECORDED},
    reason="no real recording of both commands yet",
)
def test_real_recordings_agree_on_running_machines():
    machines = parse_status((DATA / "status.txt").read_text())
    endpoints = parse_ssh_config((DATA / "ssh-config.txt").read_text())
    running = [name for name, machine in machines.items() if machine.running]
    assert running == list(endpoints)


def test_status_draft_exact_values():
    machines = parse_status((DATA / "status-draft.txt").read_text())
    assert list(machines) == ["node-1", "node-2", "node-3"]
    assert [m.state for m in machines.values()] == ["running", "running", "stopped"]
    node1, node3 = machines["node-1"], machines["node-3"]
    assert node1 == MachineStatus(
        name="node-1",
        state="running",
        provider="docker",
        state_human="running",
        description=(
            "The container is created and running. You can stop it using\n"
            "`vagrant halt`, see logs with `vagrant docker-logs`, and\n"
            "kill/destroy it with `vagrant destroy`."
        ),
    )
    assert node1.running and node1.created
    assert not node3.running and node3.created
    assert 'goes to "stopped"\nright away after being started, it' in node3.description


def test_status_not_created_draft():
    machines = parse_status((DATA / "status-not-created-draft.txt").read_text())
    assert list(machines) == ["node-1", "node-2", "node-3"]
    for machine in machines.values():
        assert machine.state == "not_created"
        assert machine.state_human == "not created"
        assert not machine.created and not machine.running


def test_status_ignores_noise_and_ui_lines():
    text = (
        "Warning: some plugin said something, with commas\n"
        "1700000000,,ui,info,Current machine states:\\n\\nweb running\n"
        "\n"
        "1700000000,web,state,running\n"
        "1700000000,web,provider-name,virtualbox\n"
        "1700000000,db,metadata,provider,libvirt\n"  # metadata only: no state, no entry
    )
    assert parse_status(text) == {
        "web": MachineStatus(name="web", state="running", provider="virtualbox")
    }


def test_status_provider_falls_back_to_metadata():
    text = "1,web,metadata,provider,docker\n1,web,state,stopped\n"
    assert parse_status(text)["web"].provider == "docker"


def test_status_of_nothing_is_empty():
    assert parse_status("") == {}


def test_find_error_reads_error_exit():
    text = (
        "1700000000,,error-exit,Vagrant::Errors::ProviderNotUsable,"
        "The provider 'libvirt' that was requested to back the machine\\n"
        "'node-1' is reporting that it isn't usable on this system%!(VAGRANT_COMMA) sorry.\n"
    )
    assert find_error(text) == (
        "Vagrant::Errors::ProviderNotUsable: The provider 'libvirt' that was requested to "
        "back the machine\n'node-1' is reporting that it isn't usable on this system, sorry."
    )


def test_ssh_config_draft_exact_values():
    endpoints = parse_ssh_config((DATA / "ssh-config-draft.txt").read_text())
    assert endpoints["node-2"] == SSHEndpoint(
        host="172.17.0.3",
        port=22,
        user="vagrant",
        identity_files=("/root/swarm-workshop/.vagrant/machines/node-2/docker/private_key",),
    )
    assert str(endpoints["node-2"]) == "vagrant@172.17.0.3:22"


def test_ssh_config_quoted_identity_files_keep_order():
    endpoints = parse_ssh_config((DATA / "ssh-config-quoted-draft.txt").read_text())
    assert list(endpoints) == ["node-1", "node-2"]
    assert endpoints["node-1"].identity_files == (
        "/home/ada lovelace/.vagrant.d/insecure_private_keys/vagrant.key.ed25519",
        "/home/ada lovelace/.vagrant.d/insecure_private_keys/vagrant.key.rsa",
    )
    assert (endpoints["node-1"].port, endpoints["node-2"].port) == (2222, 2200)


def test_ssh_config_follows_openssh_rules():
    text = """
# a comment
User everyone
Host web db
  hostname=10.0.0.5
  PORT 2022
Host db
  HostName 10.0.0.6
  IdentityFile ~/.ssh/db
Host * !bastion
  User admin
  IdentityFile ~/.ssh/default
Host bastion
  # nothing but a comment
Match host db
  User ignored
"""
    endpoints = parse_ssh_config(text)
    assert list(endpoints) == ["web", "db", "bastion"]
    # first value wins; identity files add up, ~ expanded; global options come first
    home = Path.home()
    assert endpoints["db"] == SSHEndpoint(
        "10.0.0.5", 2022, "everyone", (f"{home}/.ssh/db", f"{home}/.ssh/default")
    )
    assert endpoints["web"].identity_files == (f"{home}/.ssh/default",)
    # a host without HostName is reached by its name; negated patterns exclude it
    assert endpoints["bastion"] == SSHEndpoint("bastion", 22, "everyone", ())


def test_ssh_config_defaults():
    assert parse_ssh_config("Host lonely\n") == {"lonely": SSHEndpoint("lonely")}
    endpoints = parse_ssh_config("Host web\n  HostName %h.lab.example\n")
    assert endpoints["web"].host == "web.lab.example"


def test_ssh_config_notes_are_collected():
    hosts = read_ssh_config("Host a  # role: manager\n  # Address: 10.1.1.1\n  User x\n")
    assert [(host.name, host.endpoint.user) for host in hosts] == [("a", "x")]
    assert hosts[0].notes == {"role": "manager", "address": "10.1.1.1"}


def test_ssh_config_bad_port_is_a_usage_error():
    with pytest.raises(UsageError, match="Port must be a number, got 'ssh'"):
        parse_ssh_config("Host a\n  Port ssh\n")
