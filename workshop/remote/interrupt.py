"""Stopping the commands a run started on the nodes when the run is interrupted (Ctrl-C).

Without a terminal, sshd does not stop a command when its connection closes: it runs
on (an ``apt-get`` keeps installing). So each command carries a mark, its ``$0``:
``sh -c CMD workshop-run-<id>``. On an interrupt, a new channel on each node's
connection (a new connection if that one is gone) finds the processes with that
mark and ends their sessions (``pkill -s``), as root when the command ran as root.
This is best effort and bounded: it never holds Ctrl-C up for more than
:data:`STOP_WITHIN` seconds.
"""

from __future__ import annotations

import secrets
import shlex
import threading
import time
from collections.abc import Mapping, Sequence

from fabric import Connection

from workshop.lab.node import Node
from workshop.remote.connection import ConnectionFactory, Watchdog, connect

__all__ = ["MARK_PREFIX", "STOP_WITHIN", "marked_line", "new_mark", "stop_commands", "stop_line"]

#: How every command's mark starts.
MARK_PREFIX = "workshop-run-"
#: Seconds that stopping the commands of an interrupted run may take, in all.
STOP_WITHIN = 1.5


def new_mark() -> str:
    """A mark no other run has."""
    return MARK_PREFIX + secrets.token_hex(6)


def marked_line(command: str, mark: str, *, sudo: bool, user: str | None) -> str:
    """The line that runs ``command`` under ``sh`` with ``mark`` as its ``$0``.

    The ``exit`` after the command keeps that ``sh`` (and the mark in its arguments)
    alive while the command runs: ``sh`` would otherwise replace itself with the
    command's last program. With ``sudo`` it runs as root, through ``sudo -n`` unless
    the login user is root.
    """
    args = ["sh", "-c", f"{command}\nexit $?", mark]
    if sudo and user != "root":
        args = ["sudo", "-n", "--", *args]
    return shlex.join(args)


def stop_line(mark: str) -> str:
    """The shell line that ends every session where a process carries ``mark``.

    The pattern (``[w]orkshop-run-…``) matches the mark but not itself, so the line
    never finds its own shell.
    """
    pattern = shlex.quote(f"[{mark[0]}]{mark[1:]}")
    sessions = f'$(ps -o sid= -p "$(pgrep -d, -f {pattern})" 2>/dev/null)'
    return f'for s in {sessions}; do [ "$s" -gt 1 ] && pkill -TERM -s "$s"; done; true'


def stop_commands(
    nodes: Sequence[Node],
    mark: str,
    *,
    sudo: bool,
    connection: ConnectionFactory,
    open_now: Mapping[str, Connection] | None = None,
    within: float = STOP_WITHIN,
) -> None:
    """Stop the commands marked ``mark`` on ``nodes``, all at once, within ``within`` s.

    A node's connection in ``open_now`` (node name -> connection) carries the stop
    when it is still up (a channel more, no new handshake); else a new one does.
    """
    reuse = open_now or {}
    deadline = time.monotonic() + within
    workers = [
        threading.Thread(
            target=_stop_on,
            args=(node, mark, sudo, connection, within, reuse.get(node.name)),
            name=f"workshop-stop-{node.name}",
            daemon=True,  # one that outlives the bound must not keep the program alive
        )
        for node in nodes
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))


def _stop_on(
    node: Node,
    mark: str,
    sudo: bool,
    connection: ConnectionFactory,
    within: float,
    conn: Connection | None,
) -> None:
    """End the marked sessions on one node; any failure is ignored (best effort)."""
    line = marked_line(stop_line(mark), "workshop-stop", sudo=sudo, user=node.ssh.user)
    own = conn is None or not conn.is_connected
    try:
        if own:
            conn = connect(node, timeout=within, connection=connection)
        assert conn is not None
        with Watchdog(conn, within):
            conn.run(line, hide=True, warn=True, timeout=within, in_stream=False)
    except Exception:  # a node that cannot be reached keeps its command
        return
    finally:
        if own and conn is not None:
            conn.close()
