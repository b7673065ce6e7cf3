"""Lab settings: defaults, workshop.yml, WORKSHOP_* variables, validation."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.errors import UnknownNode, UsageError
from workshop.settings import ENV_VARS, Host, LabSettings
from workshop.settings import __main__ as settings_cli
from workshop.settings.host import vagrant_plugins

ROOT = Path(__file__).resolve().parents[2]


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


def test_env_var_names_are_those_the_readme_documents():
    rows = re.findall(r"^\| `(\w+)` \| `(WORKSHOP_\w+)` \|", (ROOT / "README.md").read_text(), re.M)
    assert dict(rows) == ENV_VARS


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
        ({"WORKSHOP_MEMORY": "128"}, "WORKSHOP_MEMORY must be between 256 and 65536 (MB), got 128"),
        ({"WORKSHOP_MEMORY": "65537"}, "WORKSHOP_MEMORY must be between 256 and 65536 (MB)"),
        ({"WORKSHOP_CPUS": "0"}, "WORKSHOP_CPUS must be between 1 and 64, got 0"),
        ({"WORKSHOP_CPUS": "9999"}, "WORKSHOP_CPUS must be between 1 and 64, got 9999"),
        ({"WORKSHOP_NODES": "0x3"}, "WORKSHOP_NODES must be a whole number, got '0x3'"),
        ({"WORKSHOP_LAB": "-lab"}, "WORKSHOP_LAB must start with a-z or 0-9, got '-lab'"),
        ({"WORKSHOP_SUBNET": "127.0.0"}, "WORKSHOP_SUBNET '127.0.0' is a reserved, loopback or"),
        ({"WORKSHOP_SUBNET": "224.1.2"}, "WORKSHOP_SUBNET '224.1.2' is a reserved, loopback or"),
        ({"WORKSHOP_SUBNET": "0.1.2"}, "WORKSHOP_SUBNET '0.1.2' is a reserved, loopback or"),
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
    assert "\n" not in message


def test_bounds_are_inclusive(tmp_path):
    low = load(tmp_path, WORKSHOP_NODES="1", WORKSHOP_MANAGERS="1", WORKSHOP_MEMORY="256")
    high = load(tmp_path, WORKSHOP_NODES="9", WORKSHOP_MEMORY="65536", WORKSHOP_CPUS="64")
    assert (low.nodes, low.managers, low.memory, low.cpus) == (1, 1, 256, 2)
    assert (high.nodes, high.memory, high.cpus) == (9, 65536, 64)


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        ("nodes: 12\n", "'nodes' in "),
        ("nodes: true\n", "must be a whole number, got True"),
        ("subnet: 192.168\n", "must be the first three octets"),
        ("nodse: 3\n", "unknown setting(s) 'nodse'; valid keys are: name, nodes"),
        ("- nodes\n", "must be a mapping of settings"),
        ("nodes: [\n", "is not valid YAML"),
        ("memory: 100000\n", "must be between 256 and 65536 (MB), got 100000"),
    ],
)
def test_bad_file_values(tmp_path, yml, message):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, yml)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("yml", "rule"),
    [("managers: 5\n", "1 and nodes (3), got 5"), ("cpus: 9999\n", "1 and 64, got 9999")],
)
def test_file_errors_name_the_file_and_the_range(tmp_path, yml, rule):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, yml)
    key = yml.split(":")[0]
    assert str(caught.value) == (
        f"invalid lab setting: {key!r} in {tmp_path / 'workshop.yml'} must be between {rule}"
    )


def test_direct_construction_is_validated():
    with pytest.raises(UsageError, match="nodes must be between 1 and 9"):
        LabSettings(nodes=0)
    with pytest.raises(UsageError, match="managers must be between 1 and nodes"):
        LabSettings(nodes=1)  # two managers by default


def test_yaml_errors_fit_on_one_line_with_the_place(tmp_path):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, "nodes: 3\n  managers: 1\n")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'workshop.yml'} is not valid YAML: ")
    assert "(line 2, column " in message


# --- the provider and node flags `auto` resolves to -----------------------------------

# /usr/share/vagrant-plugins/plugins.d/vagrant-libvirt.json, from Debian 12's
# vagrant-libvirt package (how a system package registers a plugin).
DEBIAN_LIBVIRT_PLUGIN = """{
  "vagrant-libvirt": {
    "ruby_version":"3.1.2",
    "vagrant_version":"2.3.4",
    "gem_version":"",
    "require":"",
    "sources":[]
  }
}
"""
# Debian's /usr/share/vagrant-plugins/plugins.json, next to it.
DEBIAN_SYSTEM_PLUGINS = '{"version":"1","installed":{}}'
# ~/.vagrant.d/plugins.json after `vagrant plugin install vagrant-libvirt`.
USER_LIBVIRT_PLUGIN = (
    '{"version":"1","installed":{"vagrant-libvirt":{"ruby_version":"3.1.2",'
    '"vagrant_version":"2.3.4","gem_version":"","require":"","sources":[],'
    '"installed_gem_version":"0.12.2","env_local":false}}}'
)


def host_root(tmp_path: Path, *files: str, **contents: str) -> Path:
    """A filesystem root holding empty `files` and files with `contents` (keys: paths)."""
    root = tmp_path / "root"
    for name, text in [*((f, "") for f in files), *contents.items()]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root.mkdir(exist_ok=True)
    return root


LIBVIRT_HOST = ("dev/kvm", "var/run/libvirt/libvirt-sock")


def probe(tmp_path: Path, root: Path, system: str = "Linux", **env: str) -> Host:
    return Host.probe({"HOME": str(tmp_path / "home"), **env}, root, system)


def test_probe_sees_a_bare_linux_host(tmp_path):
    assert probe(tmp_path, host_root(tmp_path)) == Host()


def test_probe_reads_debian_system_plugins(tmp_path):
    root = host_root(
        tmp_path,
        *LIBVIRT_HOST,
        "sys/fs/cgroup/cgroup.controllers",
        **{
            "usr/share/vagrant-plugins/plugins.json": DEBIAN_SYSTEM_PLUGINS,
            "usr/share/vagrant-plugins/plugins.d/vagrant-libvirt.json": DEBIAN_LIBVIRT_PLUGIN,
        },
    )
    host = probe(tmp_path, root)
    assert host == Host(kvm=True, libvirt_socket=True, libvirt_plugin=True, cgroup_v2=True)
    assert host.auto_provider() == "libvirt"


def test_probe_reads_user_plugins_from_vagrant_home(tmp_path):
    root = host_root(tmp_path, *LIBVIRT_HOST, **{"vh/plugins.json": USER_LIBVIRT_PLUGIN})
    assert vagrant_plugins({"VAGRANT_HOME": str(root / "vh")}, root) == {"vagrant-libvirt"}
    assert probe(tmp_path, root, VAGRANT_HOME=str(root / "vh")).auto_provider() == "libvirt"
    # Without VAGRANT_HOME, Vagrant (and the probe) look in ~/.vagrant.d instead.
    assert probe(tmp_path, root).auto_provider() == "docker"


def test_probe_ignores_a_broken_plugin_file(tmp_path):
    root = host_root(tmp_path, **{"opt/vagrant/embedded/plugins.json": "{not json"})
    assert vagrant_plugins({"HOME": str(tmp_path)}, root) == set()


def test_macos_and_windows_run_virtualbox(tmp_path):
    root = host_root(tmp_path)
    assert probe(tmp_path, root, system="Darwin").auto_provider() == "virtualbox"
    assert probe(tmp_path, root, system="Windows").auto_provider() == "virtualbox"
    assert probe(tmp_path, host_root(tmp_path, "dev/vboxdrv")).virtualbox


@pytest.mark.parametrize(
    ("host", "provider"),
    [
        (Host(), "docker"),
        (Host(virtualbox=True, kvm=True, libvirt_socket=True, libvirt_plugin=True), "virtualbox"),
        (Host(kvm=True, libvirt_socket=True, libvirt_plugin=True), "libvirt"),
        (Host(kvm=True, libvirt_socket=True), "docker"),  # no vagrant-libvirt plugin
        (Host(kvm=True, libvirt_plugin=True), "docker"),  # no libvirt daemon
        (Host(libvirt_socket=True, libvirt_plugin=True), "docker"),  # no KVM
    ],
)
def test_auto_provider(host, provider):
    assert LabSettings().resolved_provider(host) == provider


def test_a_provider_set_is_used_as_it_is():
    vbox_host = Host(virtualbox=True)
    assert LabSettings(provider="docker").resolved_provider(vbox_host) == "docker"
    assert LabSettings(provider="libvirt").resolved_provider(Host()) == "libvirt"


def test_node_flags():
    assert LabSettings().resolved_node_flags(Host(cgroup_v2=True)) == "privileged"
    assert LabSettings().resolved_node_flags(Host(cgroup_v2=False)) == "restricted"
    assert LabSettings(node_flags="restricted").resolved_node_flags(Host()) == "restricted"


def test_resolved_is_what_the_vagrantfile_reads():
    settings = LabSettings(name="blue", nodes=3, managers=1, subnet="192.168.60", cpus=4)
    assert settings.resolved(Host(cgroup_v2=False)) == {
        "name": "blue",
        "nodes": 3,
        "managers": 1,
        "subnet": "192.168.60",
        "memory": 2048,
        "cpus": 4,
        "provider": "docker",
        "node_flags": "restricted",
        "machines": [
            {"name": "node-1", "role": "manager", "address": "192.168.60.11"},
            {"name": "node-2", "role": "worker", "address": "192.168.60.12"},
            {"name": "node-3", "role": "worker", "address": "192.168.60.13"},
        ],
    }


# --- python -m workshop.settings -------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    """No WORKSHOP_* variable from the shell that runs the tests (the test lab sets some)."""
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_cli_json(tmp_path, capsys, clean_env):
    (tmp_path / "workshop.yml").write_text("name: blue\nnodes: 2\nmanagers: 1\n")
    clean_env.setenv("WORKSHOP_SUBNET", "10.1.2")
    clean_env.setenv("WORKSHOP_PROVIDER", "docker")
    assert settings_cli.main(["--json", "--project", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == LabSettings.load(tmp_path).resolved()
    assert (printed["name"], printed["provider"]) == ("blue", "docker")
    assert [m["address"] for m in printed["machines"]] == ["10.1.2.11", "10.1.2.12"]


def test_cli_project_defaults_to_the_current_folder(tmp_path, capsys, clean_env):
    (tmp_path / "workshop.yml").write_text("nodes: 1\nmanagers: 1\n")
    clean_env.chdir(tmp_path)
    assert settings_cli.main([]) == 0
    out = capsys.readouterr().out
    assert "nodes: 1\n" in out
    assert out.endswith("node-1: manager 192.168.56.11\n")


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        ("cpus: 9999\n", "'cpus' in {yml} must be between 1 and 64, got 9999"),
        ("nodes: [\n", "{yml} is not valid YAML: "),
        ("nodes: 0\nsubnet: 10.1\n", "invalid lab settings: 'nodes' in {yml} must be"),
    ],
)
def test_cli_refuses_in_one_line(tmp_path, capsys, clean_env, yml, message):
    (tmp_path / "workshop.yml").write_text(yml)
    assert settings_cli.main(["--json", "--project", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert message.format(yml=tmp_path / "workshop.yml") in err
    assert err.count("\n") == 1


def test_cli_refuses_a_missing_project(tmp_path, capsys):
    assert settings_cli.main(["--json", "--project", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"no folder {tmp_path / 'nope'} (--project)\n"


def test_python_dash_m_exits_2_without_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKSHOP_CPUS": "9999"}
    done = subprocess.run(
        [sys.executable, "-m", "workshop.settings", "--json", "--project", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "invalid lab setting: WORKSHOP_CPUS must be between 1 and 64, got 9999\n"
