"""Fakes shared by unit tests that stand in for what the lab answers."""

from __future__ import annotations

import errno as _errno
import functools as _functools
import json
import logging as _logging
import re
import socket as _socket
import threading as _threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace as _Namespace
from typing import Any

import paramiko as _paramiko

from workshop.lab import InventorySource, Node, Results, SSHEndpoint, VagrantSource
from workshop.lab import SSHEndpoint as _SSHEndpoint
from workshop.lab.results import RunResult
from workshop.remote import RemoteLab
from workshop.settings import LabSettings
from workshop.swarm.models import Quorum, Service, SwarmNode, Task
from workshop.swarm.parse import (
    parse_node_inspect,
    parse_service_ls,
    parse_service_ps,
)
from workshop.swarm.read import Attempt, SwarmReader, SwarmUnavailable, quorum_of


def result(
    node: str,
    command: str,
    rc: int | None = 0,
    stdout: str = "",
    stderr: str = "",
    error: str | None = None,
) -> RunResult:
    """What one node answered, as `lab.run` returns it."""
    return RunResult(
        node=node,
        command=command,
        rc=rc,
        stdout=stdout,
        stderr=stderr,
        duration=0.01,
        started=0.0,
        finished=0.01,
        error=error,
    )


class FakeSource(InventorySource):
    """An inventory-like source whose hosts are given, not read from a file."""

    def __init__(self, nodes: Sequence[Node] = ()) -> None:
        super().__init__(Path("inventory.yml"))
        self.nodes = list(nodes)

    def discover(self) -> list[Node]:
        return list(self.nodes)


# --- FakeRemote: the SSH fan-out, answering from handlers (checks, steps) ---------


#: What a node answers: (rc, stdout, stderr); rc ``None`` means "no SSH answer".
Reply = tuple[int | None, str, str]
#: (node, command) -> a reply, or ``None`` when the handler does not know the command.
Handler = Callable[[str, str], Reply | None]


def on(pattern: str, stdout: str = "", rc: int = 0, nodes: Sequence[str] | None = None) -> Handler:
    """A handler: commands matching the regex ``pattern`` (on ``nodes``, default all)."""
    regex = re.compile(pattern)

    def handle(node: str, command: str) -> Reply | None:
        if (nodes is None or node in nodes) and regex.search(command):
            return (rc, stdout, "")
        return None

    return handle


def down(node: str) -> Handler:
    """A handler: ``node`` gives no SSH answer to anything."""

    def handle(name: str, command: str) -> Reply | None:
        return (None, "", "") if name == node else None

    return handle


class FakeRemote:
    """Stands in for ``workshop.remote.Remote``: answers from handlers, records what ran.

    Handlers are asked in order and the first answer wins; a command no handler
    knows succeeds with no output. Install it with ``lab.remote = FakeRemote(...)``.

    Attributes:
        commands: Every command run, once per ``run`` call.
        calls: ``(node, command)`` for every node a command ran on.
    """

    def __init__(self, handlers: Sequence[Handler] = ()) -> None:
        self.handlers = list(handlers)
        self.commands: list[str] = []
        self.calls: list[tuple[str, str]] = []

    @classmethod
    def from_rules(cls, rules: Sequence[tuple[str, str]]) -> FakeRemote:
        """Commands that contain a rule's text answer its stdout (first rule wins)."""
        return cls([on(re.escape(text), stdout) for text, stdout in rules])

    def answer(self, node: str, command: str) -> Reply:
        """What ``node`` answers to ``command``."""
        for handler in self.handlers:
            reply = handler(node, command)
            if reply is not None:
                return reply
        return (0, "", "")

    def run(
        self,
        nodes: Sequence[Node],
        command: str,
        *,
        sudo: bool = False,
        timeout: float = 0.0,
        stdin: str | None = None,
    ) -> Results:
        """One result per node, as ``Remote.run`` returns them."""
        self.commands.append(command)
        results = []
        for node in nodes:
            self.calls.append((node.name, command))
            rc, stdout, stderr = self.answer(node.name, command)
            if rc is None:
                silent = result(node.name, command, None, error="no SSH answer")
                results.append(replace(silent, unreachable=True))
            else:
                results.append(result(node.name, command, rc, stdout, stderr))
        return Results(results)

    def matching(self, pattern: str | re.Pattern[str]) -> list[str]:
        """The commands run that match a regex (e.g. the ones that change the lab)."""
        return [c for c in self.commands if re.search(pattern, c)]

    def close(self) -> None:
        """Nothing to close."""


class FakeVagrantSource(VagrantSource):
    """A Vagrant lab whose machines are given: its settings and advice, no Vagrant run.

    Args:
        project_dir: A folder for the project (an empty Vagrantfile is put there).
        nodes: The machines ``discover`` returns.
        settings: The lab's settings (default: the defaults, docker provider).
    """

    def __init__(
        self, project_dir: Path, nodes: Sequence[Node] = (), settings: LabSettings | None = None
    ) -> None:
        (Path(project_dir) / "Vagrantfile").touch()
        super().__init__(project_dir, settings or LabSettings(provider="docker"))
        self.nodes = list(nodes)

    def discover(self) -> list[Node]:
        return list(self.nodes)


# --- ScriptedCommand: a host command's answers in turn (the Vagrant source) -------
class ScriptedCommand:
    """Stands in for a command runner: answers ``(rc, stdout, stderr)`` in turn.

    The last answer repeats once the others are used; every call's arguments are kept.
    """

    def __init__(self, *answers: tuple[int, str, str]) -> None:
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str], *_: object, **__: object) -> tuple[int, str, str]:
        self.calls.append(list(args))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


# --- steps: a lab that answers with outputs recorded on a real lab ------------------


STEPS_DATA = Path(__file__).resolve().parent.parent / "data" / "steps"
GLUSTER_DATA = Path(__file__).resolve().parent.parent / "data" / "gluster"

#: One recorded answer: the node, the exact command line, rc, stdout and stderr.
Recording = dict[str, Any]


def recording(name: str) -> list[Recording]:
    """The answers recorded in ``tests/data/steps/<name>.json``."""
    answers: list[Recording] = json.loads((STEPS_DATA / f"{name}.json").read_text())
    return answers


def same_answer(command: str, stdout: str, nodes: Sequence[str], rc: int = 0) -> list[Recording]:
    """One recorded output as the answer of several nodes, or of one."""
    return [
        {"node": n, "command": command, "rc": rc, "stdout": stdout, "stderr": ""} for n in nodes
    ]


class RecordedRemote:
    """Answers each (node, command) with what a real lab answered to it.

    A later set of answers overrides an earlier one; several answers in one set for
    the same (node, command) are played in order, the last one repeating. Commands
    nobody recorded answer ``rc 0`` and nothing: they are the changes a step makes,
    listed in :attr:`unrecorded` (files written are in :attr:`files`).
    """

    def __init__(self, *sets: Iterable[Recording]) -> None:
        self.replies: dict[tuple[str, str], list[Recording]] = {}
        for answer_set in sets:
            fresh: dict[tuple[str, str], list[Recording]] = {}
            for answer in answer_set:
                fresh.setdefault((answer["node"], answer["command"]), []).append(answer)
            self.replies.update(fresh)
        self.commands: list[tuple[str, str]] = []
        self.unrecorded: list[tuple[str, str]] = []
        self.files: list[tuple[str, str]] = []

    def _answer(self, node: str, command: str) -> RunResult:
        self.commands.append((node, command))
        queue = self.replies.get((node, command))
        if not queue:
            self.unrecorded.append((node, command))
            return result(node, command)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return result(node, command, answer["rc"], answer["stdout"], answer["stderr"])

    def run(self, nodes, command, *, sudo=False, timeout=0.0, stdin=None) -> Results:
        return Results(self._answer(node.name, command) for node in nodes)

    def put_text(self, node, text, path, *, sudo=False, mode="0644") -> None:
        self.files.append((node.name, path))

    def close(self) -> None:
        pass

    def changes(self, pattern: str) -> list[str]:
        """Nodes where an unrecorded command matching ``pattern`` ran."""
        regex = re.compile(pattern)
        return sorted({node for node, command in self.unrecorded if regex.search(command)})


#: The nodes of the lab the recordings come from (the development lab "wsdev").
RECORDED_NODES = (
    Node("node-1", "manager", "192.168.60.11", SSHEndpoint("127.0.0.1", 2200)),
    Node("node-2", "manager", "192.168.60.12", SSHEndpoint("127.0.0.1", 2201)),
    Node("node-3", "worker", "192.168.60.13", SSHEndpoint("127.0.0.1", 2222)),
)


def recorded_lab(
    *sets: Iterable[Recording], nodes: Sequence[Node] = RECORDED_NODES
) -> tuple[Any, RecordedRemote]:
    """A lab of the recorded nodes whose SSH fan-out answers from recordings."""
    from workshop import Lab

    lab = Lab(FakeSource(nodes), list(nodes))
    remote = RecordedRemote(*sets)
    lab.remote = remote  # type: ignore[assignment]
    return lab, remote


# --- swarm steps: the recorded nodes, and a swarm reader answering from recordings ------
# The swarm's record (tests/data/swarm, see README-steps.md) comes through a reader, so
# the tests do not depend on the commands SwarmReader runs to read it.

SWARM_DATA = Path(__file__).resolve().parent.parent / "data" / "swarm"


def swarm_recording(name: str) -> str:
    """The text of a recording in tests/data/swarm."""
    return (SWARM_DATA / name).read_text(encoding="utf-8")


class SwarmRemote(FakeRemote):
    """A :class:`FakeRemote` that also keeps what was sent on stdin and the files written."""

    def __init__(self, handlers: Sequence[Handler] = ()) -> None:
        super().__init__(handlers)
        self.stdins: list[str] = []
        self.files: list[tuple[str, str]] = []

    def run(self, nodes, command, *, sudo=False, timeout=0.0, stdin=None) -> Results:
        if stdin is not None:
            self.stdins.append(stdin)
        return super().run(nodes, command, sudo=sudo, timeout=timeout, stdin=stdin)

    def put_text(self, node, text, path, *, sudo=False, mode="0644") -> None:
        self.files.append((node.name, path))


def swarm_lab(handlers: Sequence[Handler], roles: Sequence[str] = ()) -> tuple[Any, SwarmRemote]:
    """The recorded nodes (with ``roles`` in the lab, if given) behind a :class:`SwarmRemote`."""
    from workshop import Lab

    nodes = list(RECORDED_NODES)
    if roles:
        nodes = [replace(n, role=r) for n, r in zip(nodes, roles, strict=True)]
    lab = Lab(FakeSource(nodes), nodes)
    remote = SwarmRemote(handlers)
    lab.remote = remote  # type: ignore[assignment]
    return lab, remote


class RecordedReader(SwarmReader):
    """A :class:`SwarmReader` whose reads answer from recordings; writes are remembered.

    Args:
        lab: The lab (its managers are the candidates; the first one answers).
        nodes: A ``docker node inspect`` recording (the swarm's record of its nodes).
        services: A ``docker service ls --format '{{json .}}'`` recording.
        tasks: A ``docker service ps --no-trunc --format '{{json .}}'`` recording.
        answers: The start of a write's arguments (joined by spaces) -> what it prints.
        then: The start of a write's arguments -> recordings that answer the reads
            after it ran, e.g. ``{"service scale": {"services": "service-ls-x.jsonl"}}``.
        unavailable: Every read fails as when no manager answers (no swarm yet).
    """

    def __init__(
        self,
        lab: RemoteLab,
        *,
        nodes: str = "node-inspect-steps.json",
        services: str = "service-ls-steps.jsonl",
        tasks: str = "service-ps-swarmsteps_hello.jsonl",
        answers: dict[str, str] | None = None,
        then: dict[str, dict[str, str]] | None = None,
        unavailable: bool = False,
    ) -> None:
        super().__init__(lab)
        self.files = {"nodes": nodes, "services": services, "tasks": tasks}
        self.answers = answers or {}
        self.then = then or {}
        self.unavailable = unavailable
        self.reads: list[str] = []
        self.writes: list[list[str]] = []

    def _read(self, what: str) -> str:
        self.reads.append(what)
        if self.unavailable:
            reason = "This node is not a swarm manager."
            attempts = [Attempt(n.name, reason, answered=True) for n in self.lab.managers]
            raise SwarmUnavailable(f"docker {what}", attempts)
        return swarm_recording(self.files[what])

    def candidates(self) -> list[str]:
        return [n.name for n in self.lab.managers]

    def nodes(self) -> list[SwarmNode]:
        return parse_node_inspect(self._read("nodes"))

    def services(self) -> list[Service]:
        return parse_service_ls(self._read("services"))

    def tasks(self, service: str | Sequence[str], desired: str | None = "running") -> list[Task]:
        names = [service] if isinstance(service, str) else list(service)
        return [
            t
            for t in parse_service_ps(self._read("tasks"))
            if t.service in names and desired in (None, t.desired_state)
        ]

    def leader(self) -> SwarmNode | None:
        return next((n for n in self.nodes() if n.is_leader), None)

    def quorum(self) -> Quorum:
        return quorum_of(self.nodes())

    def docker(self, args: Sequence[str]) -> str:
        self.writes.append(list(args))
        line = " ".join(args)
        for start, files in self.then.items():
            if line.startswith(start):
                self.files.update(files)
        return next((out for start, out in self.answers.items() if line.startswith(start)), "")


# --- gluster: heal info with a brick down ---------------------------------------------
def heal_info_node_down() -> str:
    """``volume heal swarm-data info --xml`` recorded with node-3's brick down.

    Two entries pending on gluster-1 and gluster-2 (a file written meanwhile, and the
    volume's root), and gluster-3 ``Transport endpoint is not connected``.
    """
    return (GLUSTER_DATA / "heal-info-brick-3-down.xml").read_text()


# --- SSH edges: a real SSH server on loopback, and a connection that raises -----------


@_functools.cache
def rsa_key() -> _paramiko.RSAKey:
    """One RSA key for the test session (host key and client key alike)."""
    return _paramiko.RSAKey.generate(2048)


def write_client_key(folder: Path) -> str:
    """Write the session's RSA key as a private key file; return its path."""
    path = folder / "id_rsa"
    rsa_key().write_private_key_file(str(path))
    return str(path)


def loopback_node(port: int, key_file: str | None = None, name: str = "node-1") -> Node:
    """A node whose SSH endpoint is ``lab@127.0.0.1:port``."""
    keys = (key_file,) if key_file else ()
    ssh = _SSHEndpoint(host="127.0.0.1", port=port, user="lab", identity_files=keys)
    return Node(name, "manager", "127.0.0.1", ssh)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with _socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _RefusingSFTP(_paramiko.SFTPServerInterface):
    """Answers every file open with SFTP's generic "Failure" (what a full disk gives)."""

    def open(self, path: str, flags: int, attr: object) -> int:
        return _paramiko.SFTP_FAILURE


class _Behaviour(_paramiko.ServerInterface):
    def __init__(self, server: LoopbackSSHServer) -> None:
        self.server = server

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: object) -> int:
        return _paramiko.AUTH_SUCCESSFUL if self.server.login else _paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if self.server.channels:
            return _paramiko.OPEN_SUCCEEDED
        return _paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: _paramiko.Channel, command: bytes) -> bool:
        self.server.commands.append(command.decode())
        self.server.executed.set()
        if self.server.on_exec == "drop":
            _threading.Timer(0.1, channel.get_transport().close).start()
        elif self.server.on_exec == "ok":
            _threading.Timer(0.05, _exit_zero, [channel]).start()
        return True  # "hang": the command never ends


def _exit_zero(channel: _paramiko.Channel) -> None:
    channel.send_exit_status(0)
    channel.close()


_logging.getLogger("tests.loopback_ssh").setLevel(_logging.CRITICAL)


class LoopbackSSHServer:
    """A real SSH server on 127.0.0.1 (paramiko's server side) for the client's edges.

    Args:
        login: Let any key in; else every login is refused.
        channels: Open session channels; else refuse them ("Administratively prohibited").
        on_exec: A command "ok" (exits 0 at once), "hang" (never ends) or "drop" (the
            server closes the connection while it runs).

    Attributes:
        port: Where it listens.
        commands: Command lines it was asked to run.
        executed: Set when the first command arrives.
    """

    def __init__(self, *, login: bool = True, channels: bool = True, on_exec: str = "ok") -> None:
        self.login, self.channels, self.on_exec = login, channels, on_exec
        self.commands: list[str] = []
        self.executed = _threading.Event()
        self._transports: list[_paramiko.Transport] = []
        self._sock = _socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        _threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            transport = _paramiko.Transport(client)
            transport.set_log_channel("tests.loopback_ssh")  # quiet: clients hang up on it
            transport.add_server_key(rsa_key())
            transport.set_subsystem_handler("sftp", _paramiko.SFTPServer, _RefusingSFTP)
            self._transports.append(transport)
            transport.start_server(event=_threading.Event(), server=_Behaviour(self))

    def __enter__(self) -> LoopbackSSHServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        for transport in self._transports:
            transport.close()


class FakeConnection:
    """Stands in for ``fabric.Connection``: raises what it is told on open, run or put.

    ``Remote(connection=FakeConnection.factory(...))`` makes one per node.
    ``answered`` says whether the SSH handshake was done before ``open`` failed.
    """

    def __init__(
        self,
        *,
        on_open: BaseException | None = None,
        on_put: BaseException | None = None,
        answered: bool = False,
        **connect: object,
    ) -> None:
        self.host, self.port = connect.get("host"), connect.get("port")
        self.on_open, self.on_put, self.answered = on_open, on_put, answered
        self.is_connected = False
        self.commands: list[str] = []
        self.client = self

    @classmethod
    def factory(cls, made: list[FakeConnection] | None = None, **behaviour: object):
        """A connection factory for ``Remote``; each connection made is appended to ``made``."""

        def make(**connect: object) -> FakeConnection:
            conn = cls(**behaviour, **connect)  # type: ignore[arg-type]
            if made is not None:
                made.append(conn)
            return conn

        return make

    def get_transport(self) -> object:
        active = self.answered
        return _Namespace(is_active=lambda: active, is_authenticated=lambda: False)

    def open(self) -> None:
        if self.on_open is not None:
            raise self.on_open
        self.is_connected = True

    def close(self) -> None:
        self.is_connected = False

    def run(self, command: str, **kwargs: object) -> object:
        self.commands.append(command)
        return _Namespace(exited=0, stdout="", stderr="")

    def put(self, local: object, remote: str) -> None:
        if self.on_put is not None:
            raise self.on_put


def disk_full() -> OSError:
    """What writing to a full disk raises."""
    return OSError(_errno.ENOSPC, "No space left on device")


# --- faults: a Vagrant lab whose machines are powered without Vagrant -----------------
class PoweredVagrantSource(FakeVagrantSource):
    """A :class:`FakeVagrantSource` whose ``halt`` and ``start`` flip machine states.

    Attributes:
        power: ``(action, node)`` for every power operation, in order.
    """

    def __init__(self, project_dir: Path, nodes: Sequence[Node] = ()) -> None:
        super().__init__(project_dir, nodes)
        self.power: list[tuple[str, str]] = []

    def _set(self, names: Sequence[str], action: str, state: str) -> None:
        self.power += [(action, name) for name in names]
        self.nodes = [replace(n, state=state) if n.name in names else n for n in self.nodes]

    def halt(self, names: Sequence[str], progress: object = None) -> None:
        self._set(names, "halt", "stopped")

    def start(self, names: Sequence[str], progress: object = None) -> None:
        self._set(names, "start", "running")


# --- Swarm read model and dashboard: labs whose managers answer from recordings ---------
# Besides the module's first imports and SWARM_DATA, the imports below are used only here.
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from workshop.errors import UnknownNode  # noqa: E402
from workshop.swarm.snapshot import MARK as SNAPSHOT_MARK  # noqa: E402
from workshop.swarm.snapshot import section_header  # noqa: E402


def is_snapshot(command: str) -> bool:
    """Whether a command is the swarm snapshot's shell line (one round trip)."""
    return SNAPSHOT_MARK in command


def running_only(text: str) -> str:
    """The lines of a ``docker service ps`` JSON recording whose desired state is Running."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if line.strip() and json.loads(line)["DesiredState"] == "Running"
    )


def snapshot_output(node_ls: str, node_inspect: str, service_ls: str, service_ps: str) -> str:
    """What the snapshot command prints, assembled from recordings of each command.

    The real command prints the same sections (see tests/data/swarm/snapshot*.txt).
    """
    parts = {
        "node-ls": node_ls,
        "node-inspect": node_inspect,
        "service-ls": service_ls,
        "service-ps": service_ps,
    }
    text = "".join(f"{section_header(name)}\n{body}" for name, body in parts.items())
    return f"{text}{section_header('end')}\n"


@dataclass(frozen=True)
class FakeManager:
    """A lab node as the swarm reader needs it: a name."""

    name: str


ManagerAnswer = Callable[[str], RunResult]


class FakeManagersLab:
    """Managers node-1 and node-2 (and any other named); each answers through a function.

    Args:
        answers: Node name (``node_1`` for ``node-1``) -> function of the command.
    """

    def __init__(self, **answers: ManagerAnswer) -> None:
        self.answers = {name.replace("_", "-"): answer for name, answer in answers.items()}
        self.calls: list[tuple[str, str, bool, float]] = []

    @property
    def managers(self) -> list[FakeManager]:
        return [FakeManager("node-1"), FakeManager("node-2")]

    def run(
        self, command: str, on: str | list[str] = "all", sudo: bool = False, timeout: float = 60
    ) -> Results:
        assert isinstance(on, str)
        if on not in self.answers:
            raise UnknownNode(on, self.answers)
        self.calls.append((on, command, sudo, timeout))
        return Results([self.answers[on](command)])

    @property
    def asked(self) -> list[str]:
        """The nodes asked, in order."""
        return [node for node, *_ in self.calls]


class FakeDashboardLab:
    """Three nodes; managers answer docker reads from the real recordings.

    ``replicas`` (service -> desired) changes with ``docker service scale``;
    ``answer`` may be replaced to simulate failures.
    """

    SUBNET = "192.168.60"

    def __init__(self, node_ls: str = "node-ls.jsonl") -> None:
        self.states = {"node-1": "running", "node-2": "running", "node-3": "running"}
        self.node_ls = node_ls
        self.replicas = {"hello": 3, "helloworld": 6}
        self.calls: list[tuple[str, str]] = []
        self.power: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.answer: Callable[[str, str], RunResult] = self.recorded

    @property
    def nodes(self) -> list[Node]:
        return [
            Node(
                name,
                "manager" if name != "node-3" else "worker",
                f"{self.SUBNET}.{10 + i}",
                SSHEndpoint("127.0.0.1", 2200 + i, "vagrant"),
                state,
            )
            for i, (name, state) in enumerate(sorted(self.states.items()), start=1)
        ]

    @property
    def managers(self) -> list[Node]:
        return [n for n in self.nodes if n.is_manager]

    def run(
        self, command: str, on: str = "all", *, sudo: bool = False, timeout: float = 60
    ) -> Results:
        names = list(self.states) if on == "all" else [on]
        if on != "all" and on not in self.states:
            raise UnknownNode(on, self.states)
        with self.lock:
            self.calls.append((on, command))
        return Results([self.answer(name, command) for name in names])

    def halt(self, name: str) -> FakeDashboardLab:
        self.power.append(("halt", name))
        self.states[name] = "stopped"
        return self

    def start(self, name: str) -> FakeDashboardLab:
        self.power.append(("start", name))
        self.states[name] = "running"
        return self

    @property
    def commands(self) -> list[str]:
        return [command for _, command in self.calls]

    def service_ls(self) -> str:
        """The service ls recording, with every service at its wanted replicas."""
        lines = []
        for line in (SWARM_DATA / "service-ls.jsonl").read_text().splitlines():
            obj = json.loads(line)
            n = self.replicas[obj["Name"]]
            obj["Replicas"] = f"{n}/{n}"
            lines.append(json.dumps(obj))
        return "\n".join(lines) + "\n"

    def service_ps(self, names: Sequence[str]) -> str:
        """Running tasks of the services named, from their recordings."""
        texts = (SWARM_DATA / f"service-ps-{name}.jsonl" for name in names)
        return running_only("".join(path.read_text() for path in texts))

    def snapshot(self) -> str:
        """The snapshot's answer: every recording, the tasks of every service."""
        return snapshot_output(
            (SWARM_DATA / self.node_ls).read_text(),
            (SWARM_DATA / "node-inspect.json").read_text(),
            self.service_ls(),
            self.service_ps(list(self.replicas)),
        )

    def recorded(self, node: str, command: str) -> RunResult:
        if is_snapshot(command):
            return result(node, command, stdout=self.snapshot())
        if command.startswith("docker node ls"):
            return result(node, command, stdout=(SWARM_DATA / self.node_ls).read_text())
        if command.startswith("docker node inspect"):
            text = (SWARM_DATA / "node-inspect.json").read_text()
            return result(node, command, stdout=text)
        if command.startswith("docker service ls"):
            return result(node, command, stdout=self.service_ls())
        if command.startswith("docker service ps"):
            names = [w for w in command.split()[3:] if w in self.replicas]
            return result(node, command, stdout=self.service_ps(names))
        if command.startswith("docker service scale"):
            service, _, count = command.split()[-1].partition("=")
            self.replicas[service] = int(count)
            return result(node, command, stdout=f"{service} scaled to {count}\n")
        if command.startswith(("docker node update", "docker node promote")):
            return result(node, command, stdout=command.split()[-1] + "\n")
        if command.startswith("for a in"):
            return result(node, command, stdout=self.curl_output(command))
        if command.startswith("docker ps"):
            hosts = {"node-1": "c0ffee000001\n", "node-2": "c0ffee000002\n", "node-3": ""}
            return result(node, command, stdout=hosts[node])
        return result(node, command, rc=1, stderr=f"unexpected command {command}\n")

    @classmethod
    def curl_output(cls, command: str) -> str:
        addresses = command.split(";")[0].split()[3:]
        answer = {
            f"{cls.SUBNET}.11": "c0ffee000001",
            f"{cls.SUBNET}.12": "c0ffee000002",
            f"{cls.SUBNET}.13": "!",
        }
        return "".join(f"{a} {answer[a]}\n" for a in addresses)


@dataclass(frozen=True)
class FakePlannedNode:
    """A lab node as the topology drawing needs it."""

    name: str
    role: str
    address: str
    state: str = "running"


@dataclass(frozen=True)
class FakePlannedLab:
    """A lab as the topology drawing needs it: its nodes."""

    nodes: tuple[FakePlannedNode, ...]


# --- SSH: recorded host keys, a node that stops answering, a checked connection -------
# Besides the module's first imports, the imports below are used only here.
import select as _select  # noqa: E402


def record_host_keys(known_hosts: Path, *entries: tuple[str, _paramiko.PKey]) -> str:
    """Append ``name key`` lines to a known_hosts file (made if missing); return its path."""
    with known_hosts.open("a", encoding="utf-8") as out:
        for name, key in entries:
            out.write(f"{name} {key.get_name()} {key.get_base64()}\n")
    return str(known_hosts)


def trusted_node(
    port: int, key_file: str | None, folder: Path, *, alias: str | None = None
) -> Node:
    """A loopback node whose host key (the session's RSA key) is recorded in folder/known_hosts.

    With ``alias`` the key is recorded under that name, else under ``[127.0.0.1]:port``.
    """
    name = alias or f"[127.0.0.1]:{port}"
    known_hosts = record_host_keys(folder / "known_hosts", (name, rsa_key()))
    node = loopback_node(port, key_file)
    ssh = replace(node.ssh, known_hosts=known_hosts, host_key_alias=alias)
    return replace(node, ssh=ssh)


class FreezingProxy:
    """A TCP relay to a local port that can stop relaying: a node that froze.

    Frozen, it keeps every connection open and passes nothing either way, as a
    machine whose sshd was stopped (SIGSTOP) does.

    Attributes:
        port: Where it listens.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.frozen = _threading.Event()
        self._sock = _socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        _threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.frozen.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = _socket.create_connection(("127.0.0.1", self.target_port))
            _threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, a: _socket.socket, b: _socket.socket) -> None:
        peers = {a: b, b: a}
        while not self.frozen.is_set():
            ready, _, _ = _select.select(list(peers), [], [], 0.05)
            for sock in ready:
                if self.frozen.is_set():
                    break
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)

    def __enter__(self) -> FreezingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


class CheckedFakeConnection(FakeConnection):
    """A :class:`FakeConnection` that takes host-key settings and opens SFTP sessions.

    ``exited``/``stdout``/``stderr`` are what every command gives; ``stdins`` keeps
    what each command was sent on its stdin.
    """

    def __init__(
        self, *, exited: int = 0, stdout: str = "", stderr: str = "", **behaviour: Any
    ) -> None:
        super().__init__(**behaviour)
        self.answer = _Namespace(exited=exited, stdout=stdout, stderr=stderr)
        self.stdins: list[str | None] = []
        self.policy: object = None
        self.host_keys = _paramiko.HostKeys()
        self.sftp_timeout: float | None = None

    def set_missing_host_key_policy(self, policy: object) -> None:
        self.policy = policy

    def get_host_keys(self) -> _paramiko.HostKeys:
        return self.host_keys

    def get_transport(self) -> object:
        active = self.answered
        return _Namespace(
            is_active=lambda: active,
            is_authenticated=lambda: False,
            host_key=rsa_key() if active else None,
            set_keepalive=lambda interval: None,
        )

    def run(self, command: str, **kwargs: Any) -> object:
        self.commands.append(command)
        stream = kwargs.get("in_stream")
        self.stdins.append(stream.read() if stream else None)
        return self.answer

    def sftp(self) -> object:
        def settimeout(seconds: float) -> None:
            self.sftp_timeout = seconds

        return _Namespace(get_channel=lambda: _Namespace(settimeout=settimeout))


# --- recovery: a two-node lab (the recordings of lab "wsrec") and its swarm record ------
#: The nodes of the lab the recovery recordings come from (tests/data/steps/README.md).
WSREC_NODES = (
    Node("node-1", "manager", "192.168.66.11", SSHEndpoint("127.0.0.1", 2204)),
    Node("node-2", "worker", "192.168.66.12", SSHEndpoint("127.0.0.1", 2208)),
)


def recorded_answer(name: str, node: str, command_start: str, index: int = 0) -> Recording:
    """The ``index``-th answer of ``node`` in steps recording ``name`` to a command
    starting with ``command_start``."""
    found = [
        a for a in recording(name) if a["node"] == node and a["command"].startswith(command_start)
    ]
    return found[index]


class StepsRecordedReader(RecordedReader):
    """A :class:`RecordedReader` whose swarm record is a ``docker node inspect`` answer
    kept in a steps recording (``tests/data/steps``)."""

    def __init__(self, lab: RemoteLab, node_inspect: str, **kwargs: Any) -> None:
        super().__init__(lab, **kwargs)
        self.node_inspect = node_inspect

    def nodes(self) -> list[SwarmNode]:
        self.reads.append("nodes")
        return parse_node_inspect(self.node_inspect)
