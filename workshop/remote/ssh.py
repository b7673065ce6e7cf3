"""Run commands on lab nodes over SSH (Fabric), in parallel, one result per node.

A :class:`Remote` keeps one Fabric connection per node and reuses it. Nothing waits
without a bound: the connection (:mod:`connection`), a channel on it, the command
(``timeout``), a file's transfer; a node that stops answering is reported in seconds
as a failed :class:`RunResult` saying so; the other nodes' results are kept. Callers
decide whether a failure is an error (``Results.raise_for_failures``).

Interrupted (Ctrl-C), a run returns at once and stops the commands it started on the
nodes (:mod:`interrupt`). Host keys are checked (:mod:`host_keys`); files are written
as :mod:`upload` says.
"""

from __future__ import annotations

import functools
import io
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from typing import NamedTuple

from fabric import Connection
from invoke.exceptions import CommandTimedOut, ThreadException, UnexpectedExit

from workshop.errors import NodeUnreachable, NotConverged
from workshop.lab.node import Node
from workshop.lab.results import Results, RunResult
from workshop.progress import poll_until
from workshop.remote.connection import (
    CONNECT_TIMEOUT,
    CONNECTION_ERRORS,
    ConnectionFactory,
    Watchdog,
    connect,
    new_connection,
    open_connection,
    reason,
    result_error,
    went_silent,
)
from workshop.remote.interrupt import marked_line, new_mark, stop_commands
from workshop.remote.upload import TRANSFER_TIMEOUT, install_script, put_file, root_upload_failure

__all__ = ["COMMAND_TIMEOUT", "CONNECT_TIMEOUT", "Remote", "connect", "sudo_wrap"]

#: Default seconds a command may run before it is reported as timed out.
COMMAND_TIMEOUT = 120.0
#: Seconds between wake-ups of a thread waiting for commands (so Ctrl-C gets through).
_WAKE_UP = 0.25
#: Seconds a command without an exit status waits for its connection to end.
_LOST_GRACE = 2.0

# What a command's run raises when its connection breaks under it.
_LOST_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, ThreadException)


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
                conn = new_connection(node, self.connect_timeout, self._make_connection)
                self._connections[node.name] = conn
            if not conn.is_connected:
                try:
                    open_connection(node, conn)
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

    def _interrupted(self, nodes: Sequence[Node], mark: str, sudo: bool) -> None:
        """End a run: stop its commands on the nodes (bounded), close its connections."""
        with self._guard:
            open_now = {
                n.name: self._connections[n.name] for n in nodes if n.name in self._connections
            }
        try:
            stop_commands(
                nodes, mark, sudo=sudo, connection=self._make_connection, open_now=open_now
            )
        finally:
            self._drop(nodes)

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
        ``unreachable`` is set when the command never ran. Interrupted (Ctrl-C), it
        stops the command on the node and re-raises.
        """
        mark = new_mark()
        try:
            return self._run_marked(node, command, mark, sudo=sudo, timeout=timeout, stdin=stdin)
        except KeyboardInterrupt:
            self._interrupted([node], mark, sudo)
            raise

    def _run_marked(
        self, node: Node, command: str, mark: str, *, sudo: bool, timeout: float, stdin: str | None
    ) -> RunResult:
        """Run ``command`` carrying ``mark`` (see :mod:`interrupt`); one result."""
        line = marked_line(command, mark, sudo=sudo, user=node.ssh.user)
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
        """Run a shell line; a connection found dead before it ran is reopened once."""
        lost = ""
        for attempt in (1, 2):
            try:
                conn = self._connection(node, fresh=attempt == 2)
            except NodeUnreachable as exc:
                return _Answer(None, "", "", result_error(exc), unreachable=True)
            # The command's own timeout ends it; this ends what paramiko waits for
            # without a bound (a command's start on a node that stopped answering).
            watch = Watchdog(conn, timeout + 2 * self.connect_timeout)
            try:
                with watch:
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
                if watch.fired or went_silent(conn, exc):
                    self._drop([node])
                    silence = watch.seconds if watch.fired else self.connect_timeout
                    return _Answer(None, "", "", _stopped(node, silence), not watch.fired)
                lost = f"connection lost (ssh {node.ssh}): {reason(exc)}"
                if self._dropped(node, conn):
                    return _Answer(None, "", "", lost)  # closed under it: not again
                continue  # a cached connection to a node that rebooted: reconnect once
            if watch.fired:
                return _Answer(None, result.stdout, result.stderr, _stopped(node, watch.seconds))
            if result.exited == -1:
                return _Answer(None, result.stdout, result.stderr, _no_exit_status(node, conn))
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

        Interrupted (Ctrl-C), it closes those nodes' connections, stops the commands
        it started there (within :data:`~workshop.remote.interrupt.STOP_WITHIN`
        seconds), and re-raises.
        """
        if not nodes:
            return Results()
        mark = new_mark()
        futures = [
            _in_thread(
                node.name,
                functools.partial(
                    self._run_marked, node, command, mark, sudo=sudo, timeout=timeout, stdin=stdin
                ),
            )
            for node in nodes
        ]
        try:
            # Wait in slices: Ctrl-C may land on another thread, and reaches this one
            # only when it wakes up.
            while wait(futures, timeout=_WAKE_UP).not_done:
                pass
        except KeyboardInterrupt:
            self._interrupted(nodes, mark, sudo)
            raise
        return Results(f.result() for f in futures)

    def put_text(
        self, node: Node, text: str, path: str, *, sudo: bool = False, mode: str = "0644"
    ) -> None:
        """Write `text` to `path` on a node, in one piece (see :mod:`upload`).

        As root (``sudo``) the text goes through the command's stdin into a temporary
        file next to `path`, renamed over it: nothing is left behind on a failure.

        Raises:
            NodeUnreachable: No SSH session (:class:`SSHAuthFailed`: the login was refused).
            UploadFailed: The node did not take the file: full disk, no such folder, no
                permission, or the connection was lost.
        """
        if not sudo:
            put_file(self._connection(node), node, text, path, TRANSFER_TIMEOUT)
            return
        script = install_script(path, mode)
        result = self.run_one(node, script, sudo=True, stdin=text, timeout=TRANSFER_TIMEOUT)
        if result.unreachable:
            result.raise_for_failure()
        if result.failed:
            raise root_upload_failure(node, path, result)


def _in_thread(name: str, work: Callable[[], RunResult]) -> Future[RunResult]:
    """Run ``work()`` in a daemon thread (one stuck on a node never holds the exit up)."""
    future: Future[RunResult] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits
            future.set_exception(exc)

    threading.Thread(target=run, name=f"workshop-ssh-{name}", daemon=True).start()
    return future


def _stopped(node: Node, seconds: float) -> str:
    return (
        f"connection lost: {node.name} stopped answering (nothing in {seconds:g} s "
        f"on ssh {node.ssh}); the connection was closed"
    )


def _no_exit_status(node: Node, conn: Connection) -> str:
    """Why a command ended without an exit status: its connection ended, or a signal."""
    try:
        poll_until(
            lambda: conn.is_connected,
            lambda up: not up,
            timeout=_LOST_GRACE,
            interval=0.1,
            what="the connection's end",
        )
    except NotConverged:
        return (
            f"the command ended without an exit status (ssh {node.ssh}): it was killed "
            "by a signal, or the node is shutting down"
        )
    return (
        f"connection lost while the command ran (ssh {node.ssh}): the node closed it "
        "(it stopped or restarted); the command may not have finished"
    )
