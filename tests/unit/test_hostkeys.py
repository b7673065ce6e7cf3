"""Host keys: known_hosts files, the lab's recorded keys, `workshop trust` and `workshop ssh`.

Keys and fingerprints come from a real lab node (``tests/data/hostkeys``: its
``/etc/ssh/ssh_host_*_key.pub``, what ``ssh-keygen -l`` and ``ssh-keyscan -H``
said about them). Hosts are a real SSH server on loopback (paramiko's server side),
whose host key is the session's RSA key.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import paramiko
import pytest

from tests.unit.fakes import (
    FakeSource,
    FakeVagrantSource,
    LoopbackSSHServer,
    ScriptedCommand,
    closed_port,
    loopback_node,
    rsa_key,
    write_client_key,
)
from tests.unit.test_cli import workshop
from workshop import Lab, cli
from workshop.errors import EngineError, NodeUnreachable, NotReady, UsageError, WorkshopError
from workshop.lab import Node, SSHEndpoint
from workshop.lab import lab_hostkeys as lab_keys_module
from workshop.lab.hostkeys import (
    add_host_key,
    describe_key,
    key_status,
    known_hosts_file,
    known_hosts_name,
    load_known_hosts,
    parse_public_keys,
    replace_host_keys,
    scan_host_key,
)
from workshop.lab.inventory_parse import parse_inventory
from workshop.lab.lab_hostkeys import HostKeysRead, LabHostKeys, container_host_keys
from workshop.settings import LabSettings

DATA = Path(__file__).resolve().parents[1] / "data" / "hostkeys"
PUBLIC_KEYS = (DATA / "ssh_host_keys.pub").read_text()
NODE_KEYS = parse_public_keys(PUBLIC_KEYS)
ED25519 = next(key for key in NODE_KEYS if key.get_name() == "ssh-ed25519")


def base64(key: paramiko.PKey) -> str:
    return key.get_base64()


def other_key() -> paramiko.PKey:
    """An Ed25519 key that is not the node's (read from a recorded line, altered)."""
    line = next(line for line in PUBLIC_KEYS.splitlines() if line.startswith("ssh-ed25519"))
    kind, data, _ = line.split()
    flipped = data[:-6] + ("AAAAAA" if not data.endswith("AAAAAA") else "BBBBBB")
    (key,) = parse_public_keys(f"{kind} {flipped}\n")
    assert key != ED25519
    return key


# --- public keys and fingerprints ---------------------------------------------------


def test_a_nodes_public_keys_are_read_with_ssh_keygens_fingerprints():
    printed = (DATA / "ssh-keygen-l.txt").read_text().splitlines()
    # ssh-keygen -l: "BITS SHA256:... COMMENT (TYPE)"; ours has no comment.
    expected = [f"{line.split()[0]} {line.split()[1]} {line.split()[-1]}" for line in printed]
    assert [describe_key(key) for key in NODE_KEYS] == expected


def test_lines_that_are_not_keys_are_left_out():
    noise = "activating\n\nssh-ed25519 not-base64!\nssh-unknown AAAA\n" + PUBLIC_KEYS
    assert parse_public_keys(noise) == NODE_KEYS


# --- names and files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "name"),
    [
        (SSHEndpoint("10.0.0.11"), "10.0.0.11"),
        (SSHEndpoint("10.0.0.11", 2222), "[10.0.0.11]:2222"),
        (SSHEndpoint("2001:db8::1", 2222), "[2001:db8::1]:2222"),
        (SSHEndpoint("127.0.0.1", 2201, host_key_alias="node-1"), "node-1"),
    ],
)
def test_the_name_a_key_is_recorded_under_is_openssh_s(endpoint, name):
    assert known_hosts_name(endpoint) == name


def test_the_users_known_hosts_is_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert known_hosts_file(SSHEndpoint("h")) == tmp_path / ".ssh" / "known_hosts"
    assert known_hosts_file(SSHEndpoint("h", known_hosts="/x/kh")) == Path("/x/kh")


# --- known, unknown, changed --------------------------------------------------------


def test_a_missing_file_knows_no_host(tmp_path):
    assert key_status(tmp_path / "none", "10.0.0.11", ED25519) == "unknown"


def test_keys_ssh_keyscan_wrote_hashed_are_known_under_the_address(tmp_path):
    path = tmp_path / "known_hosts"
    shutil.copy(DATA / "ssh-keyscan-H.txt", path)
    for key in NODE_KEYS:
        assert key_status(path, "192.168.64.11", key) == "known"
    assert key_status(path, "192.168.64.12", ED25519) == "unknown"


def test_another_key_for_the_name_is_a_changed_key(tmp_path):
    path = tmp_path / "known_hosts"
    add_host_key(path, "10.0.0.11", other_key())
    assert key_status(path, "10.0.0.11", ED25519) == "changed"


def test_a_name_known_with_other_key_types_only_is_a_changed_key(tmp_path):
    path = tmp_path / "known_hosts"
    rsa = next(key for key in NODE_KEYS if key.get_name() == "ssh-rsa")
    add_host_key(path, "10.0.0.11", rsa)
    assert key_status(path, "10.0.0.11", ED25519) == "changed"


def test_a_known_hosts_that_is_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match=f"cannot read the known_hosts file {tmp_path}"):
        key_status(tmp_path, "10.0.0.11", ED25519)


# --- adding a key to a user's file, replacing a lab's --------------------------------


def test_adding_a_key_keeps_every_other_line(tmp_path):
    path = tmp_path / "known_hosts"
    kept = (
        "# my hosts\n@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKuEDpnRvlgN"
        "X0O3G37GhMGW+IfekoMizaYQXhLIeiNX\n" + (DATA / "ssh-keyscan-H.txt").read_text().rstrip()
    )
    path.write_text(kept)  # no newline at the end
    add_host_key(path, "[10.0.0.11]:2222", ED25519)
    text = path.read_text()
    assert text.startswith(kept + "\n")
    assert text.endswith(f"[10.0.0.11]:2222 ssh-ed25519 {ED25519.get_base64()}\n")
    assert key_status(path, "[10.0.0.11]:2222", ED25519) == "known"
    assert key_status(path, "192.168.64.11", ED25519) == "known"


def test_a_first_key_makes_a_private_folder_and_file(tmp_path):
    path = tmp_path / "home" / ".ssh" / "known_hosts"
    add_host_key(path, "10.0.0.11", ED25519)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    if shutil.which("ssh-keygen"):
        found = subprocess.run(
            ["ssh-keygen", "-F", "10.0.0.11", "-f", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert found.returncode == 0 and ED25519.get_base64() in found.stdout


def test_replacing_a_nodes_keys_leaves_the_other_nodes(tmp_path):
    path = tmp_path / "known_hosts"
    replace_host_keys(path, "node-1", [other_key()], "node-1 machine old")
    replace_host_keys(path, "node-2", NODE_KEYS, "node-2 machine b")
    replace_host_keys(path, "node-1", NODE_KEYS, "node-1 machine new")
    text = path.read_text()
    assert "machine old" not in text and other_key().get_base64() not in text
    keys = load_known_hosts(path)
    for name in ("node-1", "node-2"):
        assert sorted(keys.lookup(name).values(), key=base64) == sorted(NODE_KEYS, key=base64)


# --- scanning a host's key: a handshake, nothing more -------------------------------


def test_scanning_gives_the_key_the_server_presents_and_logs_in_nowhere():
    with LoopbackSSHServer() as server:
        key = scan_host_key(loopback_node(server.port))
    assert key == rsa_key()
    assert server.commands == []


def test_scanning_a_closed_port_is_unreachable_with_the_node_named():
    with pytest.raises(NodeUnreachable) as info:
        scan_host_key(loopback_node(closed_port()), timeout=2)
    assert str(info.value).startswith("node-1 (127.0.0.1) is unreachable: no SSH answer (ssh ")


# --- the lab's file: keys read from the machine, again when it is made again --------


class Reader:
    """Stands in for the engine: gives the node's recorded keys, counts the reads."""

    def __init__(self, fail: bool = False) -> None:
        self.reads: list[tuple[str, str]] = []
        self.fail = fail

    def __call__(self, name: str, machine: str, timeout: float) -> HostKeysRead:
        self.reads.append((name, machine))
        if self.fail:
            raise NotReady(f"{name}: sshd is not up")
        return HostKeysRead(list(NODE_KEYS), "from the Docker engine")


def lab_file(tmp_path: Path, machines: dict[str, str], reader: Reader) -> LabHostKeys:
    return LabHostKeys(tmp_path / "hostkeys" / "known_hosts", lambda n: machines.get(n, ""), reader)


def test_a_recorded_node_is_read_again_only_when_its_machine_is_new(tmp_path):
    machines = {"node-1": "aaa", "node-2": "bbb"}
    reader = Reader()
    keys = lab_file(tmp_path, machines, reader)
    lines: list[str] = []
    assert keys.record(["node-1", "node-2", "node-3"], progress=lines.append) == [
        "node-1",
        "node-2",
    ]
    assert lines == [f"{n}: SSH host keys recorded (read from the Docker engine)" for n in machines]
    assert keys.record(["node-1", "node-2"], missing_only=True) == []
    machines["node-2"] = "ccc"  # made again
    assert keys.record(["node-1", "node-2"], missing_only=True) == ["node-2"]
    assert reader.reads == [("node-1", "aaa"), ("node-2", "bbb"), ("node-2", "ccc")]
    assert keys.machines() == {"node-1": "aaa", "node-2": "ccc"}


def test_nodes_read_from_the_lab_are_checked_under_their_names(tmp_path):
    reader = Reader()
    keys = lab_file(tmp_path, {"node-1": "aaa", "node-2": "bbb"}, reader)
    ssh = SSHEndpoint("127.0.0.1", 2201, "vagrant")
    nodes = [
        Node("node-1", "manager", "192.168.56.11", ssh),
        Node("node-2", "worker", "192.168.56.12", ssh, state="stopped"),
    ]
    checked = keys.checked(nodes)
    assert [n.ssh.host_key_alias for n in checked] == ["node-1", "node-2"]
    assert {n.ssh.known_hosts for n in checked} == {str(keys.path)}
    assert reader.reads == [("node-1", "aaa")]  # a stopped machine cannot be read
    assert key_status(keys.path, "node-1", ED25519) == "known"
    assert key_status(keys.path, "node-2", ED25519) == "unknown"


def test_a_node_whose_keys_cannot_be_read_is_left_unknown(tmp_path):
    keys = lab_file(tmp_path, {"node-1": "aaa"}, Reader(fail=True))
    ssh = SSHEndpoint("127.0.0.1", 2201, "vagrant")
    (node,) = keys.checked([Node("node-1", "manager", "192.168.56.11", ssh)])
    assert node.ssh.host_key_alias == "node-1"
    assert key_status(keys.path, "node-1", ED25519) == "unknown"


# --- reading a node container's keys through the engine -----------------------------


class FakeContainer:
    name = "wsunit-node-1"

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.commands: list[list[str]] = []

    def exec_run(self, command, **_: object) -> tuple[int, bytes]:
        self.commands.append(command)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeEngine:
    def __init__(self, container: FakeContainer) -> None:
        self.containers = self
        self.container = container
        self.closed = False

    def get(self, container_id: str) -> FakeContainer:
        assert container_id == "abc123"
        return self.container

    def close(self) -> None:
        self.closed = True


def test_a_containers_keys_are_read_once_sshd_runs(monkeypatch):
    container = FakeContainer((3, b""), (0, PUBLIC_KEYS.encode()))
    engine = FakeEngine(container)
    monkeypatch.setattr(lab_keys_module, "engine_client", lambda timeout: engine)
    read = container_host_keys("abc123", "node-1", timeout=30)
    assert read == HostKeysRead(NODE_KEYS, "from the Docker engine")
    assert len(container.commands) == 2 and "systemctl is-active" in container.commands[0][-1]
    assert engine.closed


def test_sshd_that_never_starts_names_the_node_and_workshop_trust(monkeypatch):
    engine = FakeEngine(FakeContainer((3, b"")))
    monkeypatch.setattr(lab_keys_module, "engine_client", lambda timeout: engine)
    with pytest.raises(NotReady) as info:
        container_host_keys("abc123", "node-1", timeout=0)
    message = str(info.value)
    assert message.startswith("node-1 has no SSH host key to record: sshd did not start")
    assert "docker exec wsunit-node-1 systemctl status ssh" in message
    assert "`workshop trust node-1`" in message


def test_without_an_engine_the_error_says_how_to_start_it(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EngineError, match="connecting to the Docker engine"):
        container_host_keys("abc123", "node-1", timeout=0)


# --- the Vagrant source: a file per lab, VMs through `vagrant ssh`, gone with the lab --


def test_a_vms_key_is_read_through_vagrant_ssh_and_forgotten_on_destroy(tmp_path):
    settings = LabSettings(name="wsunit", provider="virtualbox")
    source = FakeVagrantSource(tmp_path, settings=settings)
    assert source.host_keys.path == tmp_path / ".workshop" / "hostkeys" / "wsunit" / "known_hosts"
    machine = source.dotfile_dir / "machines" / "node-1" / "virtualbox" / "id"
    machine.parent.mkdir(parents=True)
    machine.write_text("0d1e2f\n")
    ed25519_line = next(line for line in PUBLIC_KEYS.splitlines() if "ed25519" in line)
    source.execute = ScriptedCommand((0, ed25519_line + "\n", ""), (0, "", ""))
    assert source.host_keys.record(["node-1", "node-2"]) == ["node-1"]
    assert source.execute.calls[0] == [
        "ssh",
        "node-1",
        "-c",
        "cat /etc/ssh/ssh_host_ed25519_key.pub",
    ]
    assert key_status(source.host_keys.path, "node-1", ED25519) == "known"
    source.destroy()
    assert not source.host_keys.path.exists()


def test_a_vm_that_gives_no_key_is_a_clear_error(tmp_path):
    source = FakeVagrantSource(tmp_path, settings=LabSettings(name="wsunit", provider="libvirt"))
    machine = source.dotfile_dir / "machines" / "node-1" / "libvirt" / "id"
    machine.parent.mkdir(parents=True)
    machine.write_text("0d1e2f\n")
    source.execute = ScriptedCommand((0, "cat: No such file or directory\n", ""))
    with pytest.raises(NotReady, match="node-1 gave no SSH host key"):
        source.host_keys.record(["node-1"])


# --- workshop trust: shown, then added only with the user's yes ----------------------


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """A folder with an inventory file to come, a HOME of its own, and no engine."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "Vagrantfile").write_text("# the lab's machines\n", encoding="utf-8")
    return {
        "WORKSHOP_HOME": str(tmp_path),
        "WORKSHOP_LAB": f"trustunit{uuid.uuid4().hex[:6]}",
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
    }


def inventory(env: dict[str, str], port: int, known_hosts: str | None = "known_hosts") -> dict:
    folder = Path(env["WORKSHOP_HOME"])
    top = f"known_hosts: {known_hosts}\n" if known_hosts else ""
    path = folder / "inventory.yml"
    path.write_text(
        f"{top}nodes:\n  - {{name: node-1, host: 127.0.0.1, port: {port}, user: lab,"
        f" identity_file: {write_client_key(folder)}}}\n",
        encoding="utf-8",
    )
    return {**env, "WORKSHOP_INVENTORY": str(path)}


def answer(monkeypatch, text: str) -> None:
    """What the user types at the question."""
    monkeypatch.setattr(cli.sys.stdin, "readline", lambda: text)


def test_trust_with_yes_shows_the_fingerprint_and_records_it(monkeypatch, capsys, env):
    with LoopbackSSHServer() as server:
        lab = inventory(env, server.port)
        code, out, err = workshop(monkeypatch, capsys, lab, "trust", "node-1", "--yes")
    path = Path(env["WORKSHOP_HOME"]) / "known_hosts"
    name = f"[127.0.0.1]:{server.port}"
    assert (code, err) == (0, "")
    assert describe_key(rsa_key()) in out and str(path) in out
    assert out.splitlines()[-1].startswith(f"node-1: trusted: {name} 2048 SHA256:")
    assert key_status(path, name, rsa_key()) == "known"
    assert server.commands == []


def test_trust_asks_and_a_no_writes_nothing(monkeypatch, capsys, env):
    answer(monkeypatch, "no\n")
    with LoopbackSSHServer() as server:
        code, out, err = workshop(
            monkeypatch, capsys, inventory(env, server.port), "trust", "node-1"
        )
    assert code == 1
    assert "Trust this key for [127.0.0.1]:" in err
    assert "ssh-keyscan" in out and "fingerprint your provider shows" in out
    assert out.splitlines()[-1] == "node-1: not trusted; nothing was written."
    assert not (Path(env["WORKSHOP_HOME"]) / "known_hosts").exists()


def test_trust_without_a_terminal_and_without_yes_writes_nothing(monkeypatch, capsys, env):
    answer(monkeypatch, "")
    with LoopbackSSHServer() as server:
        code, _, err = workshop(monkeypatch, capsys, inventory(env, server.port), "trust", "node-1")
    assert code == 1
    assert "run again with --yes" in err
    assert not (Path(env["WORKSHOP_HOME"]) / "known_hosts").exists()


def test_trust_asks_and_a_yes_records_in_the_users_known_hosts(monkeypatch, capsys, env):
    answer(monkeypatch, "yes\n")
    with LoopbackSSHServer() as server:
        lab = inventory(env, server.port, known_hosts=None)
        code, _, _ = workshop(monkeypatch, capsys, lab, "trust", "node-1")
        again, out, _ = workshop(monkeypatch, capsys, lab, "trust", "node-1")
    path = Path(os.environ["HOME"]) / ".ssh" / "known_hosts"
    assert (code, again) == (0, 0)
    assert key_status(path, f"[127.0.0.1]:{server.port}", rsa_key()) == "known"
    assert "is trusted already" in out
    assert len(path.read_text().splitlines()) == 1


def test_trust_refuses_a_changed_key_and_says_how_to_forget_the_old(monkeypatch, capsys, env):
    path = Path(env["WORKSHOP_HOME"]) / "known_hosts"
    with LoopbackSSHServer() as server:
        name = f"[127.0.0.1]:{server.port}"
        add_host_key(path, name, paramiko.RSAKey.generate(1024))
        before = path.read_text()
        lab = inventory(env, server.port)
        code, out, err = workshop(monkeypatch, capsys, lab, "trust", "node-1", "--yes")
    assert (code, out) == (1, "")
    assert err.startswith("workshop trust: REFUSED: node-1 (lab@127.0.0.1:")
    assert f"`ssh-keygen -R '{name}' -f {path}`" in err
    assert "`workshop trust node-1` again" in err and "Traceback" not in err
    assert path.read_text() == before


def test_trust_of_a_host_that_does_not_answer_is_one_line(monkeypatch, capsys, env):
    code, out, err = workshop(
        monkeypatch, capsys, inventory(env, closed_port()), "trust", "node-1", "--yes"
    )
    assert (code, out) == (1, "")
    assert err.startswith("workshop trust: node-1 (127.0.0.1) is unreachable: no SSH answer")
    assert err.count("\n") == 1


def test_trust_of_an_unknown_node_contacts_nothing(monkeypatch, capsys, env):
    code, _, err = workshop(monkeypatch, capsys, inventory(env, closed_port()), "trust", "node-9")
    assert code == 2
    assert err == "workshop trust: unknown node 'node-9'; the lab's nodes are: node-1\n"


# --- inventories name their known_hosts ----------------------------------------------


def test_an_inventory_names_its_known_hosts_at_the_top_and_per_node(tmp_path):
    (tmp_path / "keys").mkdir()
    path = tmp_path / "hosts.yml"
    path.write_text(
        "known_hosts: keys/lab_known_hosts\n"
        "nodes:\n"
        "  - {name: node-1, host: 10.0.0.11}\n"
        "  - {name: node-2, host: 10.0.0.12, known_hosts: /etc/ssh/ssh_known_hosts}\n"
    )
    nodes = parse_inventory(path)
    assert [n.ssh.known_hosts for n in nodes] == [
        str(tmp_path / "keys" / "lab_known_hosts"),
        "/etc/ssh/ssh_known_hosts",
    ]
    assert [n.ssh.host_key_alias for n in nodes] == [None, None]


def test_an_inventory_without_known_hosts_uses_the_users(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text("nodes:\n  - {name: node-1, host: 10.0.0.11}\n")
    (node,) = parse_inventory(path)
    assert node.ssh.known_hosts is None


def test_an_ssh_config_inventory_names_it_in_a_comment(tmp_path):
    path = tmp_path / "ssh_config"
    path.write_text("Host node-1\n  # known_hosts: lab_known_hosts\n  HostName 10.0.0.11\n")
    (node,) = parse_inventory(path)
    assert node.ssh.known_hosts == str(tmp_path / "lab_known_hosts")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".", "is a folder"),
        ("no/such/folder/known_hosts", "does not exist"),
        ("[a, b]", "must be text"),
        ("''", "must be the path of a file"),
    ],
)
def test_a_bad_known_hosts_is_refused_before_anything_runs(tmp_path, value, message):
    path = tmp_path / "hosts.yml"
    path.write_text(f"nodes:\n  - {{name: node-1, host: 10.0.0.11, known_hosts: {value}}}\n")
    with pytest.raises(UsageError, match=message):
        parse_inventory(path)


# --- workshop ssh checks the key as the kit does -------------------------------------


def ssh_reads(monkeypatch, capsys, env, node: Node) -> dict[str, str]:
    """The options OpenSSH reads from the command line `workshop ssh` runs (``ssh -G``)."""
    if shutil.which("ssh") is None:
        pytest.skip("no OpenSSH client here")
    ran: list[list[str]] = []
    monkeypatch.setattr(cli.os, "execvp", lambda file, args: ran.append(list(args)))
    monkeypatch.setattr(Lab, "connect", classmethod(lambda cls, path=None: Lab(FakeSource([node]))))
    assert workshop(monkeypatch, capsys, env, "ssh", node.name)[0] == 0
    (argv,) = ran
    read = subprocess.run(
        ["ssh", "-G", "-F", "/dev/null", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert read.returncode == 0, read.stderr
    return dict(line.split(" ", 1) for line in read.stdout.splitlines())


def test_ssh_to_a_lab_node_checks_its_recorded_key_under_its_name(monkeypatch, capsys, env):
    known = Path(env["WORKSHOP_HOME"]) / "a folder" / "100%" / "known_hosts"
    ssh = SSHEndpoint("127.0.0.1", 2201, "vagrant", known_hosts=str(known), host_key_alias="node-1")
    options = ssh_reads(monkeypatch, capsys, env, Node("node-1", "manager", "192.168.56.11", ssh))
    assert options["userknownhostsfile"] == str(known)
    assert options["globalknownhostsfile"] == "/dev/null"
    assert options["stricthostkeychecking"] == "true"
    assert options["hostkeyalias"] == "node-1"


def test_ssh_to_an_inventory_host_checks_the_users_known_hosts(monkeypatch, capsys, env):
    node = Node("node-1", "manager", "10.0.0.11", SSHEndpoint("10.0.0.11", user="ada"))
    options = ssh_reads(monkeypatch, capsys, env, node)
    assert options["userknownhostsfile"] == str(Path(os.environ["HOME"]) / ".ssh" / "known_hosts")
    assert options["stricthostkeychecking"] == "true"
    assert "hostkeyalias" not in options


def test_trust_on_the_kits_own_lab_reads_the_keys_again_without_asking(
    monkeypatch, capsys, env, tmp_path
):
    settings = LabSettings(name="wsunit", provider="virtualbox")
    ssh = SSHEndpoint("127.0.0.1", 2222, "vagrant")
    source = FakeVagrantSource(
        tmp_path,
        [
            Node("node-1", "manager", "192.168.56.11", ssh),
            Node("node-2", "manager", "192.168.56.12", ssh, state="stopped"),
        ],
        settings=settings,
    )
    for name in ("node-1", "node-2"):
        machine = source.dotfile_dir / "machines" / name / "virtualbox" / "id"
        machine.parent.mkdir(parents=True)
        machine.write_text(f"id-of-{name}\n")
    source.execute = ScriptedCommand((0, PUBLIC_KEYS, ""))
    monkeypatch.setattr(Lab, "connect", classmethod(lambda cls, path=None: Lab(source)))
    code, out, err = workshop(monkeypatch, capsys, env, "trust", "node-1", "node-2")
    assert code == 1  # node-2 is stopped
    assert source.execute.calls == [
        ["ssh", "node-1", "-c", "cat /etc/ssh/ssh_host_ed25519_key.pub"]
    ]
    lines = out.splitlines()
    assert lines[0].startswith(f"node-1: recorded in {source.host_keys.path}: ")
    assert describe_key(ED25519) in lines[0]
    assert lines[1].startswith("node-2: not running, nothing recorded: start it with `workshop up`")
    assert err == "node-1: SSH host keys recorded (read through `vagrant ssh`)\n"
    assert key_status(source.host_keys.path, "node-1", ED25519) == "known"


def test_a_lab_file_that_cannot_be_written_is_a_kit_error(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(WorkshopError) as info:
        replace_host_keys(blocked / "known_hosts", "node-1", NODE_KEYS)
    assert str(info.value).startswith(f"cannot read the known_hosts file {blocked / 'known_hosts'}")
