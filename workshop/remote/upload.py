"""Files written on a node: over SFTP as the login user, or through stdin as root.

A file written as root never passes through a shared folder: the text goes on the
command's stdin into a fresh temporary file (``mktemp``) in the target's own folder,
which then replaces the target in one rename, so a reader sees the old file or the
new one, never half of it. The temporary file is removed when anything fails.
"""

from __future__ import annotations

import errno
import io
import re
import shlex
from pathlib import PurePosixPath

from fabric import Connection
from invoke.exceptions import ThreadException

from workshop.errors import UploadFailed, UsageError
from workshop.lab.node import Node
from workshop.lab.results import RunResult
from workshop.remote.connection import CONNECTION_ERRORS, Watchdog, reason, went_silent

__all__ = ["TRANSFER_TIMEOUT", "install_script", "put_file", "root_upload_failure"]

#: Seconds a file may take to reach a node.
TRANSFER_TIMEOUT = 60.0

# What an SFTP upload raises: a lost connection, and ValueError for a path that is a folder.
_UPLOAD_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, ThreadException, ValueError)
_MODE = re.compile(r"[0-7]{3,4}")


def install_script(path: str, mode: str) -> str:
    """The shell line that writes its stdin to ``path`` with ``mode``, all or nothing.

    Raises:
        UsageError: ``mode`` is not an octal mode such as ``0644``.
    """
    if not _MODE.fullmatch(mode):
        raise UsageError(f"file mode {mode!r} is not valid; give an octal mode such as 0644")
    target = PurePosixPath(path)
    template = shlex.quote(f"{target.parent}/.{target.name}.workshop-XXXXXX")
    return "; ".join(
        [
            "set -e",
            f"mkdir -p -- {shlex.quote(str(target.parent))}",
            f"tmp=$(mktemp -- {template})",
            "trap 'rm -f -- \"$tmp\"' EXIT",
            "trap 'exit 143' HUP INT TERM",
            'cat > "$tmp"',
            f'chmod {mode} "$tmp"',
            f'mv -fT -- "$tmp" {shlex.quote(str(target))}',
            "trap - EXIT",
        ]
    )


def root_upload_failure(node: Node, path: str, result: RunResult) -> UploadFailed:
    """The kit's error for a file that could not be written as root."""
    said = result.stderr.strip().splitlines()
    why = result.error or (said[-1] if said else f"exit code {result.rc}")
    folder = PurePosixPath(path).parent
    if "password is required" in result.stderr:
        hint = f"{node.ssh.user or 'This user'} needs sudo without a password on {node.name}."
    elif "No space left" in result.stderr:
        hint = f"The node's disk is full: free space on {node.name} (`df -h {folder}`)."
    else:
        hint = f"Nothing was changed: {path} on {node.name} is as it was."
    return UploadFailed(node.name, path, why, hint=hint)


def put_file(conn: Connection, node: Node, text: str, path: str, timeout: float) -> None:
    """SFTP ``text`` to ``path``, within ``timeout`` seconds; a refusal is :class:`UploadFailed`."""
    watch = Watchdog(conn, timeout)
    try:
        with watch:
            conn.sftp().get_channel().settimeout(timeout)
            conn.put(io.BytesIO(text.encode()), remote=path)
    except _UPLOAD_ERRORS as exc:
        if watch.fired or isinstance(exc, TimeoutError) or went_silent(conn, exc):
            conn.close()  # its SFTP session is stuck: the next upload opens a new one
            stopped = f"the node stopped answering (nothing in {timeout:g} s; ssh {node.ssh})"
            hint = f"Check that {node.name} answers (`workshop status`)."
            raise UploadFailed(node.name, path, stopped, hint=hint) from exc
        hint = _upload_hint(node, path, exc)
        raise UploadFailed(node.name, path, reason(exc), hint=hint) from exc


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
