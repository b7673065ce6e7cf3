"""Send images built on this machine to nodes: ``docker save | ssh node docker load``.

The lab's command fan-out carries text; images are bytes, so this module streams
``docker save`` straight into ``docker load`` on each node over an SSH channel of
its own (Fabric/Paramiko), all nodes at once, without a temporary file.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import paramiko

from workshop.errors import CommandFailed, NodeUnreachable, ProviderError
from workshop.lab import Node
from workshop.remote import sudo_wrap
from workshop.remote.ssh import CONNECT_TIMEOUT, connect
from workshop.steps.commands import sh

__all__ = ["send_images"]

CHUNK = 1 << 20
#: Seconds one node may take to receive and load the images.
SEND_TIMEOUT = 600.0


def _docker_save(tags: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start ``docker save TAGS`` here, its tar stream on stdout."""
    try:
        return subprocess.Popen(
            ["docker", "save", *tags], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise ProviderError(
            ["docker", "save", *tags],
            None,
            str(exc),
            hint="The docker command is needed on this machine to send images.",
        ) from exc


def _stream(
    channel: Any, node: Node, source: IO[bytes], command: str, timeout: float
) -> tuple[int, str, str]:
    """Run ``command`` on the channel with ``source`` as its stdin; rc, stdout, stderr."""
    deadline = time.monotonic() + timeout
    channel.settimeout(timeout)
    channel.exec_command(command)
    while chunk := source.read(CHUNK):
        channel.sendall(chunk)
        if time.monotonic() > deadline:
            raise NodeUnreachable(
                node.name, node.address, f"sending images took over {timeout:g} s"
            )
    channel.shutdown_write()
    stdout: str = channel.makefile("rb").read().decode(errors="replace")
    stderr: str = channel.makefile_stderr("rb").read().decode(errors="replace")
    rc: int = channel.recv_exit_status()
    return rc, stdout, stderr


def _send(node: Node, tags: Sequence[str], timeout: float) -> str:
    """Stream `docker save TAGS` into `docker load` on one node; return its output."""
    command = sudo_wrap(sh("docker", "load"), node.ssh.user)
    conn = connect(node)
    save = _docker_save(tags)
    try:
        assert save.stdout is not None
        channel = conn.client.get_transport().open_session(timeout=CONNECT_TIMEOUT)
        rc, stdout, stderr = _stream(channel, node, save.stdout, command, timeout)
    except (paramiko.SSHException, OSError) as exc:
        said = (str(exc) or type(exc).__name__).splitlines()[0][:200]
        raise NodeUnreachable(node.name, node.address, f"the image stream broke: {said}") from exc
    finally:
        if save.poll() is None:
            save.kill()
        save.wait(timeout=30)
        conn.close()
    if save.returncode not in (0, None, -9):
        err = save.stderr.read().decode(errors="replace") if save.stderr else ""
        raise ProviderError(["docker", "save", *tags], save.returncode, err)
    if rc != 0:
        raise CommandFailed(f"docker save … | {command}", node.name, rc, stdout, stderr)
    return stdout


def send_images(
    plan: Mapping[Node, Sequence[str]], *, timeout: float = SEND_TIMEOUT
) -> dict[str, str]:
    """Load images of this machine's Docker engine on nodes, all nodes at once.

    Args:
        plan: Node -> the image tags it gets (one ``docker save`` stream per node,
            so layers the images share are sent once).
        timeout: Seconds each node may take.

    Returns:
        Node name -> what ``docker load`` said.

    Raises:
        NodeUnreachable: A node could not be reached, or took too long.
        CommandFailed: ``docker load`` failed on a node.
        ProviderError: ``docker save`` failed here.
    """
    work = {node: list(tags) for node, tags in plan.items() if tags}
    if not work:
        return {}
    with ThreadPoolExecutor(max_workers=len(work), thread_name_prefix="workshop-send") as pool:
        futures = {
            node.name: pool.submit(_send, node, tags, timeout) for node, tags in work.items()
        }
        return {name: future.result() for name, future in futures.items()}
