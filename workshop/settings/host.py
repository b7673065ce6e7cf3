"""What this host can run: the facts behind the ``auto`` provider and node flags.

Everything is read from the filesystem (a few ``stat`` calls and Vagrant's small
plugin state files), so resolving the settings stays fast: asking
``vagrant plugin list`` would take over a second on every ``vagrant`` command.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LIBVIRT_PLUGIN", "Host", "vagrant_plugins"]

#: The Vagrant plugin that provides the libvirt provider.
LIBVIRT_PLUGIN = "vagrant-libvirt"

#: Folders of Vagrant's system-wide plugin state (``plugins.json`` and ``plugins.d/``):
#: Debian/Ubuntu's vagrant package, and HashiCorp's own package.
SYSTEM_PLUGIN_DIRS = ("usr/share/vagrant-plugins", "opt/vagrant/embedded")

#: The libvirt daemon's system socket (vagrant-libvirt connects to qemu:///system).
LIBVIRT_SOCKET = "var/run/libvirt/libvirt-sock"


def _installed(path: Path, nested: bool) -> set[str]:
    """Plugin names in one state file (``{"installed": {...}}``, or a ``plugins.d`` entry)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()  # absent or unreadable: Vagrant itself reports a broken one
    if nested:
        data = data.get("installed") if isinstance(data, dict) else None
    return set(data) if isinstance(data, dict) else set()


def vagrant_plugins(env: Mapping[str, str] = os.environ, root: Path = Path("/")) -> set[str]:
    """Names of the Vagrant plugins installed for this user and system-wide.

    Reads the state files Vagrant itself reads: ``$VAGRANT_HOME/plugins.json``
    (``~/.vagrant.d`` by default) and the system ``plugins.json`` with its
    ``plugins.d/*.json`` (where Debian's ``vagrant-libvirt`` package registers).

    Args:
        env: Environment (``VAGRANT_HOME``, ``HOME``).
        root: The filesystem root the system folders are under (``/``).
    """
    home = env.get("VAGRANT_HOME") or str(Path(env.get("HOME") or Path.home()) / ".vagrant.d")
    names = _installed(Path(home) / "plugins.json", nested=True)
    for folder in (root / path for path in SYSTEM_PLUGIN_DIRS):
        names |= _installed(folder / "plugins.json", nested=True)
        for extra in sorted(folder.glob("plugins.d/*.json")):
            names |= _installed(extra, nested=False)
    return names


@dataclass(frozen=True)
class Host:
    """What this host offers to a lab.

    Attributes:
        virtualbox: VirtualBox can run (``/dev/vboxdrv``, or macOS / Windows).
        kvm: ``/dev/kvm`` exists.
        libvirt_socket: The libvirt daemon's system socket exists.
        libvirt_plugin: Vagrant has the ``vagrant-libvirt`` plugin.
        cgroup_v2: The host uses the unified cgroup hierarchy.
    """

    virtualbox: bool = False
    kvm: bool = False
    libvirt_socket: bool = False
    libvirt_plugin: bool = False
    cgroup_v2: bool = False

    @classmethod
    def probe(
        cls,
        env: Mapping[str, str] = os.environ,
        root: Path = Path("/"),
        system: str | None = None,
    ) -> Host:
        """Look at this host.

        Args:
            env: Environment (where Vagrant keeps user plugins).
            root: The filesystem root (``/``).
            system: ``platform.system()`` (``Linux``, ``Darwin``, ``Windows``).
        """
        system = system or platform.system()
        return cls(
            virtualbox=(root / "dev/vboxdrv").exists() or system in ("Darwin", "Windows"),
            kvm=(root / "dev/kvm").exists(),
            libvirt_socket=(root / LIBVIRT_SOCKET).exists(),
            libvirt_plugin=LIBVIRT_PLUGIN in vagrant_plugins(env, root),
            cgroup_v2=(root / "sys/fs/cgroup/cgroup.controllers").exists(),
        )

    def auto_provider(self) -> str:
        """The provider ``auto`` means here: a hypervisor Vagrant can drive, else docker.

        libvirt needs all three: KVM, a running libvirt daemon and the plugin.
        """
        if self.virtualbox:
            return "virtualbox"
        if self.kvm and self.libvirt_socket and self.libvirt_plugin:
            return "libvirt"
        return "docker"

    def auto_node_flags(self) -> str:
        """The node flags ``auto`` means here: privileged on cgroup v2, else restricted."""
        return "privileged" if self.cgroup_v2 else "restricted"
