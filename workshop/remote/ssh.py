"""Run commands on lab nodes over SSH (Fabric), in parallel, one result per node.

A :class:`Remote` keeps one Fabric connection per node and reuses it. Every call has
a connect timeout and a command timeout, so a stopped or unreachable node is
reported in seconds as a failed :class:`RunResult`; the other nodes' results are
kept. Callers decide whether a failure is an error (``Results.raise_for_failures``).

What paramiko and Fabric raise is turned into the kit's errors here, by what went
wrong: no answer (:class:`NodeUnreachable`), a refused login (:class:`SSHAuthFailed`),
a host key not accepted (:class:`HostKeyRejected`), a connection lost while a
command ran, or a file the node would not take (:class:`UploadFailed`).
"""

from __future__ import annotations

import errno
import io
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import PurePosixPath
from typing import NamedTuple

import paramiko
from fabric import Connection
from invoke.exceptions import CommandTimedOut, ThreadException, UnexpectedExit

from workshop.errors import (
    HostKeyRejected,
    NodeUnreachable,
    SSHAuthFailed,
    UploadFailed,
)
from workshop.lab.node import Node
from workshop.lab.results import Results, RunResult

__all__ = ["COMMAND_TIMEOUT", "CONNECT_TIMEOUT", "Remote", "connect", "sudo_wrap"]

#: Seconds to wait for a node's SSH handshake.
CONNECT_TIMEOUT = 5.0
#: Default seconds a command may run before it is reported as timed out.
COMMAND_TIMEOUT = 120.0
#: Seconds between wake-ups of a thread waiting for commands (so Ctrl-C gets through).
_WAKE_UP = 0.25

# Errors that mean "the connection is gone (or never came)" rather than "the command
# failed". Socket errors, timeouts and paramiko's NoValidConnectionsError are OSErrors.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, paramiko.SSHException)
# What a command's run raises when its connection breaks under it.
_LOST_ERRORS: tuple[type[BaseException], ...] = (*_CONNECTION_ERRORS, ThreadException)
# What an SFTP upload raises: those, and ValueError for a path that is a folder.
_UPLOAD_ERRORS: tuple[type[BaseException], ...] = (*_LOST_ERRORS, ValueError)

#: Makes a Fabric connection: ``Connection`` itself, or a stand-in in tests.
ConnectionFactory = Callable[..., Connection]


def sudo_wrap(command: str, user: str | None) -> str:
    """Run a shell command line as root: through ``sudo -n`` unless already root."""
    if user == "root":
        return command
    return shlex.join(["sudo", "-n", "--", "sh", "-c", command])


class _Answer(NamedTuple):
    """What one run of a shell line gave, before it becomes a :class:`RunResult`."""

    rc: int | None
    stdout: str
    stderr: str
    error: str | None = None
    unreachable: bool = False


class Remote:
    """SSH connections to a set of nodes, and parallel command runs over them."""

    def __init__(
        self,
        connect_timeout: float = CONNECT_TIMEOUT,
        *,
        connection: ConnectionFactory = Connection,
    ) -> None:
        self.connect_timeout = connect_timeout
        self._make_connection = connection
        self._connections: dict[str, Connection] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, node: Node) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(node.name, threading.Lock())

    def _connection(self, node: Node, fresh: bool = False) -> Connection:
        """The node's open connection (reused, or opened now).

        Raises:
            NodeUnreachable: It could not be opened; a subclass says why when the node
                answered (:class:`SSHAuthFailed`, :class:`HostKeyRejected`).
        """
        with self._lock(node):
            conn = self._connections.get(node.name)
            same = conn is not None and (conn.host, conn.port) == (node.ssh.host, node.ssh.port)
            if conn is not None and (fresh or not same or not conn.is_connected):
                conn.close()
                conn = None
            if conn is None:
                conn = _new_connection(node, self.connect_timeout, self._make_connection)
                self._connections[node.name] = conn
            if not conn.is_connected:
                try:
                    _open(node, conn)
                except NodeUnreachable:
                    self._connections.pop(node.name, None)
                    raise
            return conn

    def close(self) -> None:
        """Close every connection (they reopen on the next call)."""
        self._drop(None)

    def _drop(self, nodes: Sequence[Node] | None) -> None:
        """Close the connections of ``nodes`` (all when None): commands on them end."""
        with self._guard:
            names = list(self._connections) if nodes is None else [n.name for n in nodes]
            connections = [self._connections.pop(n) for n in names if n in self._connections]
        for conn in connections:
            conn.close()

    def _dropped(self, node: Node, conn: Connection) -> bool:
        """Whether ``conn`` was closed on purpose (``close``, or a run interrupted)."""
        with self._guard:
            return self._connections.get(node.name) is not conn

    def run_one(
        self,
        node: Node,
        command: str,
        *,
        sudo: bool = False,
        timeout: float = COMMAND_TIMEOUT,
        stdin: str | None = None,
    ) -> RunResult:
        """Run one shell command line on one node; never raises for remote failures.

        A failure is in the result: ``error`` says what happened and what to do, and
        ``unreachable`` is set when the command never ran.
        """
        line = sudo_wrap(command, node.ssh.user) if sudo else command
        started = time.time()
        answer = self._run_line(node, line, timeout, stdin)
        finished = time.time()
        return RunResult(
            node=node.name,
            command=command,
            rc=answer.rc,
            stdout=answer.stdout,
            stderr=answer.stderr,
            duration=finished - started,
            started=started,
            finished=finished,
            error=answer.error,
            unreachable=answer.unreachable,
            address=node.address,
        )

    def _run_line(self, node: Node, line: str, timeout: float, stdin: str | None) -> _Answer:
        """Run a shell line; a connection lost before it ran is reopened once."""
        lost = ""
        for attempt in (1, 2):
            try:
                conn = self._connection(node, fresh=attempt == 2)
            except NodeUnreachable as exc:
                return _Answer(None, "", "", _result_error(exc), unreachable=True)
            try:
                result = conn.run(
                    line,
                    hide=True,
                    warn=True,
                    timeout=timeout,
                    in_stream=io.StringIO(stdin) if stdin is not None else False,
                )
            except CommandTimedOut as exc:
                timed_out = f"timed out after {timeout:g} s"
                return _Answer(None, exc.result.stdout, exc.result.stderr, timed_out)
            except UnexpectedExit as exc:  # not raised with warn=True; kept for safety
                return _Answer(exc.result.exited, exc.result.stdout, exc.result.stderr)
            except _LOST_ERRORS as exc:
                lost = f"connection lost (ssh {node.ssh}): {_reason(exc)}"
                if self._dropped(node, conn):
                    return _Answer(None, "", "", lost)  # closed under it: not again
                continue  # a cached connection to a node that rebooted: reconnect once
            if result.exited == -1 and not conn.is_connected:
                # The node closed the connection before the command finished.
                lost = f"connection lost while the command ran (ssh {node.ssh})"
                return _Answer(None, result.stdout, result.stderr, lost)
            return _Answer(result.exited, result.stdout, result.stderr)
        return _Answer(None, "", "", lost, unreachable=True)

    def run(
        self,
        nodes: Sequence[Node],
        command: str,
        *,
        sudo: bool = False,
        timeout: float = COMMAND_TIMEOUT,
        stdin: str | None = None,
    ) -> Results:
        """Run one shell command line on every node at once; one result per node.

        Interrupted (Ctrl-C), it closes those nodes' connections, so that the commands
        under way end now instead of being waited for, and re-raises.
        """
        if not nodes:
            return Results()
        pool = ThreadPoolExecutor(max_workers=len(nodes), thread_name_prefix="workshop-ssh")
        try:
            futures = [
                pool.submit(self.run_one, node, command, sudo=sudo, timeout=timeout, stdin=stdin)
                for node in nodes
            ]
            # Wait in slices: Ctrl-C may land on another thread, and reaches this one
            # only when it wakes up.
            while wait(futures, timeout=_WAKE_UP).not_done:
                pass
            return Results(f.result() for f in futures)
        except BaseException:
            self._drop(nodes)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def put_text(
        self, node: Node, text: str, path: str, *, sudo: bool = False, mode: str = "0644"
    ) -> None:
        """Write `text` to `path` on a node (through a temporary file when root is needed).

        Raises:
            NodeUnreachable: No SSH session (:class:`SSHAuthFailed`: the login was refused).
            UploadFailed: The node did not take the file: full disk, no such folder, no
                permission, or the connection was lost.
            CommandFailed: Installing the file as root failed.
        """
        conn = self._connection(node)
        target = PurePosixPath(path)
        if not sudo:
            _put(conn, node, text, str(target))
            return
        tmp = f"/tmp/.workshop-upload-{target.name}-{threading.get_ident()}"
        try:
            _put(conn, node, text, tmp)
        except UploadFailed:
            self.run_one(node, shlex.join(["rm", "-f", tmp]), timeout=30)  # best effort
            raise
        install = shlex.join(["install", "-D", "-m", mode, tmp, str(target)])
        # The temporary file goes whether the install worked or not.
        line = f"{install}; status=$?; rm -f {shlex.quote(tmp)}; exit $status"
        self.run_one(node, line, sudo=True).raise_for_failure()


def connect(
    node: Node, *, timeout: float = CONNECT_TIMEOUT, connection: ConnectionFactory = Connection
) -> Connection:
    """A new open connection to a node, not shared (for a long stream of its own).

    Raises:
        NodeUnreachable: It could not be opened; a subclass says why when the node
            answered (:class:`SSHAuthFailed`, :class:`HostKeyRejected`).
    """
    conn = _new_connection(node, timeout, connection)
    _open(node, conn)
    return conn


def _new_connection(node: Node, timeout: float, connection: ConnectionFactory) -> Connection:
    keys = list(node.ssh.identity_files)
    return connection(
        host=node.ssh.host,
        user=node.ssh.user,
        port=node.ssh.port,
        connect_timeout=timeout,
        connect_kwargs={
            "key_filename": keys or None,
            "look_for_keys": not keys,
            "allow_agent": not keys,
            "banner_timeout": timeout,
            "auth_timeout": timeout,
        },
    )


def _open(node: Node, conn: Connection) -> None:
    """Open ``conn``; what goes wrong becomes the kit's error (and the connection closes)."""
    try:
        conn.open()
    except _CONNECTION_ERRORS as exc:
        failure = _connect_failure(node, conn, exc)
        conn.close()
        raise failure from exc


def _put(conn: Connection, node: Node, text: str, path: str) -> None:
    """SFTP `text` to `path`; what the node refuses becomes :class:`UploadFailed`."""
    try:
        conn.put(io.BytesIO(text.encode()), remote=path)
    except _UPLOAD_ERRORS as exc:
        raise UploadFailed(
            node.name, path, _reason(exc), hint=_upload_hint(node, path, exc)
        ) from exc


def _upload_hint(node: Node, path: str, exc: BaseException) -> str:
    """What to do about a file the node did not take, by what went wrong."""
    folder = PurePosixPath(path).parent
    code = exc.errno if isinstance(exc, OSError) else None
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"The node's disk is full: free space on {node.name} (`df -h {folder}`)."
    if code == errno.ENOENT:
        return f"The folder {folder} does not exist on {node.name}: create it first."
    if code == errno.EACCES:
        return f"{node.ssh.user or 'This user'} may not write there: write it as root (sudo)."
    if isinstance(exc, ValueError):
        return f"{path} is a folder on {node.name}: give the path of a file."
    if isinstance(exc, OSError) and code is None:
        # SFTP version 3 has no "disk full" code: the server says "Failure", or the
        # size check after the upload finds the file short.
        return f"A full disk is the usual cause: check `df -h {folder}` on {node.name}."
    return f"The connection was lost: check that {node.name} answers (`workshop status`)."


def _connect_failure(node: Node, conn: Connection, exc: BaseException) -> NodeUnreachable:
    """The kit's error for a connection that could not be opened, by what went wrong."""
    where = f"ssh {node.ssh}"
    if isinstance(exc, paramiko.BadHostKeyException) or _about_host_keys(exc):
        return HostKeyRejected(node.name, node.address, f"{where}: {_reason(exc)}")
    if isinstance(exc, paramiko.AuthenticationException) or _awaiting_login(conn):
        reason = f"{where} {_keys(node)}: {_login_refusal(node, exc)}"
        return SSHAuthFailed(node.name, node.address, reason)
    return NodeUnreachable(node.name, node.address, f"no SSH answer ({where}): {_reason(exc)}")


def _awaiting_login(conn: Connection) -> bool:
    """Whether the node answered SSH (handshake done) but no login succeeded."""
    transport = conn.client.get_transport()
    return bool(transport and transport.is_active() and not transport.is_authenticated())


def _login_refusal(node: Node, exc: BaseException) -> str:
    """Why a login failed: a key file that cannot be used, else what the node said.

    paramiko tries every key type on a key file and re-raises the last failure, so a
    refused RSA key ends as "expected OPENSSH key": loading the files tells them apart.
    """
    for path in node.ssh.identity_files:
        try:
            paramiko.PKey.from_path(path)
        except Exception as problem:  # missing, unreadable, not a key, needs a passphrase
            return f"the key file {path} cannot be used ({_reason(problem)})"
    if isinstance(exc, paramiko.AuthenticationException) or not node.ssh.identity_files:
        return _reason(exc)
    return "the node did not accept the key"


def _about_host_keys(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, paramiko.SSHException) and ("host key" in text or "hostkey" in text)


def _keys(node: Node) -> str:
    if node.ssh.identity_files:
        return "with key " + ", ".join(node.ssh.identity_files)
    return "with the SSH agent's keys and ~/.ssh/id_*"


def _result_error(exc: NodeUnreachable) -> str:
    """A connect failure as a result's ``error``: the reason, and the advice if specific."""
    if type(exc) is NodeUnreachable:
        return exc.reason
    return f"{exc.what}: {exc.reason.rstrip('.')}. {exc.advice}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ThreadException) and exc.exceptions:
        return _reason(exc.exceptions[0].value)
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
