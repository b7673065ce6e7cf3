"""One SSH connection to a node: opened with bounds, its host key checked, failures named.

Every wait on a connection is bounded: the TCP connect, the SSH banner and the login
(``CONNECT_TIMEOUT``), opening a channel (the same, instead of paramiko's hour), and
keepalives go out while it is idle. What paramiko does not bound (a request on a
channel that the node never answers) is bounded by a :class:`Watchdog`, which closes
the connection when a deadline passes.

What paramiko and Fabric raise when a connection cannot be opened becomes the kit's
error here, by what went wrong: no answer (:class:`NodeUnreachable`), a refused login
(:class:`SSHAuthFailed`), a host key not accepted (:class:`HostKeyRejected`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

import paramiko
from fabric import Connection
from invoke.exceptions import ThreadException

from workshop.errors import HostKeyRejected, NodeUnreachable, SSHAuthFailed
from workshop.lab.node import Node
from workshop.remote.host_keys import changed_host_key, verify_host_keys

__all__ = [
    "CONNECTION_ERRORS",
    "CONNECT_TIMEOUT",
    "KEEPALIVE",
    "ConnectionFactory",
    "Watchdog",
    "connect",
    "new_connection",
    "open_connection",
    "reason",
    "result_error",
    "went_silent",
]

#: Seconds to wait for a node's SSH handshake, and for a channel on an open connection.
CONNECT_TIMEOUT = 5.0
#: Seconds of silence on a connection after which a keepalive goes out.
KEEPALIVE = 10

# Errors that mean "the connection is gone (or never came)" rather than "the command
# failed". Socket errors, timeouts and paramiko's NoValidConnectionsError are OSErrors.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, paramiko.SSHException)

# paramiko's transport thread logs a handshake that failed (a node still booting: "Error
# reading SSH protocol banner") with its traceback. The kit reports that failure itself
# (NodeUnreachable, or a wait that tries again): a handler on paramiko's logger keeps
# Python's last-resort handler from printing the traceback on stderr. A program that
# configures logging still sees the records through its own handlers.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

#: Makes a Fabric connection: ``Connection`` itself, or a stand-in in tests.
ConnectionFactory = Callable[..., Connection]


def connect(
    node: Node, *, timeout: float = CONNECT_TIMEOUT, connection: ConnectionFactory = Connection
) -> Connection:
    """A new open connection to a node, not shared (for a long stream of its own).

    Raises:
        NodeUnreachable: It could not be opened; a subclass says why when the node
            answered (:class:`SSHAuthFailed`, :class:`HostKeyRejected`).
    """
    conn = new_connection(node, timeout, connection)
    open_connection(node, conn)
    return conn


def new_connection(node: Node, timeout: float, connection: ConnectionFactory) -> Connection:
    """A connection, not open yet, that logs in with the node's keys.

    It accepts only the host key recorded for the node (:mod:`host_keys`). A node
    with identity files offers only those. A node without any logs in as ``ssh``
    would: the SSH agent's keys, then ``~/.ssh/id_*`` (Fabric takes a
    ``key_filename`` only as a list of paths, so it is left out, not ``None``).
    """
    keys = list(node.ssh.identity_files)
    login: dict[str, object] = {"key_filename": keys} if keys else {}
    conn = connection(
        host=node.ssh.host,
        user=node.ssh.user,
        port=node.ssh.port,
        connect_timeout=timeout,
        connect_kwargs={
            **login,
            "look_for_keys": not keys,
            "allow_agent": not keys,
            "banner_timeout": timeout,
            "auth_timeout": timeout,
            "channel_timeout": timeout,
        },
    )
    verify_host_keys(conn.client, node)
    return conn


def open_connection(node: Node, conn: Connection) -> None:
    """Open ``conn``; what goes wrong becomes the kit's error (and the connection closes)."""
    try:
        conn.open()
    except HostKeyRejected:
        conn.close()
        raise
    except CONNECTION_ERRORS as exc:
        failure = _connect_failure(node, conn, exc)
        conn.close()
        raise failure from exc
    conn.client.get_transport().set_keepalive(KEEPALIVE)


class Watchdog:
    """Closes a connection if what runs on it is not done by a deadline.

    paramiko waits without a bound for some answers (a command's start, an SFTP
    session's start); closing the connection ends those waits with an error.
    Use as ``with Watchdog(conn, seconds) as watch:``, then look at ``watch.fired``.
    """

    def __init__(self, conn: Connection, seconds: float) -> None:
        self.conn = conn
        self.seconds = seconds
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self.conn.close()

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()


def went_silent(conn: Connection, exc: BaseException) -> bool:
    """Whether an SSH request failed because the node stopped answering.

    That is paramiko giving up on an answer (a channel that did not open in time)
    while the connection is still up. A channel the node refused is an answer
    (``ChannelException``); a dead connection is not silence (the node went away).
    """
    unanswered = isinstance(exc, paramiko.SSHException) and not isinstance(
        exc, paramiko.ChannelException
    )
    return unanswered and bool(conn.is_connected)


def _connect_failure(node: Node, conn: Connection, exc: BaseException) -> NodeUnreachable:
    """The kit's error for a connection that could not be opened, by what went wrong."""
    where = f"ssh {node.ssh}"
    if isinstance(exc, paramiko.BadHostKeyException):
        return changed_host_key(node, exc)
    if _about_host_keys(exc):
        return HostKeyRejected(node.name, node.address, f"{where}: {reason(exc)}")
    if isinstance(exc, paramiko.AuthenticationException) or _awaiting_login(conn):
        why = f"{where} {_keys(node)}: {_login_refusal(node, exc)}"
        return SSHAuthFailed(node.name, node.address, why)
    return NodeUnreachable(node.name, node.address, f"no SSH answer ({where}): {reason(exc)}")


def _awaiting_login(conn: Connection) -> bool:
    """Whether the node answered SSH (handshake done: its host key is known) but no login
    succeeded."""
    transport = conn.client.get_transport()
    if transport is None or transport.host_key is None:
        return False
    return bool(transport.is_active() and not transport.is_authenticated())


def _login_refusal(node: Node, exc: BaseException) -> str:
    """Why a login failed: a key file that cannot be used, else what the node said.

    paramiko tries every key type on a key file and re-raises the last failure, so a
    refused RSA key ends as "expected OPENSSH key": loading the files tells them apart.
    """
    for path in node.ssh.identity_files:
        try:
            paramiko.PKey.from_path(path)
        except Exception as problem:  # missing, unreadable, not a key, needs a passphrase
            return f"the key file {path} cannot be used ({reason(problem)})"
    if isinstance(exc, paramiko.AuthenticationException) or not node.ssh.identity_files:
        return reason(exc)
    return "the node did not accept the key"


def _about_host_keys(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, paramiko.SSHException) and ("host key" in text or "hostkey" in text)


def _keys(node: Node) -> str:
    if node.ssh.identity_files:
        return "with key " + ", ".join(node.ssh.identity_files)
    return "with the SSH agent's keys and ~/.ssh/id_*"


def result_error(exc: NodeUnreachable) -> str:
    """A connect failure as a result's ``error``: the reason, and the advice if specific."""
    if type(exc) is NodeUnreachable:
        return exc.reason
    return f"{exc.what}: {exc.reason.rstrip('.')}. {exc.advice}"


def reason(exc: BaseException) -> str:
    """What an exception says, in one line (the first of a thread's, for Fabric's)."""
    if isinstance(exc, ThreadException) and exc.exceptions:
        return reason(exc.exceptions[0].value)
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
