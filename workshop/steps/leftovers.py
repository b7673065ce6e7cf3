"""What of the kit a node still has: files, units, tables, mounts, bricks, images.

One read-only shell line per node (:func:`survey_probe`) prints a word per thing
found; :func:`parse_leftovers` reads it. :func:`workshop.steps.teardown.teardown`
removes what the survey finds, so a node where it finds nothing is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workshop.remote import RemoteLab
from workshop.steps.apt import PROXY_FILE
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes
from workshop.steps.firewall import UNIT_FILE
from workshop.steps.gluster import BRICKS, GLUSTER, HOSTS_MARK, HOSTS_UNIT, MOUNT, VOLUME
from workshop.steps.stack import STATE_DIR

__all__ = [
    "GWBRIDGE",
    "KIT_FILES",
    "NodeLeftovers",
    "fstab_pattern",
    "parse_leftovers",
    "survey",
    "survey_probe",
]

#: Files and folders the kit writes on a node (gone after a teardown).
KIT_FILES = (
    UNIT_FILE,
    f"/etc/systemd/system/{HOSTS_UNIT}",
    "/etc/workshop",
    STATE_DIR.rsplit("/", 1)[0],
    PROXY_FILE,
)
#: Containers that belong to a swarm service (a task's container).
TASK_LABEL = "com.docker.swarm.service.id"
IMAGE_LABEL = "workshop.image"
GWBRIDGE = "docker_gwbridge"
_TABLE = re.compile(r"^table inet (workshop_[a-z_]+)$")


@dataclass(frozen=True)
class NodeLeftovers:
    """What of the kit one node still has (besides the swarm, read on its own).

    Attributes:
        files: Kit files and folders present (of :data:`KIT_FILES`).
        tables: The kit's nftables tables loaded (``workshop_firewall``...).
        hosts_names: Whether ``/etc/hosts`` has the ``gluster-N`` lines.
        mounted: What is mounted at the volume's mount point ("" for nothing).
        fstab: Whether ``/etc/fstab`` has a line for the mount point.
        bricks: Whether the volume's brick folder is there.
        glusterd: Whether glusterd runs (it can answer for the volume).
        volume: Whether glusterd knows the volume.
        gwbridge: Whether the swarm's ``docker_gwbridge`` network is there.
        tasks: Containers of swarm services (IDs).
        images: Images the kit loaded (IDs).
    """

    files: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    hosts_names: bool = False
    mounted: str = ""
    fstab: bool = False
    bricks: bool = False
    glusterd: bool = False
    volume: bool = False
    gwbridge: bool = False
    tasks: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


def fstab_pattern(mount: str) -> str:
    """An extended regex matching the /etc/fstab line of anything mounted at ``mount``."""
    return f"^[^#[:space:]]+[[:space:]]+{re.escape(mount)}[[:space:]]"


def survey_probe(volume: str = VOLUME, mount: str = MOUNT) -> str:
    """One read-only shell line that prints, one per line, what of the kit a node has."""
    parts: list[str] = []
    for path in KIT_FILES:
        parts += [sh("test", "-e", path), "&&", sh("echo", "file", path), ";"]
    checks = (
        (sh("grep", "-q", f"{HOSTS_MARK}$", "/etc/hosts"), "hosts"),
        (sh("grep", "-qE", fstab_pattern(mount), "/etc/fstab"), "fstab"),
        (sh("test", "-e", f"{BRICKS}/{volume}"), "bricks"),
        (sh("systemctl", "is-active", "-q", "glusterd"), "glusterd"),
        (
            shell_line(
                sh(*GLUSTER, "volume", "list"), "2>/dev/null", "|", sh("grep", "-qx", volume)
            ),
            "volume",
        ),
        (
            shell_line(sh("docker", "network", "inspect", GWBRIDGE), ">/dev/null", "2>&1"),
            "gwbridge",
        ),
    )
    for test, word in checks:
        parts += [test, "&&", sh("echo", word), ";"]
    parts += [
        sh("findmnt", "-n", "-o", "SOURCE", mount), "|", sh("sed", "s/^/mounted /"), ";",
        sh("nft", "list", "tables"), "2>/dev/null", ";",
        sh("docker", "ps", "-aq", "--filter", f"label={TASK_LABEL}"), "2>/dev/null", "|",
        sh("sed", "s/^/task /"), ";",
        sh("docker", "image", "ls", "-q", "--filter", f"label={IMAGE_LABEL}"), "2>/dev/null", "|",
        sh("sort", "-u"), "|", sh("sed", "s/^/image /"), ";",
        "true",
    ]  # fmt: skip
    return shell_line(*parts)


def parse_leftovers(text: str) -> NodeLeftovers:
    """Read what :func:`survey_probe` printed on one node."""
    words: dict[str, list[str]] = {}
    tables = []
    for line in text.splitlines():
        line = line.strip()
        if match := _TABLE.match(line):
            tables.append(match.group(1))
            continue
        key, _, value = line.partition(" ")
        words.setdefault(key, []).append(value)
    return NodeLeftovers(
        files=tuple(words.get("file", [])),
        tables=tuple(tables),
        hosts_names="hosts" in words,
        mounted=" ".join(words.get("mounted", [])),
        fstab="fstab" in words,
        bricks="bricks" in words,
        glusterd="glusterd" in words,
        volume="volume" in words,
        gwbridge="gwbridge" in words,
        tasks=tuple(words.get("task", [])),
        images=tuple(words.get("image", [])),
    )


def survey(lab: RemoteLab, volume: str = VOLUME, mount: str = MOUNT) -> dict[str, NodeLeftovers]:
    """Node -> what of the kit it still has.

    Raises:
        NodeUnreachable: A node does not answer.
    """
    answers = check_nodes(lab, survey_probe(volume, mount))
    return {node: parse_leftovers(text) for node, text in answers.items()}
