"""Checked fan-outs: run a command, read a probe, or write a file on many nodes.

Steps change nodes through :func:`run_checked` (raises on the first failure) and
read them through :func:`check_nodes` (a node that does not answer raises, since
a check then tells nothing). Files and systemd units are written over SFTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from workshop.lab import Results
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line

__all__ = ["CHECK_TIMEOUT", "check_nodes", "install_unit", "run_checked", "write_file"]

#: Seconds for quick remote checks.
CHECK_TIMEOUT = 30.0


def run_checked(
    lab: RemoteLab,
    command: str,
    on: str | Iterable[str] = "all",
    *,
    sudo: bool = True,
    timeout: float = CHECK_TIMEOUT,
    stdin: str | None = None,
) -> Results:
    """Run a command on nodes in parallel and raise for the first failure.

    Raises:
        CommandFailed: A node answered with a non-zero exit code, or the command did
            not finish in time (the message keeps its stderr and stdout).
        NodeUnreachable: A node could not be reached, or the connection was lost while
            the command ran (the message says so first).
    """
    return lab.run(command, on=on, sudo=sudo, timeout=timeout, stdin=stdin).raise_for_failures()


def check_nodes(lab: RemoteLab, command: str, on: str | Iterable[str] = "all") -> dict[str, str]:
    """Run a read-only check on nodes; node -> its stdout (stripped).

    Raises:
        NodeUnreachable: A node does not answer (a check cannot tell anything then).
    """
    results = lab.run(command, on=on, sudo=True, timeout=CHECK_TIMEOUT)
    for result in results:
        if result.rc is None:
            result.raise_for_failure()
    return results.stdout


def write_file(
    lab: RemoteLab,
    path: str,
    text: str,
    on: str | Iterable[str] = "all",
    *,
    mode: str = "0644",
) -> None:
    """Write a root-owned file on nodes, in parallel (over SFTP, then ``install``).

    Raises:
        NodeUnreachable: A node could not be reached.
        CommandFailed: The file could not be put in place.
    """
    names = [n.name for n in lab.select(on)]
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        futures = [
            pool.submit(lab.put_text, name, text, path, sudo=True, mode=mode) for name in names
        ]
        for future in futures:
            future.result()


def install_unit(
    lab: RemoteLab, unit: str, text: str, on: Iterable[str], *, timeout: float = 60.0
) -> None:
    """Write a systemd unit on nodes, then enable and (re)start it there.

    Raises:
        NodeUnreachable: A node could not be reached.
        CommandFailed: The unit could not be written, enabled or started.
    """
    nodes = list(on)
    write_file(lab, f"/etc/systemd/system/{unit}", text, on=nodes)
    run_checked(
        lab,
        shell_line(
            sh("systemctl", "daemon-reload"),
            "&&",
            sh("systemctl", "enable", unit),
            "&&",
            sh("systemctl", "restart", unit),
        ),
        nodes,
        timeout=timeout,
    )
