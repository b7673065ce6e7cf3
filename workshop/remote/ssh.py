"""Run commands on lab nodes over SSH (Fabric), in parallel, one result per node.

A :class:`Remote` keeps one Fabric connection per node and reuses it. Every call has
a connect timeout and a command timeout, so a stopped or unreachable node is
reported in seconds as a failed :class:`RunResult`; the other nodes' results are
kept. Callers decide whether a failure is an error (``Results.raise_for_failures``).
"""

from __future__ import annotations

import io
import shlex
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

import paramiko
from fabric import Connection
from invoke.exceptions import CommandTimedOut, UnexpectedExit

from workshop.errors import NodeUnreachable
from workshop.lab.node import Node
from workshop.lab.results import Results, RunResult

__all__ = ["COMMAND_TIMEOUT", "CONNECT_TIMEOUT", "Remote", "sudo_wrap"]

#: Seconds to wait for a node's SSH handshake.
CONNECT_TIMEOUT = 5.0
#: Default seconds a command may run before it is reported as timed out.
COMMAND_TIMEOUT = 120.0

# Errors that mean "the connection is gone" rather than "the command failed".
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    socket.timeout,
    paramiko.SSHException,
)


def sudo_wrap(command: str, user: str | None) -> str:
    """Run a shell command line as root: through ``sudo -n`` unless already root."""
    if user == "root":
        return command
    return shlex.join(["sudo", "-n", "--", "sh", "-c", command])


class Remote:
    """SSH connections to a set of nodes, and parallel command runs over them."""

    def __init__(self, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.connect_timeout = connect_timeout
        self._connections: dict[str, Connection] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, node: Node) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(node.name, threading.Lock())

    def _connection(self, node: Node, fresh: bool = False) -> Connection:
        with self._lock(node):
            conn = self._connections.get(node.name)
            same = conn is not None and (conn.host, conn.port) == (node.ssh.host, node.ssh.port)
            if conn is not None and (fresh or not same or not conn.is_connected):
                conn.close()
                conn = None
            if conn is None:
                conn = Connection(
                    host=node.ssh.host,
                    user=node.ssh.user,
                    port=node.ssh.port,
                    connect_timeout=self.connect_timeout,
                    connect_kwargs={
                        "key_filename": list(node.ssh.identity_files) or None,
                        "look_for_keys": not node.ssh.identity_files,
                        "allow_agent": not node.ssh.identity_files,
                        "banner_timeout": self.connect_timeout,
                        "auth_timeout": self.connect_timeout,
                    },
                )
                self._connections[node.name] = conn
            if not conn.is_connected:
                try:
                    conn.open()
                except Exception:
                    conn.close()
                    self._connections.pop(node.name, None)
                    raise
            return conn

    def close(self) -> None:
        """Close every connection (they reopen on the next call)."""
        with self._guard:
            connections = list(self._connections.values())
            self._connections.clear()
        for conn in connections:
            conn.close()

    def run_one(
        self,
        node: Node,
        command: str,
        *,
        sudo: bool = False,
        timeout: float = COMMAND_TIMEOUT,
        stdin: str | None = None,
    ) -> RunResult:
        """Run one shell command line on one node; never raises for remote failures."""
        line = sudo_wrap(command, node.ssh.user) if sudo else command
        started = time.time()
        rc: int | None = None
        stdout = stderr = ""
        error: str | None = None
        unreachable = False
        for attempt in (1, 2):
            try:
                conn = self._connection(node, fresh=attempt == 2)
            except (*_CONNECTION_ERRORS, paramiko.ssh_exception.NoValidConnectionsError) as exc:
                error = f"no SSH answer (ssh {node.ssh}): {_reason(exc)}"
                unreachable = True
                break
            try:
                result = conn.run(
                    line,
                    hide=True,
                    warn=True,
                    timeout=timeout,
                    in_stream=io.StringIO(stdin) if stdin is not None else False,
                )
            except CommandTimedOut as exc:
                stdout, stderr = exc.result.stdout, exc.result.stderr
                error = f"timed out after {timeout:g} s"
                break
            except UnexpectedExit as exc:  # not raised with warn=True; kept for safety
                rc, stdout, stderr = exc.result.exited, exc.result.stdout, exc.result.stderr
                break
            except _CONNECTION_ERRORS as exc:
                # A cached connection to a node that rebooted: reconnect once.
                error = f"connection lost (ssh {node.ssh}): {_reason(exc)}"
                unreachable = True
                continue
            rc, stdout, stderr = result.exited, result.stdout, result.stderr
            error, unreachable = None, False
            break
        finished = time.time()
        return RunResult(
            node=node.name,
            command=command,
            rc=rc,
            stdout=stdout,
            stderr=stderr,
            duration=finished - started,
            started=started,
            finished=finished,
            error=error,
            unreachable=unreachable,
            address=node.address,
        )

    def run(
        self,
        nodes: Sequence[Node],
        command: str,
        *,
        sudo: bool = False,
        timeout: float = COMMAND_TIMEOUT,
        stdin: str | None = None,
    ) -> Results:
        """Run one shell command line on every node at once; one result per node."""
        if not nodes:
            return Results()
        with ThreadPoolExecutor(max_workers=len(nodes), thread_name_prefix="workshop-ssh") as pool:
            futures = [
                pool.submit(self.run_one, node, command, sudo=sudo, timeout=timeout, stdin=stdin)
                for node in nodes
            ]
            return Results(f.result() for f in futures)

    def put_text(
        self, node: Node, text: str, path: str, *, sudo: bool = False, mode: str = "0644"
    ) -> None:
        """Write `text` to `path` on a node (through a temporary file when root is needed)."""
        try:
            conn = self._connection(node)
        except (*_CONNECTION_ERRORS, paramiko.ssh_exception.NoValidConnectionsError) as exc:
            raise NodeUnreachable(node.name, node.address, _reason(exc)) from exc
        target = PurePosixPath(path)
        if not sudo:
            conn.put(io.BytesIO(text.encode()), remote=str(target))
            return
        tmp = f"/tmp/.workshop-upload-{target.name}-{threading.get_ident()}"
        conn.put(io.BytesIO(text.encode()), remote=tmp)
        install = shlex.join(["install", "-D", "-m", mode, tmp, str(target)])
        self.run_one(node, f"{install} && rm -f {shlex.quote(tmp)}", sudo=True).raise_for_failure()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
