"""The kit's exceptions: one root, :class:`WorkshopError`, and a few precise kinds.

Every message says what failed, where, and what to do next. Commands and their
output are passed through :func:`workshop.secrets.mask_secrets` before they are
stored, so neither ``str()`` nor ``repr()`` of an error can leak a join token or a key.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from workshop.secrets import mask_secrets

__all__ = [
    "CommandFailed",
    "EngineError",
    "HostKeyRejected",
    "LabNotFound",
    "NodeUnreachable",
    "NotConverged",
    "NotReady",
    "NotSupported",
    "ProviderError",
    "SSHAuthFailed",
    "UnknownNode",
    "UploadFailed",
    "UsageError",
    "WorkshopError",
    "command_text",
    "head_and_tail",
    "tail",
]

#: How many lines of stdout/stderr an error message keeps (the last ones).
TAIL_LINES = 20
#: How many first lines a host tool's error keeps besides the last ones.
HEAD_LINES = 8


def command_text(command: str | Sequence[str]) -> str:
    """Return a command as one masked shell line.

    Args:
        command: A shell line, or an argument list (quoted with ``shlex.join``).

    Returns:
        The command line with secrets masked.
    """
    line = command if isinstance(command, str) else shlex.join(command)
    return mask_secrets(line)


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """Return the last ``lines`` lines of ``text``, saying how many were left out.

    Args:
        text: Command output.
        lines: How many lines to keep.

    Returns:
        The trimmed text, without a trailing newline.
    """
    kept = text.rstrip("\n").splitlines()
    if len(kept) <= lines:
        return "\n".join(kept)
    omitted = len(kept) - lines
    return "\n".join([f"[… {omitted} earlier lines omitted]", *kept[-lines:]])


def head_and_tail(text: str, head: int = HEAD_LINES, lines: int = TAIL_LINES) -> str:
    """Return the first ``head`` and the last ``lines`` lines of ``text``.

    A host tool's error names its cause at the top (Vagrant's "Command: ... Stderr:
    ...") and may end with pages of data (the JSON it was given): both ends are kept.

    Args:
        text: Command output.
        head: How many lines to keep from the start.
        lines: How many lines to keep from the end.

    Returns:
        The trimmed text, without a trailing newline.
    """
    kept = text.rstrip("\n").splitlines()
    if len(kept) <= head + lines:
        return "\n".join(kept)
    omitted = len(kept) - head - lines
    return "\n".join([*kept[:head], f"[… {omitted} lines omitted]", *kept[-lines:]])


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


class WorkshopError(Exception):
    """Root of every error the kit raises on purpose.

    Attributes:
        message: The full, masked message.
    """

    def __init__(self, message: str) -> None:
        self.message = mask_secrets(message)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class UsageError(WorkshopError, ValueError):
    """A bad argument, setting or file: the message names it and the valid choices."""

    @classmethod
    def choice(cls, what: str, value: object, choices: Iterable[str]) -> UsageError:
        """Build the error for a value that is not one of ``choices``.

        Args:
            what: What the value is, e.g. ``"provider"`` or ``"WORKSHOP_PROVIDER"``.
            value: The value given.
            choices: The valid values.

        Returns:
            A UsageError such as ``provider 'vbox' is not valid; choose one of: ...``.
        """
        return cls(f"{what} {value!r} is not valid; choose one of: {', '.join(choices)}")


class UnknownNode(UsageError, KeyError):
    """A node name that is not in the lab (also a ``KeyError``).

    Attributes:
        name: The name asked for.
        valid: The lab's node names.
    """

    def __init__(self, name: str, valid: Iterable[str]) -> None:
        self.name = name
        self.valid = list(valid)
        names = ", ".join(self.valid) if self.valid else "(none)"
        super().__init__(f"unknown node {name!r}; the lab's nodes are: {names}")


class NodeUnreachable(WorkshopError):
    """A node could not be reached over SSH (stopped, wrong address, timeout).

    Attributes:
        node: The node's name.
        address: Its address, if known.
        reason: Why it could not be reached (masked).
        failed_nodes: Every node that failed in the same fan-out, if more than this one.
    """

    #: What happened, after the node's name.
    what = "is unreachable"
    #: What to do about it, the message's last sentence.
    advice = "Run `workshop status` to see the lab's nodes; `workshop up` starts stopped ones."

    def __init__(
        self,
        node: str,
        address: str | None,
        reason: str,
        *,
        failed_nodes: Sequence[str] = (),
    ) -> None:
        self.node = node
        self.address = address
        self.reason = mask_secrets(reason).strip()
        self.failed_nodes = tuple(failed_nodes)
        where = f"{node} ({address})" if address else node
        message = f"{where} {self.what}: {self.reason.rstrip('.')}. {self.advice}"
        if len(self.failed_nodes) > 1:
            message += f"\nFailed on {len(self.failed_nodes)} nodes: {', '.join(failed_nodes)}."
        super().__init__(message)


class SSHAuthFailed(NodeUnreachable):
    """A node answers SSH but refused the login: wrong user, key or key file."""

    what = "refused the SSH login"
    advice = (
        "Check the user and key the lab uses for it (an inventory's `user` and "
        "`identity_file`; `vagrant ssh-config` for a Vagrant lab) and that the key's public "
        "half is in that user's ~/.ssh/authorized_keys on the node."
    )


class HostKeyRejected(NodeUnreachable):
    """A node's SSH host key was not accepted (changed, or not the one expected)."""

    what = "presented an SSH host key that was not accepted"
    advice = (
        "If the machine was recreated, forget its old key (`ssh-keygen -R HOST`, or "
        "`ssh-keygen -R '[HOST]:PORT'` for a port other than 22); otherwise check that "
        "this address really is the node's."
    )


class UploadFailed(WorkshopError):
    """Writing a file on a node failed: full disk, missing folder, no permission, lost link.

    Attributes:
        node: The node's name.
        path: The file it was written to.
        reason: What the node answered (masked).
        hint: What to do about it.
    """

    def __init__(self, node: str, path: str, reason: str, *, hint: str | None = None) -> None:
        self.node = node
        self.path = path
        self.reason = mask_secrets(reason).strip()
        self.hint = hint
        message = f"writing {path} on {node} failed: {self.reason.rstrip('.')}."
        super().__init__(f"{message} {hint}" if hint else message)


class CommandFailed(WorkshopError):
    """A command ran on a node and exited non-zero (or did not finish).

    Attributes:
        command: The command line (masked).
        node: Where it ran.
        rc: Its exit code, ``None`` if it never finished.
        stdout: Its standard output (masked).
        stderr: Its standard error (masked).
        hint: What to do about it, if the caller knows.
        failed_nodes: Every node that failed in the same fan-out, if more than this one.
    """

    def __init__(
        self,
        command: str | Sequence[str],
        node: str,
        rc: int | None,
        stdout: str = "",
        stderr: str = "",
        *,
        hint: str | None = None,
        failed_nodes: Sequence[str] = (),
    ) -> None:
        self.command = command_text(command)
        self.node = node
        self.rc = rc
        self.stdout = mask_secrets(stdout)
        self.stderr = mask_secrets(stderr)
        self.hint = hint
        self.failed_nodes = tuple(failed_nodes)
        status = f"exit code {rc}" if rc is not None else "no exit code (it did not finish)"
        parts = [f"`{self.command}` failed on {node} with {status}."]
        if len(self.failed_nodes) > 1:
            parts.append(f"Failed on {len(self.failed_nodes)} nodes: {', '.join(failed_nodes)}.")
        for label, text in (("stderr", self.stderr), ("stdout", self.stdout)):
            if text.strip():
                parts.append(f"{label}:\n{_indent(tail(text))}")
        if hint:
            parts.append(hint)
        super().__init__("\n".join(parts))


class NotConverged(WorkshopError):
    """The lab did not reach the wanted state in time (service, swarm, volume).

    Attributes:
        timeout: How long the kit waited, in seconds, if it waited.
        last_seen: The last state observed (masked), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: float | None = None,
        last_seen: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.last_seen = mask_secrets(last_seen) if last_seen is not None else None
        full = message
        if timeout is not None:
            full += f" (waited {timeout:g} s)"
        if self.last_seen:
            full += f"\nLast seen:\n{_indent(tail(self.last_seen))}"
        super().__init__(full)


class NotSupported(WorkshopError):
    """The lab's source cannot do this (the kit does not power real hosts)."""


class NotReady(WorkshopError):
    """The lab has not reached the state this needs yet (no swarm, no volume).

    The message names the state and how to reach it (``lab.require(...)``).
    """


class LabNotFound(WorkshopError):
    """No lab exists where one was expected (nothing created, or a wrong name)."""


class EngineError(WorkshopError):
    """The Docker engine on this host does not answer, or refused a request.

    Attributes:
        action: What the kit was doing, e.g. ``"building workshop/node:bookworm"``.
        reason: What went wrong (masked).
        hint: What to do about it.
    """

    def __init__(self, action: str, reason: str, *, hint: str) -> None:
        self.action = action
        self.reason = mask_secrets(reason).strip()
        self.hint = hint
        super().__init__(f"{action}: {self.reason.rstrip('.')}.\n{hint}")


class ProviderError(WorkshopError):
    """A command on the host (``vagrant``, ``docker``) failed.

    Attributes:
        command: The command line (masked).
        rc: Its exit code, ``None`` if it never finished.
        stderr: Its standard error (masked).
        hint: What to do about it, if the caller knows.
    """

    def __init__(
        self,
        command: str | Sequence[str],
        rc: int | None,
        stderr: str = "",
        *,
        hint: str | None = None,
    ) -> None:
        self.command = command_text(command)
        self.rc = rc
        self.stderr = mask_secrets(stderr)
        self.hint = hint
        status = f"exit code {rc}" if rc is not None else "no exit code (it did not finish)"
        parts = [f"`{self.command}` failed on this host with {status}."]
        if self.stderr.strip():
            parts.append(f"stderr:\n{_indent(head_and_tail(self.stderr))}")
        if hint:
            parts.append(hint)
        super().__init__("\n".join(parts))
