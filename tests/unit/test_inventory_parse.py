"""Reading inventories of real hosts: YAML and OpenSSH config files."""

from __future__ import annotations

from pathlib import Path

import pytest

from workshop.errors import UsageError
from workshop.lab.inventory_parse import default_roles, is_ssh_config, parse_inventory
from workshop.lab.node import Node, SSHEndpoint

DATA = Path(__file__).resolve().parents[1] / "data" / "vagrant"


def write(tmp_path: Path, text: str, name: str = "inventory") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_inventory(tmp_path):
    path = write(
        tmp_path,
        """
defaults:
  user: ubuntu
  identity_file: keys/lab
nodes:
  - name: node-1
    host: 203.0.113.11
    address: 10.0.0.11
  - name: node-2
    host: 203.0.113.12
    port: 2222
  - name: node-3
    host: node3.example
    user: admin
    identity_file: [/etc/lab/a, ~/b]
""",
        "hosts.yml",
    )
    nodes = parse_inventory(path)
    assert [n.name for n in nodes] == ["node-1", "node-2", "node-3"]
    assert [n.role for n in nodes] == ["manager", "manager", "worker"]
    assert nodes[0] == Node(
        name="node-1",
        role="manager",
        address="10.0.0.11",
        ssh=SSHEndpoint("203.0.113.11", 22, "ubuntu", (str(tmp_path / "keys" / "lab"),)),
    )
    assert nodes[1].ssh.port == 2222
    assert nodes[1].address == "203.0.113.12"  # address defaults to the SSH host
    assert nodes[2].ssh.user == "admin"
    assert nodes[2].ssh.identity_files == ("/etc/lab/a", str(Path("~/b").expanduser()))
    assert all(n.state == "running" for n in nodes)


def test_yaml_host_defaults_to_name(tmp_path):
    nodes = parse_inventory(write(tmp_path, "nodes:\n  - name: alpha\n  - {name: beta}\n"))
    assert [(n.name, n.ssh.host, n.role) for n in nodes] == [
        ("alpha", "alpha", "manager"),
        ("beta", "beta", "worker"),
    ]


@pytest.mark.parametrize(
    ("count", "roles"),
    [
        (1, ["manager"]),
        (2, ["manager", "worker"]),
        (3, ["manager", "manager", "worker"]),
        (5, ["manager", "manager", "worker", "worker", "worker"]),
    ],
)
def test_default_roles(count, roles):
    assert default_roles(count) == roles


def test_explicit_roles_make_the_others_workers(tmp_path):
    text = "nodes:\n  - name: a\n  - name: b\n    role: manager\n  - name: c\n"
    nodes = parse_inventory(write(tmp_path, text))
    assert [n.role for n in nodes] == ["worker", "manager", "worker"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodes:\n  - host: 10.0.0.1\n", "node #1 has no 'name'"),
        ("nodes:\n  - name: a\n  - name: a\n", "node 'a' is listed twice"),
        (
            "nodes:\n  - name: a\n    role: leader\n",
            "role of a 'leader' is not valid; choose one of: manager, worker",
        ),
        ("nodes:\n  - name: a\n    role: worker\n", "no node has role 'manager'"),
        ("nodes:\n  - name: a\n    hots: x\n", "unknown key(s) 'hots'; valid keys are: name, host"),
        ("nodes:\n  - name: a\n    port: ssh\n", "port must be a number, got 'ssh'"),
        ("nodes:\n  - name: a\n    port: 70000\n", "port must be between 1 and 65535"),
        ("nodes:\n  - name: a b\n", "name 'a b' must use only"),
        ("nodes:\n  - just-a-string\n", "node #1 must be a mapping"),
        ("nodes: []\n", "lists no nodes"),
        ("nodes: node-1\n", "'nodes' must be a list"),
        ("servers: []\n", "must be YAML with a 'nodes:' list"),
        ("nodes: [\n", "neither an SSH config nor valid YAML"),
        ("defaults: {password: x}\nnodes: [{name: a}]\n", "unknown key(s) 'password'"),
        ("Host a\n  IdentitiesOnly\n", "SSH config: Unparsable line IdentitiesOnly"),
        ('Host "a\n', "cannot read 'Host \"a'"),
        ("Host a\n  Port 2x\n", "SSH config for a: Port must be a number, got '2x'"),
    ],
)
def test_inventory_mistakes_are_usage_errors(tmp_path, text, message):
    with pytest.raises(UsageError) as caught:
        parse_inventory(write(tmp_path, text))
    assert message in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        parse_inventory(tmp_path / "nope.yml")


def test_ssh_config_inventory(tmp_path):
    path = write(
        tmp_path,
        """
Host node-1
  # role: worker
  HostName 203.0.113.11
Host node-2  # role: manager
  HostName 203.0.113.12
  # address: 10.0.0.12
Host node-3
  HostName 203.0.113.13
Host *
  User ubuntu
  IdentityFile ~/.ssh/lab
""",
        "ssh_config",
    )
    nodes = parse_inventory(path)
    assert [(n.name, n.role, n.address) for n in nodes] == [
        ("node-1", "worker", "203.0.113.11"),
        ("node-2", "manager", "10.0.0.12"),
        ("node-3", "worker", "203.0.113.13"),
    ]
    assert nodes[0].ssh == SSHEndpoint(
        "203.0.113.11", 22, "ubuntu", (str(Path("~/.ssh/lab").expanduser()),)
    )


def test_ssh_config_inventory_default_roles(tmp_path):
    nodes = parse_inventory(DATA / "ssh-config-draft.txt")
    assert [(n.name, n.role, n.address) for n in nodes] == [
        ("node-1", "manager", "172.17.0.2"),
        ("node-2", "manager", "172.17.0.3"),
        ("node-3", "worker", "172.17.0.4"),
    ]


def test_ssh_config_inventory_with_spaces_in_key_paths():
    nodes = parse_inventory(DATA / "ssh-config-quoted-draft.txt")
    assert [(n.name, n.role, n.ssh.port) for n in nodes] == [
        ("node-1", "manager", 2222),
        ("node-2", "worker", 2200),
    ]
    assert nodes[1].ssh.identity_files == (
        "/home/ada lovelace/.vagrant.d/insecure_private_keys/vagrant.key.ed25519",
        "/home/ada lovelace/.vagrant.d/insecure_private_keys/vagrant.key.rsa",
    )


def test_ssh_config_bad_role(tmp_path):
    with pytest.raises(UsageError, match="role of a 'boss' is not valid"):
        parse_inventory(write(tmp_path, "Host a\n  # role: boss\n"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Host node-1\n  HostName x\n", True),
        ("  host web\n", True),
        ("nodes:\n  - name: a\n    host: 10.0.0.1\n", False),
        ("host: a\n", False),
        ("nodes:\n  - {name: a, host : b}\n", False),
    ],
)
def test_format_detection(text, expected):
    assert is_ssh_config(text) is expected


# --- roles: explicit roles win, the others by position ------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_inventory() -> str:
    """The YAML inventory of the README's "Real hosts" section, as printed there."""
    section = README.read_text(encoding="utf-8").split("### Real hosts", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_inventory_is_read_as_the_readme_says(tmp_path):
    nodes = parse_inventory(write(tmp_path, readme_inventory(), "inventory.yml"))
    assert [(n.name, n.role, n.address) for n in nodes] == [
        ("node-1", "manager", "10.0.0.11"),
        ("node-2", "manager", "10.0.0.12"),
        ("node-3", "worker", "10.0.0.13"),
    ]
    key = str(Path("~/.ssh/id_ed25519").expanduser())
    assert {(n.ssh.user, n.ssh.identity_files) for n in nodes} == {("debian", (key,))}


@pytest.mark.parametrize(
    ("named", "roles"),
    [
        # A named worker leaves the others to the default count (2 managers from 3 nodes).
        ([None, None, "worker"], ["manager", "manager", "worker"]),
        (["worker", None, None, None], ["worker", "manager", "manager", "worker"]),
        (["worker", None], ["worker", "manager"]),
        ([None, "worker", "worker"], ["manager", "worker", "worker"]),
        # A named manager is the choice of managers: the others are workers.
        ([None, None, "manager"], ["worker", "worker", "manager"]),
        (["manager", None, "manager", None], ["manager", "worker", "manager", "worker"]),
    ],
)
def test_nodes_without_a_role_get_one_by_position(tmp_path, named, roles):
    lines = [f"  - {{name: n{i}{f', role: {r}' if r else ''}}}" for i, r in enumerate(named)]
    nodes = parse_inventory(write(tmp_path, "nodes:\n" + "\n".join(lines) + "\n"))
    assert [n.role for n in nodes] == roles


def test_an_ssh_config_with_a_named_worker_gets_managers_too(tmp_path):
    text = "Host a\n  HostName 10.0.0.1\nHost b\n  HostName 10.0.0.2\nHost c  # role: worker\n"
    assert [n.role for n in parse_inventory(write(tmp_path, text))] == [
        "manager",
        "manager",
        "worker",
    ]


def test_only_workers_is_still_refused(tmp_path):
    text = "nodes:\n  - {name: a, role: worker}\n  - {name: b, role: worker}\n"
    with pytest.raises(UsageError, match="no node has role 'manager'"):
        parse_inventory(write(tmp_path, text))


# --- fields that reach a command line or a file on the nodes -----------------------


#: Inventory nodes (YAML) whose fields could become options or lines -> what is said.
HOSTILE_NODES = [
    ("{name: a, host: -oProxyCommand=touch /tmp/x}", "host '-oProxyCommand=touch /tmp/x'"),
    ("{name: a, host: -oProxyCommand=x}", "host '-oProxyCommand=x' is not"),
    ('{name: a, host: "10.0.0.1 -p 1"}', "host '10.0.0.1 -p 1' is not"),
    ('{name: a, host: "node\\n1"}', "host 'node\\n1' is not"),
    ("{name: a, host: 'user@10.0.0.1'}", "host 'user@10.0.0.1' is not"),
    ("{name: a, host: '10.0.0.1:2222'}", "host '10.0.0.1:2222' is not"),
    ("{name: a, host: '[10.0.0.1'}", "host '[10.0.0.1' is not"),
    ("{name: a, user: -oProxyCommand=x}", "user '-oProxyCommand=x' must not"),
    ('{name: a, user: "ada lovelace"}', "user 'ada lovelace' must not"),
    ('{name: a, user: "ada\\tl"}', "user 'ada\\tl' must not"),
    ("{name: a, address: node-1.example}", "address 'node-1.example' is not an IP address"),
    ('{name: a, address: "10.0.0.1\\n6.6.6.6 evil"}', "address '10.0.0.1\\n6.6.6.6 evil'"),
    ('{name: a, address: "fe80::1%eth0\\nx"}', "address 'fe80::1%eth0\\nx' is not"),
    ("{name: a, address: 10.0.0.300}", "address '10.0.0.300' is not an IP address"),
]
#: The same in an SSH config.
HOSTILE_HOSTS = [
    ("Host a\n  HostName -oProxyCommand=x\n", "node a: host '-oProxyCommand=x' is not"),
    ("Host a\n  User -oProxyCommand=x\n", "node a: user '-oProxyCommand=x' must not"),
    ("Host a\n  # address: 10.0.0.1;reboot\n", "node a: address '10.0.0.1;reboot'"),
    ("Host -oProxyCommand=x\n", "node #1: name '-oProxyCommand=x' must use only"),
]


@pytest.mark.parametrize(
    ("text", "message"),
    [(f"nodes:\n  - {node}\n", f"node a: {said}") for node, said in HOSTILE_NODES] + HOSTILE_HOSTS,
)
def test_fields_that_could_become_options_or_lines_are_refused(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        parse_inventory(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("host", "ssh_host"),
    [
        ("203.0.113.11", "203.0.113.11"),
        ("node-1.lab.example", "node-1.lab.example"),
        ("rpi_3", "rpi_3"),
        ("'2001:db8::11'", "2001:db8::11"),
        ("'[2001:db8::11]'", "2001:db8::11"),
    ],
)
def test_host_names_and_ip_literals_are_taken(tmp_path, host, ssh_host):
    (node,) = parse_inventory(write(tmp_path, f"nodes:\n  - {{name: a, host: {host}}}\n"))
    assert node.ssh.host == ssh_host


def test_an_ipv6_lab_address_is_taken(tmp_path):
    text = "nodes:\n  - {name: a, host: a.example, address: '2001:db8::11', user: ada.l}\n"
    (node,) = parse_inventory(write(tmp_path, text))
    assert (node.address, node.ssh.user) == ("2001:db8::11", "ada.l")
