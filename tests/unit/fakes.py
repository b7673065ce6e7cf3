"""Fakes shared by unit tests that stand in for what the lab answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workshop.lab import InventorySource, Node
from workshop.lab.results import RunResult


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


# --- SSH edges: a real SSH server on loopback, and a connection that raises -----------

import errno as _errno  # noqa: E402
import functools as _functools  # noqa: E402
import logging as _logging  # noqa: E402
import socket as _socket  # noqa: E402
import threading as _threading  # noqa: E402
from types import SimpleNamespace as _Namespace  # noqa: E402

import paramiko as _paramiko  # noqa: E402

from workshop.lab import SSHEndpoint as _SSHEndpoint  # noqa: E402


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
