"""The `workshop` command on an inventory of real hosts (WORKSHOP_INVENTORY).

No test here contacts a host other than a real SSH server on loopback, and none
touches a Vagrant lab: every power operation of the Vagrant source is replaced by
one that only records that it was asked (``vagrant``), and the lab's name is one
no lab has.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.unit.fakes import (
    FakeSource,
    LoopbackSSHServer,
    record_host_keys,
    rsa_key,
    write_client_key,
)
from tests.unit.test_cli import workshop
from workshop import Lab, cli
from workshop.lab import Node, SSHEndpoint, VagrantSource
from workshop.steps import StepResult


@pytest.fixture
def vagrant(monkeypatch) -> list[str]:
    """What was asked of a Vagrant lab: every operation is recorded, none runs."""
    asked: list[str] = []
    for method in ("create", "remove", "destroy", "up", "halt", "start", "execute", "discover"):

        def record(self, *args, _method=method, **kwargs):
            asked.append(_method)
            return [] if _method == "discover" else None

        monkeypatch.setattr(VagrantSource, method, record)
    return asked


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """A workshop folder with a Vagrantfile, a lab name nobody uses, and no engine."""
    (tmp_path / "Vagrantfile").write_text("# the lab's machines\n", encoding="utf-8")
    return {
        "WORKSHOP_HOME": str(tmp_path),
        "WORKSHOP_LAB": f"invunit{uuid.uuid4().hex[:8]}",
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
    }


def with_inventory(env: dict[str, str], nodes: str) -> dict[str, str]:
    """``env`` with WORKSHOP_INVENTORY pointing at a YAML file listing ``nodes``."""
    path = Path(env["WORKSHOP_HOME"]) / "inventory.yml"
    path.write_text(f"nodes:\n{nodes}", encoding="utf-8")
    return {**env, "WORKSHOP_INVENTORY": str(path)}


THREE_HOSTS = "".join(f"  - {{name: node-{i}, host: 10.0.0.1{i}}}\n" for i in (1, 2, 3))


# --- up and down go to the inventory, never to the folder's Vagrant lab -------------


def test_up_on_an_inventory_says_the_hosts_are_yours(monkeypatch, capsys, env, vagrant):
    lab = with_inventory(env, THREE_HOSTS)
    code, out, err = workshop(monkeypatch, capsys, lab, "up")
    assert (code, out) == (1, "")
    assert err.startswith("workshop up: ") and err.count("\n") == 1
    assert lab["WORKSHOP_INVENTORY"] in err
    assert "the kit does not create or start them" in err
    assert "`workshop status`" in err and "`workshop provision`" in err
    assert vagrant == []


def test_down_on_an_inventory_leaves_the_vagrant_lab_alone(monkeypatch, capsys, env, vagrant):
    # `down` tears down what the kit put on the hosts (tests/unit/test_teardown.py),
    # never this folder's Vagrant lab; here the hosts are not contacted at all.
    torn: list[list[str]] = []

    def teardown(lab, *, progress):
        torn.append(lab.names)
        return StepResult("teardown", ())

    monkeypatch.setattr(importlib.import_module("workshop.steps.teardown"), "teardown", teardown)
    lab = with_inventory(env, THREE_HOSTS)
    code, out, err = workshop(monkeypatch, capsys, lab, "down")
    assert (code, err) == (0, "")
    assert torn == [["node-1", "node-2", "node-3"]]
    assert "The lab is gone" not in out
    assert vagrant == []


def test_down_without_an_inventory_still_removes_the_folders_lab(monkeypatch, capsys, env, vagrant):
    code, out, _ = workshop(monkeypatch, capsys, env, "down")
    assert code == 0
    assert out.startswith("The lab is gone")
    assert vagrant == ["remove"]


def test_a_broken_inventory_stops_up_before_any_vagrant(monkeypatch, capsys, env, vagrant):
    lab = with_inventory(env, "  - {name: node-1, role: worker}\n")
    code, _, err = workshop(monkeypatch, capsys, lab, "up")
    assert code == 2
    assert err.startswith("workshop up: ") and "no node has role 'manager'" in err
    assert vagrant == []


# --- ssh: no field of a node ever becomes an option of the local ssh ----------------


@pytest.fixture
def execvp(monkeypatch) -> list[list[str]]:
    """The argument lists `workshop ssh` would run (nothing is run)."""
    ran: list[list[str]] = []
    monkeypatch.setattr(cli.os, "execvp", lambda file, args: ran.append(list(args)))
    return ran


def openssh_reads(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """How OpenSSH reads an ssh command line: ``ssh -G`` prints it and connects nowhere."""
    if shutil.which("ssh") is None:
        pytest.skip("no OpenSSH client here")
    assert argv[0] == "ssh"
    # -F /dev/null: the user's own ssh config plays no part.
    return subprocess.run(
        ["ssh", "-G", "-F", "/dev/null", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_ssh_reaches_the_node_and_passes_the_command_as_a_command(
    monkeypatch, capsys, env, execvp, tmp_path
):
    key = write_client_key(tmp_path)
    node = f"  - {{name: node-1, host: 10.0.0.11, port: 2222, user: ada, identity_file: {key}}}\n"
    lab = with_inventory(env, node)
    hostile = "-oProxyCommand=touch /tmp/pwned"
    code, _, _ = workshop(monkeypatch, capsys, lab, "ssh", "node-1", hostile)
    assert code == 0
    (argv,) = execvp
    assert argv[argv.index("--") :] == ["--", "10.0.0.11", hostile]
    read = openssh_reads(argv)
    assert read.returncode == 0, read.stderr
    options = dict(line.split(" ", 1) for line in read.stdout.splitlines())
    assert (options["hostname"], options["port"], options["user"]) == ("10.0.0.11", "2222", "ada")
    assert options["identityfile"] == key
    assert "proxycommand" not in options


@pytest.mark.parametrize(
    ("host", "user"),
    [("-oProxyCommand=touch /tmp/pwned", None), ("10.0.0.11", "-oProxyCommand=touch /tmp/pwned")],
)
def test_ssh_never_gives_a_field_to_openssh_as_an_option(
    monkeypatch, capsys, env, execvp, host, user
):
    # A lab whose node did not come through the inventory's checks.
    node = Node("node-1", "manager", "10.0.0.11", SSHEndpoint(host=host, user=user))
    monkeypatch.setattr(Lab, "connect", classmethod(lambda cls, path=None: Lab(FakeSource([node]))))
    code, _, _ = workshop(monkeypatch, capsys, env, "ssh", "node-1")
    assert code == 0
    (argv,) = execvp
    read = openssh_reads(argv)
    assert read.returncode == 255 and read.stdout == ""
    assert "contains invalid characters" in read.stderr


def test_ssh_to_a_hostile_inventory_host_is_refused_before_ssh_runs(
    monkeypatch, capsys, env, execvp
):
    lab = with_inventory(env, "  - {name: node-1, host: -oProxyCommand=touch /tmp/pwned}\n")
    code, _, err = workshop(monkeypatch, capsys, lab, "ssh", "node-1")
    assert code == 2
    assert err.startswith(f"workshop ssh: {lab['WORKSHOP_INVENTORY']}: node node-1: host ")
    assert execvp == []


# --- a node without identity_file: the user's default key, as ssh would ---------------


def test_status_on_hosts_without_identity_file_uses_the_users_key(
    monkeypatch, capsys, env, tmp_path
):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    rsa_key().write_private_key_file(str(home / ".ssh" / "id_rsa"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with LoopbackSSHServer() as server:
        record_host_keys(home / ".ssh" / "known_hosts", (f"[127.0.0.1]:{server.port}", rsa_key()))
        node = f"  - {{name: node-1, host: 127.0.0.1, port: {server.port}, user: lab}}\n"
        lab = {**with_inventory(env, node), "HOME": str(home)}
        code, out, err = workshop(monkeypatch, capsys, lab, "status")
    assert (code, err) == (0, "")
    assert "1 of 1 nodes answer over SSH." in out
