"""Chapter 03: the cluster's ports and published ports, for the lab's nodes only.

Every node gets an nftables table of its own, ``inet workshop_firewall``, with a set
of the lab's node addresses (exactly those, not their network) and two chains:

- ``input`` accepts by default and drops the cluster ports (2377/tcp,
  7946/tcp+udp, 4789/udp, GlusterFS's 24007-24008/tcp and 49152-49251/tcp) from
  anything that is not a lab node or loopback;
- ``forward`` drops new connections to the ports Docker publishes (Docker
  DNATs them to a container, so they pass ``forward``, never ``input``) unless
  they come from a lab node or from a container on the node itself.

Nothing else is touched: SSH keeps working, and so do Docker's own rules, which
live in tables of their own. A systemd unit loads the table at boot, before Docker
and glusterd start.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence

from workshop.errors import UsageError
from workshop.lab import Results
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.steps.apt import apt_cache, apt_install, missing_packages
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, install_unit, write_file
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult

__all__ = [
    "PORTS",
    "firewall",
    "firewall_ok",
    "firewall_rules",
    "lab_addresses",
    "ruleset",
]

TABLE = "workshop_firewall"
RULES_FILE = "/etc/workshop/firewall.nft"
UNIT = "workshop-firewall.service"
UNIT_FILE = f"/etc/systemd/system/{UNIT}"

#: Port -> what uses it; opened to the lab's nodes only.
PORTS: dict[str, tuple[str, ...]] = {
    "tcp": ("2377", "7946", "24007-24008", "49152-49251"),
    "udp": ("7946", "4789"),
}
PURPOSES = {
    "2377/tcp": "swarm cluster management (managers)",
    "7946/tcp+udp": "swarm node communication (gossip)",
    "4789/udp": "overlay network traffic (VXLAN)",
    "24007-24008/tcp": "GlusterFS daemon and management",
    "49152-49251/tcp": "GlusterFS bricks",
}

_UNIT_TEXT = f"""[Unit]
Description=Swarm Workshop firewall: cluster and published ports for the lab's nodes only
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target docker.service glusterd.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f {RULES_FILE}
ExecStop=/usr/sbin/nft delete table inet {TABLE}

[Install]
WantedBy=multi-user.target
"""


def lab_addresses(lab: RemoteLab) -> list[str]:
    """The lab's node addresses (IPv4), in node order: what the firewall lets in.

    Raises:
        UsageError: A node has no IPv4 lab address (give it an ``address:``).
    """
    addresses = []
    for node in lab.nodes:
        try:
            address = ipaddress.IPv4Address(node.address)
        except ValueError as exc:
            raise UsageError(
                f"{node.name}'s lab address {node.address!r} is not an IPv4 address; "
                "give each node an `address:` in the inventory"
            ) from exc
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses


def ruleset(addresses: Sequence[str]) -> str:
    """The nftables file for a lab whose nodes have ``addresses``.

    It replaces only its own table, atomically: declaring, deleting and defining
    the table in one file is one transaction.
    """
    tcp = ", ".join(PORTS["tcp"])
    udp = ", ".join(PORTS["udp"])
    purposes = "\n".join(f"#   {port:<16} {what}" for port, what in PURPOSES.items())
    return f"""# Swarm Workshop firewall (written by workshop.steps.firewall; do not edit).
# Cluster ports, accepted from the lab's nodes only:
{purposes}
# Published service ports (forwarded by Docker to a container): new connections
# only from the lab's nodes and from this node's own containers.
# Everything else is left alone (policy accept): SSH, outgoing traffic, and
# Docker's own rules, which live in tables of their own.
table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
    set lab_nodes {{
        type ipv4_addr
        elements = {{ {", ".join(addresses)} }}
    }}

    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "lo" accept
        ip saddr @lab_nodes accept
        tcp dport {{ {tcp} }} counter drop
        udp dport {{ {udp} }} counter drop
    }}

    chain forward {{
        type filter hook forward priority filter; policy accept;
        ct state new ct status dnat jump published
    }}

    chain published {{
        ip saddr @lab_nodes accept
        iifname {{ "docker0", "docker_gwbridge" }} accept
        iifname "br-*" accept
        counter drop
    }}
}}
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _status(lab: RemoteLab, rules: str) -> dict[str, bool]:
    """Node -> whether its rules file, unit and loaded table are as wanted."""
    probe = shell_line(
        sh("cat", RULES_FILE, UNIT_FILE),
        "2>/dev/null",
        "|",
        sh("sha256sum"),
        ";",
        sh("nft", "list", "table", "inet", TABLE),
        ">/dev/null",
        "2>&1",
        "&&",
        sh("echo", "loaded"),
    )
    wanted = _digest(rules + _UNIT_TEXT)
    out = check_nodes(lab, probe, [n.name for n in lab.nodes if n.running])
    return {node: text.split()[:1] == [wanted] and "loaded" in text for node, text in out.items()}


def firewall_ok(lab: RemoteLab) -> bool:
    """Whether every running node has the lab's firewall loaded as wanted."""
    return all(_status(lab, ruleset(lab_addresses(lab))).values())


def firewall(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Load the lab's firewall table on every running node (and at every boot).

    The real commands: ``apt-get install nftables``, then
    ``nft -f /etc/workshop/firewall.nft``; show it with
    ``nft list table inet workshop_firewall``.

    Returns:
        Per node: whether the rules were (re)loaded.
    """
    rec = StepRecorder("firewall", progress)
    addresses = lab_addresses(lab)
    rules = ruleset(addresses)
    status = _status(lab, rules)
    stale = [node for node, ok in status.items() if not ok]
    if stale:
        need_nft = [
            n for n, missing in missing_packages(lab, ["nftables"], stale).items() if missing
        ]
        if need_nft:
            rec.say(f"installing nftables on {', '.join(need_nft)}")
            apt_cache(lab, progress)
            apt_install(lab, ["nftables"], need_nft)
        write_file(lab, RULES_FILE, rules, on=stale)
        install_unit(lab, UNIT, _UNIT_TEXT, stale)
        rec.changed(stale, f"cluster and published ports open to {', '.join(addresses)} only")
    rec.unchanged(list(status), f"rules for {', '.join(addresses)} already loaded")
    rec.note(f"table inet {TABLE}: see firewall_rules(lab)")
    return rec.result()


def firewall_rules(lab: RemoteLab, on: str = "all") -> Results:
    """The loaded rules, as ``nft list table inet workshop_firewall`` prints them."""
    return lab.run(sh("nft", "list", "table", "inet", TABLE), on=on, sudo=True, timeout=30)
