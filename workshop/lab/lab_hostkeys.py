"""The host keys of a lab the kit made: read when its machines are made, kept in a file.

Each lab has a known_hosts file of its own,
``<project>/.workshop/hostkeys/<lab>/known_hosts``, where every node's keys are
recorded under the node's name (its SSH address and port change whenever the
machine is made again, so the name is the ``HostKeyAlias``). Before the keys, a
comment names the machine they were read from::

    # node-1 machine 5c0ffee... (read from the Docker engine)
    node-1 ssh-ed25519 AAAAC3Nza...

The keys are never learnt from a first SSH connection. They are read through a
channel that does not cross a network:

- node containers (docker provider): ``docker exec`` in the node's container
  through this host's Docker engine, once sshd runs (it makes the keys on the
  first boot);
- VMs (VirtualBox, libvirt): ``vagrant ssh NODE -c 'cat ...'``. This trusts the
  first connection Vagrant makes to the VM, through the port the hypervisor
  forwards on this host's loopback to a VM it has just created; nothing outside
  this host is on that path. It is the one place where the kit relies on that.

A machine made again gets another id, so keys recorded for an older machine of
the same name are read again (:meth:`LabHostKeys.is_current`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import paramiko

from workshop.errors import NotConverged, NotReady, WorkshopError
from workshop.images.engine import engine_client, engine_errors
from workshop.lab.hostkeys import load_known_hosts, parse_public_keys, replace_host_keys
from workshop.lab.node import Node, SSHEndpoint
from workshop.progress import Progress, poll_until, quiet

__all__ = [
    "HOST_KEY_TIMEOUT",
    "VM_HOST_KEY_COMMAND",
    "HostKeysRead",
    "KeyReader",
    "LabHostKeys",
    "container_host_keys",
    "lab_known_hosts",
    "vm_host_keys",
]

#: Seconds a machine just made or started may take to have its SSH host keys.
HOST_KEY_TIMEOUT = 120.0
#: Seconds to wait for them when reading the lab finds a running machine without them.
LOOKUP_TIMEOUT = 15.0

#: What a VM is asked for its host key, through `vagrant ssh NODE -c`.
VM_HOST_KEY_COMMAND = "cat /etc/ssh/ssh_host_ed25519_key.pub"

#: Once sshd runs, its host keys exist (it makes them before it starts).
_CONTAINER_COMMAND = [
    "sh",
    "-c",
    "systemctl is-active --quiet ssh && cat /etc/ssh/ssh_host_*_key.pub",
]

_MACHINE = re.compile(r"^#\s+(\S+)\s+machine\s+(\S+)")


def lab_known_hosts(state_dir: Path, lab: str) -> Path:
    """The known_hosts file of lab ``lab`` in the project's state folder."""
    return state_dir / "hostkeys" / lab / "known_hosts"


class HostKeysRead(NamedTuple):
    """A machine's host keys, and how they were read (for the file and the user)."""

    keys: list[paramiko.PKey]
    how: str


#: Reads machine ``machine_id``'s keys for node ``name`` within ``timeout`` seconds.
KeyReader = Callable[[str, str, float], HostKeysRead]


@dataclass(frozen=True)
class LabHostKeys:
    """The known_hosts file of one lab: its nodes' keys, under their names.

    Attributes:
        path: The file.
        machine_id: Node name -> the id of its machine now (empty: none).
        read: Reads a machine's keys through a local channel.
    """

    path: Path
    machine_id: Callable[[str], str]
    read: KeyReader

    def endpoint(self, name: str, ssh: SSHEndpoint) -> SSHEndpoint:
        """``ssh``, checked against this file under the node's name."""
        return replace(ssh, known_hosts=str(self.path), host_key_alias=name)

    def machines(self) -> dict[str, str]:
        """Node name -> the id of the machine its recorded keys were read from."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return {}
        found = (_MACHINE.match(line) for line in text.splitlines())
        return {match.group(1): match.group(2) for match in found if match}

    def is_current(self, name: str, machine_id: str) -> bool:
        """Whether the file has keys of ``name`` read from machine ``machine_id``."""
        if self.machines().get(name) != machine_id:
            return False
        return bool(load_known_hosts(self.path).lookup(name))

    def record(
        self,
        names: Sequence[str],
        *,
        progress: Progress = quiet,
        missing_only: bool = False,
        timeout: float = HOST_KEY_TIMEOUT,
    ) -> list[str]:
        """Read machines' keys and make them the only keys of their nodes in the file.

        Args:
            names: The nodes; those without a machine are left out.
            progress: Where to report each node recorded.
            missing_only: Leave out nodes whose keys were read from their machine
                already (not from an older machine of the same name).
            timeout: Seconds a machine's sshd may take to have its keys.

        Returns:
            The nodes whose keys were recorded.

        Raises:
            WorkshopError: A machine's keys could not be read; the nodes before it
                are recorded.
        """
        recorded = []
        for name in names:
            machine = self.machine_id(name)
            if not machine or (missing_only and self.is_current(name, machine)):
                continue
            keys, how = self.read(name, machine, timeout)
            replace_host_keys(self.path, name, keys, f"{name} machine {machine} (read {how})")
            progress(f"{name}: SSH host keys recorded (read {how})")
            recorded.append(name)
        return recorded

    def checked(self, nodes: Sequence[Node]) -> list[Node]:
        """The nodes, checked against this file under their names.

        A running machine whose keys are not recorded (a lab made before the kit
        recorded them, or a machine made again by hand) gets them now. If that fails,
        connecting to it is refused with advice to run `workshop trust`, which says why.
        """
        for node in nodes:
            if node.running:
                with suppress(WorkshopError):
                    self.record([node.name], missing_only=True, timeout=LOOKUP_TIMEOUT)
        return [replace(node, ssh=self.endpoint(node.name, node.ssh)) for node in nodes]

    def remove(self) -> None:
        """Forget every node's keys (the lab is gone)."""
        self.path.unlink(missing_ok=True)


def vm_host_keys(name: str, output: str) -> HostKeysRead:
    """The keys in what a VM answered to :data:`VM_HOST_KEY_COMMAND` through `vagrant ssh`.

    Raises:
        NotReady: The answer holds no key.
    """
    keys = parse_public_keys(output)
    if not keys:
        raise NotReady(
            f"{name} gave no SSH host key to `vagrant ssh {name} -c '{VM_HOST_KEY_COMMAND}'`: "
            f"check that the VM has one, then run `workshop trust {name}`."
        )
    return HostKeysRead(keys, "through `vagrant ssh`")


def container_host_keys(container_id: str, name: str, timeout: float) -> HostKeysRead:
    """The host keys of node ``name``, read in its container through the Docker engine.

    Waits (up to ``timeout`` seconds) until sshd runs in the container.

    Raises:
        EngineError: The engine does not answer, or the container is gone.
        NotReady: sshd did not start in time, or the node has no host key.
    """
    client = engine_client(timeout=30)
    try:
        with engine_errors(f"reading the SSH host keys of {name}"):
            container = client.containers.get(container_id)

            def read() -> list[paramiko.PKey]:
                code, output = container.exec_run(_CONTAINER_COMMAND, stdout=True, stderr=False)
                text = output.decode("utf-8", "replace") if code == 0 and output else ""
                return parse_public_keys(text)

            try:
                keys = poll_until(read, bool, timeout=timeout, what=f"sshd on {name}")
            except NotConverged as exc:
                raise NotReady(
                    f"{name} has no SSH host key to record: sshd did not start within "
                    f"{timeout:g} s (`workshop ssh` is refused until it has). Look at "
                    f"`docker exec {container.name} systemctl status ssh`, then run "
                    f"`workshop trust {name}`."
                ) from exc
    finally:
        client.close()
    return HostKeysRead(keys, "from the Docker engine")
