"""Chapter 03: the swarm's and GlusterFS's ports, for the lab network only.

Every node gets an nftables table of its own, ``inet workshop_firewall``, whose
input chain accepts by default and drops the cluster ports (2377/tcp, 7946/tcp+udp,
4789/udp, GlusterFS's 24007-24008/tcp and 49152-49251/tcp) from anything that is not
the lab network or loopback. Nothing else is touched: SSH keeps working, and so do
Docker's own rules, which live in tables of their own. A systemd unit loads the
table at boot, before Docker and glusterd start.
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
    "lab_network",
    "ruleset",
]

TABLE = "workshop_firewall"
RULES_FILE = "/etc/workshop/firewall.nft"
UNIT = "workshop-firewall.service"
UNIT_FILE = f"/etc/systemd/system/{UNIT}"

#: Port -> what uses it; opened to the lab network only.
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
Description=Swarm Workshop firewall: cluster ports for the lab network only
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


def lab_network(lab: RemoteLab) -> list[str]:
    """The lab network(s) in CIDR form: the settings' subnet, else the nodes' /24s.

    Raises:
        UsageError: A node of an inventory has no IPv4 lab address.
    """
    settings = lab.settings
    if settings is not None:
        return [settings.network]
    networks = []
    for node in lab.nodes:
        try:
            net = str(ipaddress.ip_network(f"{node.address}/24", strict=False))
        except ValueError as exc:
            raise UsageError(
                f"{node.name}'s lab address {node.address!r} is not an IPv4 address; "
                "give each node an `address:` in the inventory"
            ) from exc
        if net not in networks:
            networks.append(net)
    return networks


def ruleset(networks: Sequence[str]) -> str:
    """The nftables file for a lab on ``networks`` (CIDR strings).

    It replaces only its own table, atomically: declaring, deleting and defining
    the table in one file is one transaction.
    """
    tcp = ", ".join(PORTS["tcp"])
    udp = ", ".join(PORTS["udp"])
    purposes = "\n".join(f"#   {port:<16} {what}" for port, what in PURPOSES.items())
    return f"""# Swarm Workshop firewall (written by workshop.steps.firewall; do not edit).
# Cluster ports, accepted from the lab network only:
{purposes}
# Everything else is left alone (policy accept): SSH, published service ports,
# and Docker's own rules, which live in tables of their own.
table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
    set lab_networks {{
        type ipv4_addr
        flags interval
        elements = {{ {", ".join(networks)} }}
    }}

    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "lo" accept
        ip saddr @lab_networks accept
        tcp dport {{ {tcp} }} counter drop
        udp dport {{ {udp} }} counter drop
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
    return all(_status(lab, ruleset(lab_network(lab))).values())


def firewall(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Load the lab's firewall table on every running node (and at every boot).

    The real commands: ``apt-get install nftables``, then
    ``nft -f /etc/workshop/firewall.nft``; show it with
    ``nft list table inet workshop_firewall``.

    Returns:
        Per node: whether the rules were (re)loaded.
    """
    rec = StepRecorder("firewall", progress)
    networks = lab_network(lab)
    rules = ruleset(networks)
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
        rec.changed(stale, f"cluster ports open to {', '.join(networks)} only")
    rec.unchanged(list(status), f"rules for {', '.join(networks)} already loaded")
    rec.note(f"table inet {TABLE}: see firewall_rules(lab)")
    return rec.result()


def firewall_rules(lab: RemoteLab, on: str = "all") -> Results:
    """The loaded rules, as ``nft list table inet workshop_firewall`` prints them."""
    return lab.run(sh("nft", "list", "table", "inet", TABLE), on=on, sudo=True, timeout=30)
