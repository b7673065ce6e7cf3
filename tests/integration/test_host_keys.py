"""Host keys on the real lab: recorded by the kit for its nodes, trusted by hand for hosts.

The lab's nodes are checked against the keys the kit read through the Docker engine
when it made them. The same node-1, described as an inventory host (its lab address,
user vagrant, the lab's key) with a known_hosts file of its own, is refused until
`workshop trust` adds its key, and refused again when the file holds a wrong key.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import paramiko
import pytest

from tests.swarm_setup import workshop_cli as run_workshop
from workshop import Lab
from workshop.lab import VagrantSource
from workshop.lab.hostkeys import add_host_key, load_known_hosts, parse_public_keys

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def workshop_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """The `workshop` command, with ``env`` added to this process's environment."""
    return run_workshop(*args, env={**os.environ, **(env or {})}, timeout=timeout)


def keyscan(host: str, port: int) -> set[str]:
    """The host keys a node presents, as OpenSSH's `ssh-keyscan` reads them."""
    found = subprocess.run(
        ["ssh-keyscan", "-T", "10", "-p", str(port), host],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [line.split(None, 1)[1] for line in found.stdout.splitlines() if " " in line]
    return {key.get_base64() for key in parse_public_keys("\n".join(lines))}


@pytest.fixture(scope="module")
def lab(lab_settings_env: str) -> Lab:
    lab = Lab.from_vagrant(ROOT, discover=False)
    lab.up()
    assert isinstance(lab.source, VagrantSource)
    return lab


def recorded(lab: Lab) -> paramiko.HostKeys:
    assert isinstance(lab.source, VagrantSource)
    return load_known_hosts(lab.source.host_keys.path)


def test_every_node_is_recorded_under_its_name_with_the_keys_it_presents(lab: Lab) -> None:
    keys = recorded(lab)
    assert sorted(set(keys.keys())) == sorted(lab.names)
    for node in lab.nodes:
        assert node.ssh.host_key_alias == node.name
        assert node.ssh.known_hosts == str(lab.source.host_keys.path)  # type: ignore[attr-defined]
        mine = {key.get_base64() for key in keys.lookup(node.name).values()}
        assert mine == keyscan(node.ssh.host, node.ssh.port)
        assert mine == keyscan(node.address, 22)


def test_the_nodes_answer_with_their_keys_checked(lab: Lab) -> None:
    assert not lab.run("true").failed
    shell = workshop_cli("ssh", "node-1", "hostname")
    assert (shell.returncode, shell.stdout) == (0, "node-1\n"), shell.stderr


def test_a_lab_without_recorded_keys_gets_them_from_the_engine(lab: Lab) -> None:
    path = lab.source.host_keys.path  # type: ignore[attr-defined]
    before = path.read_text()
    path.unlink()  # a lab made before the kit recorded keys
    again = Lab.from_vagrant(ROOT)
    assert {n.ssh.host_key_alias for n in again.nodes} == set(lab.names)
    assert sorted(set(recorded(lab).keys())) == sorted(lab.names)
    assert path.read_text() == before


# --- node-1 as a host of an inventory ------------------------------------------------


@pytest.fixture
def host(lab: Lab, tmp_path: Path) -> dict[str, str]:
    """An inventory of node-1 at its lab address, with an empty known_hosts of its own."""
    node = lab.node("node-1")
    (key,) = node.ssh.identity_files
    (tmp_path / "known_hosts").write_text("")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "known_hosts: known_hosts\n"
        "nodes:\n"
        f"  - {{name: node-1, host: {node.address}, user: vagrant, identity_file: {key}}}\n"
    )
    return {"WORKSHOP_INVENTORY": str(inventory)}


def wrong_key(lab: Lab, known_hosts: Path, folder: Path) -> None:
    """Write a key that is not node-1's for its address into ``known_hosts``."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "other")],
        check=True,
        timeout=60,
    )
    (wrong,) = parse_public_keys((folder / "other.pub").read_text())
    add_host_key(known_hosts, lab.node("node-1").address, wrong)


def test_status_and_run_refuse_a_host_that_is_not_trusted(host) -> None:
    # Needs the SSH client's checking of known_hosts (workshop/remote).
    for command in (["status"], ["run", "true"]):
        refused = workshop_cli(*command, env=host)
        said = refused.stdout + refused.stderr
        assert refused.returncode != 0, said
        assert "node-1" in said and "workshop trust" in said
        assert "Traceback" not in said


def test_trusting_the_host_records_its_key_then_it_answers(lab: Lab, host, tmp_path) -> None:
    trusted = workshop_cli("trust", "node-1", "--yes", env=host)
    assert trusted.returncode == 0, trusted.stderr
    assert "SHA256:" in trusted.stdout and "Traceback" not in trusted.stderr
    node = lab.node("node-1")
    known = load_known_hosts(tmp_path / "known_hosts").lookup(node.address)
    assert {key.get_base64() for key in known.values()} <= keyscan(node.address, 22)
    again = workshop_cli("trust", "node-1", env=host)
    assert again.returncode == 0 and "trusted already" in again.stdout, again.stderr
    ran = workshop_cli("run", "true", env=host)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    shell = workshop_cli("ssh", "node-1", "hostname", env=host)
    assert (shell.returncode, shell.stdout) == (0, "node-1\n"), shell.stderr


def test_trust_and_ssh_refuse_a_wrong_key_for_the_host(lab: Lab, host, tmp_path) -> None:
    known_hosts = tmp_path / "known_hosts"
    wrong_key(lab, known_hosts, tmp_path)
    before = known_hosts.read_text()
    trust = workshop_cli("trust", "node-1", "--yes", env=host)
    assert trust.returncode == 1 and "REFUSED" in trust.stderr, trust.stderr
    assert "ssh-keygen -R" in trust.stderr and "Traceback" not in trust.stderr
    shell = workshop_cli("ssh", "node-1", "true", env=host)
    assert shell.returncode == 255 and "Host key verification failed" in shell.stderr
    assert known_hosts.read_text() == before


def test_run_refuses_a_wrong_key_for_the_host_as_changed(lab: Lab, host, tmp_path) -> None:
    # Needs the SSH client's checking of known_hosts (workshop/remote).
    wrong_key(lab, tmp_path / "known_hosts", tmp_path)
    ran = workshop_cli("run", "true", env=host)
    said = ran.stdout + ran.stderr
    assert ran.returncode != 0 and "node-1" in said and "changed" in said.lower(), said
    assert "Traceback" not in said
