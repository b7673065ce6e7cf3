"""Where a lab's machines come from: the interface every source implements.

A source knows the lab's settings (or that its hosts have none), lists the
machines with their states, powers them if it can, and says what a user should do
about a machine that is down. The kit has two sources:
:class:`~workshop.lab.vagrant.VagrantSource` (VMs or node containers from the
project's Vagrantfile) and :class:`InventorySource` (real hosts from a file).
Power operations that a source cannot do raise
:class:`~workshop.errors.NotSupported` with the advice instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from workshop.errors import NotSupported
from workshop.lab.inventory_parse import parse_inventory
from workshop.lab.node import Node
from workshop.progress import Progress, quiet
from workshop.settings import LabSettings

__all__ = ["InventorySource", "LabSource"]


class LabSource(Protocol):
    """Where a lab's machines come from, and how they are powered.

    Attributes:
        kind: ``vagrant`` or ``inventory``.
        settings: The settings that shape the lab, ``None`` when its hosts do.
        provider: How machines are made (``docker``, ``virtualbox``, ``libvirt``),
            ``None`` for real hosts.
        can_power: Whether :meth:`create`, :meth:`halt`, :meth:`start` and
            :meth:`remove` work (else they raise ``NotSupported``).
    """

    @property
    def kind(self) -> str: ...

    @property
    def settings(self) -> LabSettings | None: ...

    @property
    def provider(self) -> str | None: ...

    @property
    def can_power(self) -> bool: ...

    def discover(self) -> list[Node]:
        """The lab's machines, in order, with their current states."""
        ...

    def create(self, progress: Progress = quiet) -> None:
        """Create and start every machine, reusing what exists."""
        ...

    def halt(self, names: Sequence[str], progress: Progress = quiet) -> None:
        """Power machines off."""
        ...

    def start(self, names: Sequence[str], progress: Progress = quiet) -> None:
        """Power machines on again."""
        ...

    def remove(self, progress: Progress = quiet) -> None:
        """Remove every machine of the lab and what the source made for it."""
        ...

    def start_advice(self, name: str) -> str:
        """What a user does to bring machine ``name`` back (for error messages)."""
        ...


class InventorySource:
    """Real hosts listed in a YAML inventory or an OpenSSH config file.

    The hosts shape the lab, so ``settings`` and ``provider`` are ``None``. The hosts
    are the user's: the kit does not create, power or destroy them, and those
    operations raise ``NotSupported`` saying what to do instead. Nor does it learn
    their host keys: each is checked against the known_hosts file its node names
    (the user's ``~/.ssh/known_hosts`` unless the inventory names another), and
    ``workshop trust`` adds a host's key there once the user has agreed.
    """

    kind = "inventory"
    settings: LabSettings | None = None
    provider: str | None = None
    can_power = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def discover(self) -> list[Node]:
        """The hosts of the inventory file, in file order (read again on every call)."""
        return parse_inventory(self.path)

    def _refuse(self, action: str) -> NotSupported:
        return NotSupported(
            f"the kit does not {action} real hosts (this lab comes from the inventory "
            f"{self.path}): do it on the hosts themselves, then run `workshop status`."
        )

    def create(self, progress: Progress = quiet) -> None:
        """Refuse: the hosts exist already, and are the user's to start."""
        raise NotSupported(
            f"the hosts listed in {self.path} (WORKSHOP_INVENTORY) are yours: the kit does "
            "not create or start them. Power them on, check that `workshop status` reaches "
            "every one, then run `workshop provision`; unset WORKSHOP_INVENTORY to build "
            "this folder's own lab instead."
        )

    def halt(self, names: Sequence[str], progress: Progress = quiet) -> None:
        """Refuse: power real hosts off yourself."""
        raise self._refuse("power off")

    def start(self, names: Sequence[str], progress: Progress = quiet) -> None:
        """Refuse: power real hosts on yourself."""
        raise self._refuse("power on")

    def remove(self, progress: Progress = quiet) -> None:
        """Refuse: the kit never destroys real hosts (`workshop down` undoes its work there)."""
        raise NotSupported(
            f"the hosts listed in {self.path} (WORKSHOP_INVENTORY) are yours: the kit never "
            "destroys them. `workshop down` takes off what the kit put there (stacks, the "
            "swarm, the Gluster volume, its firewall and files: steps.teardown(lab)); "
            "unset WORKSHOP_INVENTORY to remove this folder's own lab."
        )

    def start_advice(self, name: str) -> str:
        """Real hosts are powered and reached by their owner."""
        return (
            f"power the host {name} on and check that `ssh` reaches it "
            f"(it is listed in {self.path})"
        )
