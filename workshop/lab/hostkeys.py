"""SSH host keys: the known_hosts files a node's key is checked against.

Every node's :class:`~workshop.lab.node.SSHEndpoint` names the file its host key
must be in (``known_hosts``; ``None`` is the user's ``~/.ssh/known_hosts``) and
the name it is recorded under: ``host_key_alias`` when set, else the host, written
``[host]:port`` for a port other than 22, as OpenSSH and paramiko write it.

A key gets into a file in one of two ways, never by a silent first connection:

- a lab the kit made records its nodes' keys itself, read through a channel that
  does not cross the network (:mod:`workshop.lab.lab_hostkeys`);
- a real host's key is shown to the user (type and SHA256 fingerprint, as
  ``ssh-keygen -l`` prints them) and added only when the user says so
  (``workshop trust``): :func:`scan_host_key`, :func:`key_status`,
  :func:`add_host_key`.

The files are OpenSSH's format (read with :class:`paramiko.HostKeys`, hashed
names included), so ``ssh``, ``ssh-keygen -R`` and ``ssh-keygen -F`` work on them.
Scanning a host's key is a handshake only: no login, nothing runs on the host.
"""

from __future__ import annotations

import base64
import binascii
import os
import socket
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import paramiko

from workshop.errors import NodeUnreachable, UsageError, WorkshopError
from workshop.lab.node import Node, SSHEndpoint

__all__ = [
    "KeyStatus",
    "add_host_key",
    "describe_key",
    "key_status",
    "known_hosts_file",
    "known_hosts_name",
    "load_known_hosts",
    "parse_public_keys",
    "recorded_key_types",
    "replace_host_keys",
    "scan_host_key",
    "user_known_hosts",
]

#: ``known``: the file has this very key for the name; ``unknown``: no key for the
#: name; ``changed``: the file has another key for the name (refused).
KeyStatus = Literal["known", "unknown", "changed"]

#: Seconds a host may take to answer the SSH handshake of :func:`scan_host_key`.
SCAN_TIMEOUT = 10.0

# The SSH algorithms that sign with an RSA host key (the key's type is ssh-rsa).
_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


def user_known_hosts() -> Path:
    """The user's own known_hosts file, ``~/.ssh/known_hosts``."""
    return Path.home() / ".ssh" / "known_hosts"


def known_hosts_file(endpoint: SSHEndpoint) -> Path:
    """The file ``endpoint``'s host key must be in."""
    return Path(endpoint.known_hosts).expanduser() if endpoint.known_hosts else user_known_hosts()


def known_hosts_name(endpoint: SSHEndpoint) -> str:
    """The name ``endpoint``'s host key is recorded under.

    The alias when there is one (OpenSSH's ``HostKeyAlias`` adds no port), else the
    host, as ``[host]:port`` when the port is not 22.
    """
    if endpoint.host_key_alias:
        return endpoint.host_key_alias
    return endpoint.host if endpoint.port == 22 else f"[{endpoint.host}]:{endpoint.port}"


def describe_key(key: paramiko.PKey) -> str:
    """A key as ``ssh-keygen -l`` prints it: ``256 SHA256:... (ED25519)``."""
    return f"{key.get_bits()} {key.fingerprint} ({key.algorithm_name})"


def parse_public_keys(text: str) -> list[paramiko.PKey]:
    """The keys of OpenSSH public key lines (``TYPE BASE64 [COMMENT]``, one a line).

    Lines that are not such a key (blank, a message, a type paramiko does not know)
    are left out.
    """
    keys = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        try:
            data = base64.b64decode(fields[1], validate=True)
            keys.append(paramiko.PKey.from_type_string(fields[0], data))
        except (binascii.Error, ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType):
            continue
    return keys


def load_known_hosts(path: Path) -> paramiko.HostKeys:
    """The keys of a known_hosts file; none when the file does not exist.

    Read line by line as OpenSSH does: comments, blank lines, marker lines
    (``@cert-authority``, ``@revoked``) and lines of key types paramiko does not
    know are passed over, where :meth:`paramiko.HostKeys.load` stops at some of them.

    Raises:
        UsageError: The file cannot be read (a folder, no permission, not text).
    """
    keys = paramiko.HostKeys()
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the known_hosts file {path}: {_reason(exc)}; fix or move it "
            "(`ssh-keygen -F HOST -f FILE` reads it as ssh does)"
        ) from exc
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "@")):
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
        except (paramiko.hostkeys.InvalidHostKey, paramiko.SSHException, ValueError):
            continue
        if entry is not None and entry.key is not None:
            for name in entry.hostnames:
                keys.add(name, entry.key.get_name(), entry.key)
    return keys


def key_status(path: Path, name: str, key: paramiko.PKey) -> KeyStatus:
    """Whether the file at ``path`` has ``key`` for ``name``, none, or another one.

    A name recorded with keys of other types only counts as ``changed``: the host
    no longer offers the key it was trusted with.
    """
    recorded = load_known_hosts(path).lookup(name)
    if not recorded:
        return "unknown"
    return "known" if recorded.get(key.get_name()) == key else "changed"


def recorded_key_types(path: Path, name: str) -> list[str]:
    """Key types the file records for ``name`` (e.g. ``["ssh-ed25519"]``)."""
    return list(load_known_hosts(path).lookup(name) or {})


def add_host_key(path: Path, name: str, key: paramiko.PKey) -> None:
    """Append ``name KEY`` to the known_hosts file at ``path`` (made if missing).

    Other lines are kept as they are (comments, hashed names, markers). A new
    ``~/.ssh``-like folder gets mode 0700, a new file 0600.

    Raises:
        UsageError: The file cannot be written.
    """
    line = paramiko.hostkeys.HostKeyEntry([name], key).to_line()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        separator = "\n" if old and not old.endswith("\n") else ""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as file:
            file.write(separator + line)
    except OSError as exc:
        raise UsageError(f"cannot write the known_hosts file {path}: {_reason(exc)}") from exc


def replace_host_keys(
    path: Path, name: str, keys: Iterable[paramiko.PKey], comment: str = ""
) -> None:
    """Make ``keys`` the only keys of ``name`` in the file at ``path`` (a file the kit owns).

    Lines for other names stay. The file is replaced at once (written beside it,
    then renamed), so a reader never sees half of it.

    Args:
        path: The known_hosts file (made with its folders if missing).
        name: The name the keys are recorded under.
        keys: The keys; none removes the name.
        comment: A comment line to put before the keys (without ``#``), if any.
    """
    kept = [line for line in _lines(path) if not _about(line, name)]
    new = [f"# {comment}\n"] if comment else []
    new += [paramiko.hostkeys.HostKeyEntry([name], key).to_line() for key in keys]
    _write_atomically(path, "".join(kept + new) if new else "".join(kept))


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkshopError(
            f"cannot read the known_hosts file {path}: {_reason(exc)}; move it away and "
            "the kit records the lab's keys again"
        ) from exc
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines()]


def _about(line: str, name: str) -> bool:
    """Whether a line records a key of ``name``, or is the kit's comment about it."""
    fields = line.split()
    if not fields:
        return False
    if fields[0] == "#":
        return len(fields) > 1 and fields[1] == name
    return name in fields[0].split(",")


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file at ``path`` by ``text`` at once (written beside it, then renamed).

    Raises:
        WorkshopError: The folder cannot be written.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".known_hosts-")
    except OSError as exc:
        raise WorkshopError(
            f"cannot write the known_hosts file {path}: {_reason(exc)}; the kit keeps its "
            f"files in {path.parent}: make that folder writable for this user"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def scan_host_key(
    node: Node, *, prefer: Sequence[str] = (), timeout: float = SCAN_TIMEOUT
) -> paramiko.PKey:
    """The host key ``node`` presents in an SSH handshake (no login, nothing run).

    Args:
        node: The node; its SSH endpoint is contacted.
        prefer: Key types to ask for first (those a known_hosts file records for it),
            as OpenSSH does; else the client's usual order (Ed25519 first).
        timeout: Seconds for the TCP connection and for the handshake each.

    Raises:
        NodeUnreachable: No SSH answer in time, or the handshake failed.
    """
    endpoint = node.ssh
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    except OSError as exc:
        raise _unreachable(node, exc) from exc
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        options = transport.get_security_options()
        wanted = [alg for kind in prefer for alg in _algorithms(kind)]
        ordered = [kind for kind in wanted if kind in options.key_types]
        options.key_types = [*ordered, *(k for k in options.key_types if k not in ordered)]
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise _unreachable(node, exc) from exc
    finally:
        transport.close()


def _algorithms(key_type: str) -> tuple[str, ...]:
    return _RSA_ALGORITHMS if key_type == "ssh-rsa" else (key_type,)


def _unreachable(node: Node, exc: BaseException) -> NodeUnreachable:
    return NodeUnreachable(
        node.name, node.address, f"no SSH answer (ssh {node.ssh}): {_reason(exc)}"
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
