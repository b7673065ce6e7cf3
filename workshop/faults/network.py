"""Cut a node off the lab network, and heal it.

The node drops every packet to and from the other nodes' lab addresses: an
nftables table of its own, ``inet workshop_fault``, loaded with ``nft -f -`` and
removed with ``nft delete table inet workshop_fault``. Nothing else is touched
(the lab's firewall and Docker's rules live in tables of their own). The kit keeps
control because its SSH session reaches the node over another address: node
containers are reached through a port forwarded on the engine's default bridge,
VMs through their NAT interface. When SSH comes over the lab address itself, or
from another node, the cut would cut the kit off too: the fault is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from workshop.errors import CommandFailed, NotReady, UsageError
from workshop.faults.handle import Fault, inject
from workshop.faults.health import observe, stdout_json, wait_whole
from workshop.faults.power import RESTORE_TIMEOUT, running_node
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line

__all__ = ["TABLE", "cut_network", "cut_rules", "ssh_peer"]

TABLE = "workshop_fault"
#: Seconds for one nft command.
NFT_TIMEOUT = 30.0


def cut_rules(peers: Sequence[str]) -> str:
    """The nftables table that drops traffic to and from ``peers`` (IPv4 addresses).

    Two chains see every packet: ``prerouting`` what arrives (for the node itself or
    routed on to its containers, DNAT-ed published ports too), ``postrouting`` what
    leaves. They run just before the filter chains of other tables, and a drop in
    any table is final, so no accept elsewhere lets a packet through.
    """
    return f"""# Swarm Workshop fault: this node is cut off the lab network.
# Remove with: nft delete table inet {TABLE}
table inet {TABLE} {{
    set peers {{
        type ipv4_addr
        elements = {{ {", ".join(peers)} }}
    }}

    chain prerouting {{
        type filter hook prerouting priority filter - 10; policy accept;
        ip saddr @peers counter drop
    }}

    chain postrouting {{
        type filter hook postrouting priority filter - 10; policy accept;
        ip daddr @peers counter drop
    }}
}}
"""


def _peers(lab: RemoteLab, name: str) -> list[str]:
    peers = [n.address for n in lab.nodes if n.name != name]
    if not peers:
        raise UsageError(f"cannot cut {name} off: the lab has no other node to cut it from")
    for address in [lab.node(name).address, *peers]:
        try:
            ipaddress.IPv4Address(address)
        except ValueError as exc:
            raise UsageError(
                f"cannot cut {name} off: lab address {address!r} is not an IPv4 address "
                "(give each node an IPv4 `address:` in the inventory)"
            ) from exc
    return peers


def ssh_peer(lab: RemoteLab, name: str) -> tuple[str, str]:
    """(client, server) addresses of the kit's SSH session to a node (``SSH_CONNECTION``).

    Raises:
        NodeUnreachable: The node does not answer.
        CommandFailed: The node's SSH server does not say (no ``SSH_CONNECTION``).
    """
    command = sh("printenv", "SSH_CONNECTION")
    # Not through sudo: sudo resets the environment, SSH_CONNECTION with it.
    result = lab.run(command, on=name, timeout=NFT_TIMEOUT)[0]
    result.raise_for_failure()
    fields = result.stdout.split()
    if len(fields) != 4:
        raise CommandFailed(
            command,
            name,
            result.rc,
            result.stdout,
            hint="SSH_CONNECTION should read: client address, port, server address, port.",
        )
    return fields[0], fields[2]


def _check_control(lab: RemoteLab, name: str, peers: Sequence[str]) -> None:
    """Refuse when the cut would cut the kit's own SSH session to the node."""
    client, server = ssh_peer(lab, name)
    if server == lab.node(name).address or client in peers:
        raise UsageError(
            f"cannot cut {name} off the lab network: the kit reaches it over SSH from "
            f"{client} to {server}, through the lab network itself, and would lose it. "
            "Reach the nodes over another network (a management interface, or a NAT "
            "port as VMs and node containers have) to use this fault."
        )


def _tables(lab: RemoteLab, name: str) -> list[str]:
    """Names of the nftables tables loaded on the node (``nft --json list tables``).

    Raises:
        NotReady: nft is not installed on the node.
    """
    command = sh("nft", "--json", "list", "tables")
    result = lab.run(command, on=name, sudo=True, timeout=NFT_TIMEOUT)[0]
    if result.rc == 127:
        raise NotReady(
            f"cannot cut {name} off: nft is not installed there. lab.require('firewall') "
            "installs it (or `apt-get install nftables` on the node)."
        )
    result.raise_for_failure()
    listed = stdout_json(result).get("nftables", [])
    return [item["table"]["name"] for item in listed if "table" in item]


def _heal(lab: RemoteLab, name: str) -> None:
    """Delete the fault's table if it is there (twice is fine)."""
    command = shell_line(
        sh("nft", "list", "table", "inet", TABLE),
        ">/dev/null",
        "2>&1",
        "||",
        "exit 0",
        ";",
        sh("nft", "delete", "table", "inet", TABLE),
    )
    lab.run(command, on=name, sudo=True, timeout=NFT_TIMEOUT).raise_for_failures()


def cut_network(
    lab: RemoteLab, name: str, *, timeout: float = RESTORE_TIMEOUT, progress: Progress = quiet
) -> Fault:
    """Cut node ``name`` off the other nodes; the handle heals it and waits until it is back.

    The node keeps running and answering the kit over SSH, but cannot reach the other
    nodes' lab addresses, nor they it: managers mark it ``Down``, Gluster sees its
    bricks go away. The restore removes the table and waits until the node has again
    what it had before (``Ready`` in the swarm, its bricks online, nothing to heal).

    Args:
        lab: The lab.
        name: The node, e.g. ``node-3``.
        timeout: Seconds the restore waits for the node to be back.
        progress: Called with a line of text now and then.

    Raises:
        UnknownNode: The lab has no such node.
        NotReady: The node is not running, or has no nft.
        UsageError: The kit's SSH goes over the lab network, the node is cut off
            already, or the lab has no other node.
    """
    running_node(lab, name, "cut off")
    peers = _peers(lab, name)
    _check_control(lab, name, peers)
    if TABLE in _tables(lab, name):
        raise UsageError(
            f"{name} is cut off already (table inet {TABLE} is loaded): restore that "
            f"fault first, or run `nft delete table inet {TABLE}` on {name}."
        )
    before = observe(lab, name)

    def do() -> str:
        command = sh("nft", "-f", "-")
        lab.run(
            command, on=name, sudo=True, timeout=NFT_TIMEOUT, stdin=cut_rules(peers)
        ).raise_for_failures()
        return f"{name} drops traffic to and from {', '.join(peers)} (table inet {TABLE})"

    def undo() -> str:
        _heal(lab, name)
        after = wait_whole(lab, before, timeout=timeout, progress=progress)
        return f"`nft delete table inet {TABLE}` on {name}; {after.summary()}"

    return inject("cut_network", name, do, undo, progress)
