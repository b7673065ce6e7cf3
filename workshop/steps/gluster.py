"""Chapter 05: a GlusterFS volume replicated on every node, mounted everywhere.

glusterfs-server on each node; names ``gluster-1`` .. ``gluster-N`` in /etc/hosts;
``gluster peer probe`` from the first node; one brick per node under
``/data/bricks/<volume>``; a ``replica N`` volume, open to the lab's addresses
only (``auth.allow``, set before it starts), then started; and a mount on every
node through /etc/fstab, so a reboot mounts it again.

Node containers get /etc/hosts from Docker, which writes it anew when the
container restarts: a small systemd unit puts the gluster names back at every
boot, before glusterd starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from workshop.errors import NotReady, UsageError
from workshop.lab.inventory_parse import is_ip_address
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.apt import apt_cache, apt_install, missing_packages
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, install_unit, run_checked, write_file
from workshop.steps.gluster_parse import (
    BRICK_LIST_MARK,
    VOLUME_ID_ATTR,
    GlusterPeer,
    GlusterVolume,
    parse_pool_list,
    parse_volume_info,
    stale_brick,
)
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult

__all__ = [
    "BRICKS",
    "GLUSTER",
    "MOUNT",
    "VOLUME",
    "brick_probe",
    "gluster_mounts",
    "gluster_names",
    "gluster_ok",
    "gluster_pool",
    "gluster_volume",
    "gluster_volume_info",
    "unmounted",
    "volume_options",
]

VOLUME = "swarm-data"
MOUNT = "/mnt/swarm-data"
BRICKS = "/data/bricks"
HOSTS_FILE = "/etc/workshop/gluster-hosts"
HOSTS_UNIT = "workshop-gluster-hosts.service"
HOSTS_MARK = "# workshop-gluster"
GLUSTER = ("gluster", "--mode=script")
PEER_TIMEOUT = 60.0
PING_TIMEOUT = "10"
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_HOSTS_UNIT_TEXT = f"""[Unit]
Description=Swarm Workshop: gluster-N names in /etc/hosts (Docker rewrites it at boot)
After=local-fs.target
Before=glusterd.service remote-fs-pre.target
Wants=remote-fs-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
# /etc/hosts may be a bind mount: rewrite it in place, never rename over it.
ExecStart=/bin/sh -c 'grep -v "{HOSTS_MARK}$" /etc/hosts > /run/workshop-hosts; \\
  cat {HOSTS_FILE} >> /run/workshop-hosts && cat /run/workshop-hosts > /etc/hosts'

[Install]
WantedBy=multi-user.target
"""


def gluster_names(lab: RemoteLab) -> dict[str, tuple[str, str]]:
    """Node -> (its gluster name, its lab address): node i is ``gluster-i``."""
    return {n.name: (f"gluster-{i}", n.address) for i, n in enumerate(lab.nodes, start=1)}


def _validate(lab: RemoteLab, volume: str, mount: str) -> None:
    # Lab addresses go into /etc/hosts and auth.allow as root: only IP addresses may.
    for node in lab.nodes:
        if not is_ip_address(node.address):
            raise UsageError(
                f"{node.name}'s lab address {node.address!r} is not an IP address; "
                "give each node an `address:` in the inventory"
            )
    if not _VOLUME_NAME.fullmatch(volume):
        raise UsageError(
            f"volume name {volume!r} is not valid: use letters, digits, '-' and '_' (up to 64)"
        )
    if not mount.startswith("/") or mount.rstrip("/") in ("", "/") or " " in mount:
        raise UsageError(f"mount point {mount!r} must be an absolute path without spaces, not /")


def _fstab_line(lab: RemoteLab, volume: str, mount: str) -> str:
    names = [name for name, _ in gluster_names(lab).values()]
    options = ["defaults", "_netdev", "x-systemd.requires=glusterd.service"]
    if len(names) > 1:
        options.append("backup-volfile-servers=" + ":".join(names))
    return f"localhost:/{volume} {mount} glusterfs {','.join(options)} 0 0"


def gluster_mounts(
    lab: RemoteLab, mount: str = MOUNT, on: str | Iterable[str] = "all"
) -> dict[str, str]:
    """Node -> what is mounted at ``mount`` there (``localhost:/swarm-data``; "" for nothing).

    Raises:
        NodeUnreachable: A node does not answer.
    """
    probe = shell_line(sh("findmnt", "-n", "-o", "SOURCE", mount), "||", "true")
    return check_nodes(lab, probe, on)


def unmounted(mounts: Mapping[str, str], volume: str = VOLUME) -> list[str]:
    """The nodes of ``mounts`` (node -> mount source) where the volume is not mounted."""
    return [node for node, source in mounts.items() if not source.endswith(f":/{volume}")]


def gluster_ok(lab: RemoteLab, volume: str = VOLUME, mount: str = MOUNT) -> bool:
    """Whether the volume is mounted on every running node."""
    running = [n.name for n in lab.nodes if n.running]
    return not unmounted(gluster_mounts(lab, mount, running), volume)


def _packages(lab: RemoteLab, rec: StepRecorder, nodes: list[str]) -> None:
    need = [
        n for n, missing in missing_packages(lab, ["glusterfs-server"], nodes).items() if missing
    ]
    if need:
        rec.say(f"installing glusterfs-server on {', '.join(need)}")
        apt_cache(lab, rec.progress)
        apt_install(lab, ["glusterfs-server"], need)
        rec.changed(need, "installed glusterfs-server")
    inactive = [
        n
        for n, state in check_nodes(
            lab, shell_line(sh("systemctl", "is-active", "glusterd"), "||", "true"), nodes
        ).items()
        if state != "active"
    ]
    if inactive:
        run_checked(lab, sh("systemctl", "enable", "--now", "glusterd"), inactive, timeout=60)
        rec.changed(inactive, "started glusterd")


def _hosts(lab: RemoteLab, rec: StepRecorder, nodes: list[str]) -> None:
    names = gluster_names(lab)
    entries = "".join(f"{address} {name} {HOSTS_MARK}\n" for name, address in names.values())
    probe = shell_line(
        sh("cat", HOSTS_FILE),
        "2>/dev/null",
        ";",
        sh("systemctl", "is-enabled", HOSTS_UNIT),
        "2>/dev/null",
        ";",
        sh("getent", "hosts", *(name for name, _ in names.values())),
    )
    wanted = {" ".join(line.split()) for line in entries.splitlines()} | {"enabled"}
    wanted |= {f"{address} {name}" for name, address in names.values()}
    stale = []
    for node, out in check_nodes(lab, probe, nodes).items():
        if not wanted <= {" ".join(line.split()) for line in out.splitlines()}:
            stale.append(node)
    if stale:
        write_file(lab, HOSTS_FILE, entries, on=stale)
        install_unit(lab, HOSTS_UNIT, _HOSTS_UNIT_TEXT, stale)
        rec.changed(stale, "gluster-N names in /etc/hosts (kept at boot)")


def gluster_pool(lab: RemoteLab, node: str) -> list[GlusterPeer]:
    """The trusted pool as ``node`` sees it (``gluster pool list --xml``).

    Raises:
        CommandFailed: gluster failed there (glusterd not running, say).
        GlusterError: Its answer was not gluster's XML.
    """
    out = run_checked(lab, sh(*GLUSTER, "pool", "list", "--xml"), [node]).stdout[node]
    return parse_pool_list(out)


def gluster_volume_info(lab: RemoteLab, node: str, volume: str) -> GlusterVolume | None:
    """The volume as ``gluster volume info VOLUME --xml`` on ``node`` describes it.

    Returns:
        The volume, or None when it does not exist.

    Raises:
        CommandFailed: gluster failed there (glusterd not running, say).
        GlusterError: Its answer was an error other than "does not exist", or not XML.
    """
    out = run_checked(lab, sh(*GLUSTER, "volume", "info", volume, "--xml"), [node]).stdout[node]
    return next((v for v in parse_volume_info(out) if v.name == volume), None)


def _connected(pool: list[GlusterPeer]) -> dict[str, bool]:
    return {peer.hostname: peer.connected for peer in pool}


def _peers(lab: RemoteLab, rec: StepRecorder, first: str) -> None:
    names = gluster_names(lab)
    own = names[first][0]
    others = [name for node, (name, _) in names.items() if node != first]
    pool = _connected(gluster_pool(lab, first))
    missing = [name for name in others if name not in pool]
    for name in missing:
        run_checked(lab, sh(*GLUSTER, "peer", "probe", name), [first], timeout=60)
    if missing:
        # Probe back once, so that the first node is known by its name too.
        back = next(node for node, (name, _) in names.items() if name == others[0])
        run_checked(lab, sh(*GLUSTER, "peer", "probe", own), [back], timeout=60)
        rec.changed(first, f"gluster peer probe {' '.join(missing)}")
    poll_until(
        lambda: _connected(gluster_pool(lab, first)),
        lambda pool: all(pool.get(name) for name in others),
        timeout=PEER_TIMEOUT,
        what="GlusterFS peers of " + first,
        describe=lambda pool: ", ".join(
            f"{name}: {'connected' if pool.get(name) else 'not connected'}" for name in others
        ),
    )


def brick_probe(volume: str) -> str:
    """A shell line printing the brick's volume-id attribute (if any), then its entries."""
    brick = f"{BRICKS}/{volume}/brick"
    return shell_line(
        sh("getfattr", "--absolute-names", "-e", "hex", "-n", VOLUME_ID_ATTR, brick),
        "2>/dev/null",
        ";",
        sh("echo", BRICK_LIST_MARK),
        ";",
        sh("ls", "-A", brick),
        "2>/dev/null",
        "||",
        "true",
    )


def _clear_stale_bricks(lab: RemoteLab, rec: StepRecorder, volume: str) -> None:
    """Make bricks left by an earlier, unfinished volume usable again; keep any files."""
    brick = f"{BRICKS}/{volume}/brick"
    for node, output in check_nodes(lab, brick_probe(volume)).items():
        stale = stale_brick(output)
        if stale is None:
            continue
        old_id, holds_files = stale
        if holds_files:
            kept = f"{brick}.old-{old_id[:8]}"
            run_checked(lab, sh("mv", "-T", brick, kept), [node])
            rec.changed(node, f"moved the brick of an earlier volume aside, to {kept}")
        else:
            run_checked(lab, sh("rm", "-rf", brick), [node])
            rec.changed(node, f"cleared the empty brick of an earlier volume ({brick})")


def _create_volume(lab: RemoteLab, rec: StepRecorder, first: str, volume: str) -> None:
    _clear_stale_bricks(lab, rec, volume)
    brick_dir = f"{BRICKS}/{volume}/brick"
    run_checked(lab, sh("mkdir", "-p", brick_dir))
    roots = check_nodes(lab, sh("findmnt", "-n", "-o", "TARGET", "--target", BRICKS))
    force = any(target == "/" for target in roots.values())
    bricks = [f"{name}:{brick_dir}" for name, _ in gluster_names(lab).values()]
    replica = ["replica", str(len(bricks))] if len(bricks) > 1 else []
    create = sh(*GLUSTER, "volume", "create", volume, *replica, *bricks, *(["force"] * force))
    run_checked(lab, create, [first], timeout=120)
    rec.changed(first, f"volume {volume}: {' '.join(replica) or 'single brick'}")


def volume_options(lab: RemoteLab) -> dict[str, str]:
    """The options the lab's volume must have (set before it starts)."""
    addresses = [address for _, address in gluster_names(lab).values()]
    return {
        "auth.allow": ",".join(["127.0.0.1", *addresses]),  # the lab's addresses only
        # Notice a powered-off peer in 10 s instead of 42: reads go on sooner.
        "network.ping-timeout": PING_TIMEOUT,
    }


def _volume(lab: RemoteLab, rec: StepRecorder, first: str, volume: str) -> None:
    """Create the volume if missing, set its options, then start it.

    ``auth.allow`` is in place before any client can mount. A volume created but
    never started (an interrupted run) goes on from there.
    """
    info = gluster_volume_info(lab, first, volume)
    if info is None:
        _create_volume(lab, rec, first, volume)
    current = info.options if info is not None else {}
    for option, wanted in volume_options(lab).items():
        if current.get(option) != wanted:
            run_checked(lab, sh(*GLUSTER, "volume", "set", volume, option, wanted), [first])
            rec.changed(first, f"{option} {wanted}")
    if info is None or not info.started:
        run_checked(lab, sh(*GLUSTER, "volume", "start", volume), [first], timeout=120)
        rec.changed(first, f"started volume {volume}")


def _mounts(lab: RemoteLab, rec: StepRecorder, nodes: list[str], volume: str, mount: str) -> None:
    line = _fstab_line(lab, volume, mount)
    probe = shell_line(
        sh("grep", "-qxF", line, "/etc/fstab"),
        "&&",
        sh("findmnt", "-n", "-o", "SOURCE", mount),
        "||",
        "true",
    )
    stale = unmounted(check_nodes(lab, probe, nodes), volume)
    if not stale:
        return
    mount_field = re.escape(mount)
    update = shell_line(
        sh("mkdir", "-p", mount),
        "&&",
        "{",
        sh(
            "grep", "-v", "-E", f"^[^#[:space:]]+[[:space:]]+{mount_field}[[:space:]]", "/etc/fstab"
        ),
        ";",
        sh("echo", line),
        ";",
        "}",
        ">",
        "/run/workshop-fstab",
        "&&",
        sh("cp", "/run/workshop-fstab", "/etc/fstab"),
        "&&",
        sh("systemctl", "daemon-reload"),
        "&&",
        "{",
        sh("mountpoint", "-q", mount),
        "||",
        sh("mount", mount),
        ";",
        "}",
    )
    run_checked(lab, update, stale, timeout=120)
    rec.changed(stale, f"mounted {volume} at {mount} (fstab, _netdev)")


def gluster_volume(
    lab: RemoteLab,
    *,
    volume: str = VOLUME,
    mount: str = MOUNT,
    progress: Progress = quiet,
) -> StepResult:
    """Build and mount a GlusterFS volume replicated on every node.

    The real commands: ``apt-get install glusterfs-server``, ``gluster peer probe
    gluster-2``, ``gluster volume create swarm-data replica 3 gluster-1:/data/bricks/
    swarm-data/brick ...``, ``gluster volume set swarm-data auth.allow <addresses>``,
    ``gluster volume start swarm-data``, and ``mount /mnt/swarm-data`` (from fstab).

    An earlier run that stopped half-way is taken up again: a volume created but
    not started gets its options and starts; a brick left with the id of a volume
    that no longer exists is cleared (moved aside if it holds files) before the
    volume is created.

    Args:
        lab: The lab (every node must be running).
        volume: The volume's name.
        mount: Where every node mounts it.
        progress: Called with a line of text now and then.

    Raises:
        UsageError: A bad volume name or mount point, or a node whose lab address is
            not an IP address (nothing is changed).
        NotReady: A node is not running (nothing is changed).
        NotConverged: The peers did not connect.
    """
    _validate(lab, volume, mount)
    stopped = [n.name for n in lab.nodes if not n.running]
    if stopped:
        raise NotReady(
            f"every node must be running to build the volume; {', '.join(stopped)} is not: "
            "lab.require('nodes') starts it"
        )
    rec = StepRecorder("gluster_volume", progress)
    nodes = lab.names
    first = nodes[0]
    _packages(lab, rec, nodes)
    _hosts(lab, rec, nodes)
    _peers(lab, rec, first)
    _volume(lab, rec, first, volume)
    _mounts(lab, rec, nodes, volume, mount)
    rec.unchanged(nodes, f"{volume} already mounted at {mount}")
    return rec.result()
