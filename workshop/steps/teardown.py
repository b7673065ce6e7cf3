"""Take off the hosts what the kit put there, and leave the machines running.

``workshop down`` on an inventory of real hosts runs :func:`teardown`. In order:

1. every stack and service of the swarm is removed (``docker stack rm``,
   ``docker service rm``) and the kit waits until their containers are gone;
2. every node leaves the swarm: workers first, then managers one at a time, with
   ``--force`` (:func:`~workshop.steps.swarm.swarm_reset`); ``docker_gwbridge``,
   which the swarm made, goes too;
3. the GlusterFS volume is unmounted on every node and its ``/etc/fstab`` line
   removed, then stopped and deleted; the peers are detached, the bricks removed,
   and the ``gluster-N`` names taken out of ``/etc/hosts`` with their unit;
4. the kit's nftables tables (``inet workshop_*``) are deleted and the firewall
   unit removed;
5. the kit's files (``/etc/workshop``, ``/var/lib/workshop``, the apt proxy line)
   and the images it loaded (labelled ``workshop.image``) are removed.

Docker, GlusterFS and nftables stay installed: the kit cannot tell whether a host
had them before, and removing packages is the host owner's call. Every part reads
the hosts first and changes only what is there, so a second run changes nothing.
"""

from __future__ import annotations

import re

from workshop.errors import CommandFailed, NotReady, UsageError
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, run_checked
from workshop.steps.firewall import UNIT
from workshop.steps.gluster import BRICKS, GLUSTER, HOSTS_MARK, HOSTS_UNIT, MOUNT, VOLUME
from workshop.steps.gluster_parse import parse_pool_list
from workshop.steps.leftovers import GWBRIDGE, NodeLeftovers, fstab_pattern, survey
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult
from workshop.steps.swarm import swarm_members, swarm_reset

__all__ = ["teardown"]

REACH_TIMEOUT = 15.0
SERVICES_TIMEOUT = 120.0
GLUSTER_TIMEOUT = 120.0
#: Seconds between looks while the removed services' containers stop.
POLL = 1.0
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _done(rec: StepRecorder, nodes: str | list[str], detail: str) -> None:
    """Record a removal on nodes, and say it as it happens (one line per action)."""
    rec.say(f"{nodes if isinstance(nodes, str) else ', '.join(nodes)}: {detail}")
    rec.changed(nodes, detail)


# --- 0: every host answers, or nothing is touched ------------------------------------
def _every_node_answers(lab: RemoteLab) -> None:
    results = lab.run("true", timeout=REACH_TIMEOUT)
    silent = [r for r in results if r.rc is None]
    if silent:
        names = ", ".join(r.node for r in silent)
        first = silent[0]
        raise NotReady(
            f"{names} did not answer over SSH ({first.error or 'no answer'}); nothing was "
            f"removed. {lab.source.start_advice(first.node).capitalize()}, then run "
            "`workshop down` again (or take the host out of the inventory to tear down "
            "the others)."
        )


# --- 1 and 2: services, then the swarm -----------------------------------------------
def _remove_services(lab: RemoteLab, rec: StepRecorder) -> None:
    """Remove every stack and service through a manager; wait until their tasks are gone."""
    managers = [name for name, m in swarm_members(lab).items() if m.is_manager]
    if not managers:
        return
    manager = managers[0]
    try:
        listed = run_checked(
            lab,
            shell_line(
                sh("docker", "stack", "ls", "--format", "{{.Name}}"),
                "&&",
                sh("echo", "--"),
                "&&",
                sh("docker", "service", "ls", "--format", "{{.Name}}"),
            ),
            [manager],
        ).stdout[manager]
    except CommandFailed as exc:
        # No leader (quorum lost): the services go when the nodes leave the swarm.
        rec.note(f"the swarm did not list its services ({exc.stderr.strip()}); they go with it")
        return
    stacks_text, _, services_text = listed.partition("--")
    stacks, services = stacks_text.split(), services_text.split()
    if stacks:
        rec.say(f"docker stack rm {' '.join(stacks)}")
        run_checked(lab, sh("docker", "stack", "rm", *stacks), [manager], timeout=60)
        _done(rec, manager, f"removed stacks {', '.join(stacks)}")
    lone = [s for s in services if not any(s.startswith(f"{stack}_") for stack in stacks)]
    if lone:
        rec.say(f"docker service rm {' '.join(lone)}")
        run_checked(lab, sh("docker", "service", "rm", *lone), [manager], timeout=60)
        _done(rec, manager, f"removed services {', '.join(lone)}")
    if stacks or lone:
        poll_until(
            lambda: {n: left.tasks for n, left in survey(lab).items() if left.tasks},
            lambda left: not left,
            timeout=SERVICES_TIMEOUT,
            interval=POLL,
            what="the containers of the removed services to stop",
            describe=lambda left: ", ".join(f"{n}: {len(ids)}" for n, ids in left.items()),
        )


def _leave_swarm(lab: RemoteLab, rec: StepRecorder) -> None:
    """Every node leaves (workers first); then the swarm's leftovers on each node go."""
    rec.say("docker swarm leave --force: workers first, then managers one at a time")
    for change in swarm_reset(lab, progress=rec.progress).nodes:
        if change.changed:
            _done(rec, change.node, change.detail)
    left = survey(lab)
    tasks = {n: ids for n, here in left.items() if (ids := here.tasks)}
    for node, ids in tasks.items():
        run_checked(lab, sh("docker", "rm", "--force", *ids), [node], timeout=60)
        _done(rec, node, f"removed {len(ids)} stopped task container(s)")
    bridges = [n for n, here in left.items() if here.gwbridge]
    if bridges:
        run_checked(lab, sh("docker", "network", "rm", GWBRIDGE), bridges, timeout=60)
        _done(rec, bridges, f"removed network {GWBRIDGE}")


def _drop_lines(path: str, *grep: str) -> str:
    """A shell line removing the lines of ``path`` that ``grep *grep`` matches.

    The file is rewritten in place, never renamed over: /etc/hosts may be a bind mount.
    """
    kept = f"/run/workshop-{path.rsplit('/', 1)[-1]}"
    return shell_line(
        # grep says 1 when it keeps no line (fine), 2 when it cannot read the file.
        "{", sh("grep", "-v", *grep, path), ";", "[", "$?", "-le", "1", "]", ";", "}", ">", kept,
        "&&", sh("cp", kept, path), "&&", sh("rm", "-f", kept),
    )  # fmt: skip


# --- 3: the GlusterFS volume ---------------------------------------------------------
def _unmount(lab: RemoteLab, rec: StepRecorder, nodes: list[str], mount: str) -> None:
    """Unmount the volume and drop its fstab line (so no boot mounts it again)."""
    command = shell_line(
        "{",
        "!",
        sh("mountpoint", "-q", mount),
        "||",
        sh("umount", mount),
        ";",
        "}",
        "&&",
        _drop_lines("/etc/fstab", "-E", fstab_pattern(mount)),
        "&&",
        sh("systemctl", "daemon-reload"),
        "&&",
        sh("rmdir", "--ignore-fail-on-non-empty", mount),
    )
    run_checked(lab, command, nodes, timeout=60)
    _done(rec, nodes, f"unmounted {mount}, its /etc/fstab line removed")


def _delete_volume(lab: RemoteLab, rec: StepRecorder, node: str, volume: str) -> None:
    """Stop and delete the volume, then detach the peers if no other volume needs them."""
    rec.say(f"gluster volume stop {volume}; gluster volume delete {volume}")
    stop = shell_line(
        "{",
        "!",
        sh(*GLUSTER, "volume", "info", volume),
        "|",
        sh("grep", "-q", "^Status: Started"),
        "||",
        sh(*GLUSTER, "volume", "stop", volume),
        ";",
        "}",
        "&&",
        sh(*GLUSTER, "volume", "delete", volume),
    )
    run_checked(lab, stop, [node], timeout=GLUSTER_TIMEOUT)
    _done(rec, node, f"stopped and deleted volume {volume}")
    others = check_nodes(lab, shell_line(sh(*GLUSTER, "volume", "list"), "||", "true"), [node])
    if others[node].strip() and "No volumes present" not in others[node]:
        rec.note(f"GlusterFS peers kept: other volumes remain ({' '.join(others[node].split())})")
        return
    _detach_peers(lab, rec, node)


def _detach_peers(lab: RemoteLab, rec: StepRecorder, node: str) -> None:
    pool = check_nodes(lab, shell_line(sh(*GLUSTER, "pool", "list", "--xml")), [node])[node]
    peers = [peer.hostname for peer in parse_pool_list(pool) if not peer.is_self]
    for peer in peers:
        run_checked(lab, sh(*GLUSTER, "peer", "detach", peer), [node], timeout=60)
    if peers:
        _done(rec, node, f"detached GlusterFS peers {', '.join(peers)}")


def _remove_gluster(
    lab: RemoteLab, rec: StepRecorder, left: dict[str, NodeLeftovers], volume: str, mount: str
) -> None:
    mounted = [n for n, here in left.items() if here.mounted or here.fstab]
    if mounted:
        _unmount(lab, rec, mounted, mount)
    holders = [n for n, here in left.items() if here.volume and here.glusterd]
    if holders:
        _delete_volume(lab, rec, holders[0], volume)
    bricks = [n for n, here in left.items() if here.bricks]
    if bricks:
        remove = shell_line(
            sh("rm", "-rf", f"{BRICKS}/{volume}"),
            "&&",
            "{",
            sh("mountpoint", "-q", BRICKS),
            "||",
            sh("rmdir", "--ignore-fail-on-non-empty", BRICKS),
            ";",
            "}",
        )
        run_checked(lab, remove, bricks, timeout=GLUSTER_TIMEOUT)
        _done(rec, bricks, f"removed the brick {BRICKS}/{volume}")
    named = [n for n, here in left.items() if here.hosts_names]
    if named:
        unnamed = _drop_lines("/etc/hosts", f"{HOSTS_MARK}$")
        run_checked(lab, unnamed, named)
        _done(rec, named, "gluster-N names taken out of /etc/hosts")


# --- 4 and 5: firewall, files, images ------------------------------------------------
def _remove_units_and_files(
    lab: RemoteLab, rec: StepRecorder, left: dict[str, NodeLeftovers]
) -> None:
    """Stop and remove the kit's units and files, then any kit table still loaded."""
    for node, here in left.items():
        if here.files:
            units = [u for u in (UNIT, HOSTS_UNIT) if f"/etc/systemd/system/{u}" in here.files]
            command = shell_line(
                # Stopping the firewall unit deletes its table (its ExecStop).
                *((sh("systemctl", "disable", "--now", *units), "&&") if units else ()),
                sh("rm", "-rf", *here.files),
                "&&",
                sh("systemctl", "daemon-reload"),
            )
            run_checked(lab, command, [node], timeout=60)
            _done(rec, node, f"removed {', '.join(here.files)}")
        if here.tables:
            parts: list[str] = []
            for table in here.tables:
                listed = sh("nft", "list", "table", "inet", table)
                delete = sh("nft", "delete", "table", "inet", table)
                parts += ["{", "!", listed, ">/dev/null", "2>&1", "||", delete, ";", "}", "&&"]
            run_checked(lab, shell_line(*parts, "true"), [node])
            _done(rec, node, f"deleted nftables table(s) {', '.join(here.tables)}")


def _remove_images(lab: RemoteLab, rec: StepRecorder, left: dict[str, NodeLeftovers]) -> None:
    for node, here in left.items():
        if here.images:
            run_checked(lab, _image_rm_line(here.images), [node], timeout=120)
            _done(rec, node, f"removed {len(here.images)} image(s) the kit loaded")


def _image_rm_line(images: tuple[str, ...]) -> str:
    """``docker image rm --force`` of ``images``, children before their parents.

    An image built on a lab image (chapter 06's ``greeting``) carries the lab image's
    label too, and the lab image cannot go while it is there ("image has dependent
    child images"). Each pass removes what it can; a last ``rm`` of what is left
    reports why.
    """
    ids = " ".join(sh(image) for image in images)
    return (
        f"left='{ids}'; for pass in 1 2 3 4 5; do again=''; for id in $left; do "
        'docker image inspect "$id" >/dev/null 2>&1 || continue; '
        'docker image rm --force "$id" >/dev/null 2>&1 || again="$again $id"; done; '
        'left=$again; [ -z "$left" ] && break; done; '
        '[ -z "$left" ] || docker image rm --force $left'
    )


def teardown(
    lab: RemoteLab, *, volume: str = VOLUME, mount: str = MOUNT, progress: Progress = quiet
) -> StepResult:
    """Take off every node what the kit put there; the machines keep running.

    The real commands, on a manager: ``docker stack rm STACK...``; on every node,
    workers first: ``docker swarm leave --force``; then ``umount /mnt/swarm-data``,
    ``gluster volume stop swarm-data``, ``gluster volume delete swarm-data``,
    ``gluster peer detach gluster-2``, ``nft delete table inet workshop_firewall``.

    Args:
        lab: The lab (every node must answer).
        volume: The GlusterFS volume the kit made.
        mount: Where the nodes mount it.
        progress: Called with a line of text now and then.

    Returns:
        Per node: what was removed, or that nothing of the kit was left.

    Raises:
        UsageError: A bad volume name or mount point (nothing is changed).
        NotReady: A node does not answer (nothing is changed).
        CommandFailed: A removal failed on a node (its output is in the error).
    """
    if not _VOLUME_NAME.fullmatch(volume) or not mount.startswith("/") or mount == "/":
        raise UsageError(f"volume {volume!r} at {mount!r}: give a volume name and a mount point")
    _every_node_answers(lab)
    rec = StepRecorder("teardown", progress)
    _remove_services(lab, rec)
    _leave_swarm(lab, rec)
    left = survey(lab, volume, mount)
    _remove_gluster(lab, rec, left, volume, mount)
    # The firewall goes after GlusterFS: its ports stay closed to others until then.
    _remove_units_and_files(lab, rec, left)
    _remove_images(lab, rec, left)
    rec.unchanged(lab.names, "nothing of the kit left")
    return rec.result()
