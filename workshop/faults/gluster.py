"""GlusterFS as the faults read it: ``gluster ... --xml`` parsed with ElementTree.

``gluster --xml`` exits 0 even when the operation failed; the reply's ``opRet`` and
``opErrstr`` say so, and :func:`reply` turns them into :class:`GlusterReplyError`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from workshop.errors import NotReady, WorkshopError
from workshop.remote import RemoteLab
from workshop.steps.shell import sh

__all__ = [
    "GLUSTER",
    "Brick",
    "GlusterReplyError",
    "HealCount",
    "own_uuid",
    "parse_heal_info",
    "parse_volume_list",
    "parse_volume_status",
    "reply",
    "run_xml",
]

#: The CLI, never asking questions.
GLUSTER = ("gluster", "--mode=script")
#: Seconds for one gluster command (heal info waits for bricks that do not answer).
GLUSTER_TIMEOUT = 60.0


class GlusterReplyError(WorkshopError):
    """``gluster --xml`` answered that the operation failed (or not in XML).

    Attributes:
        op_errstr: What gluster said (``Volume nosuch does not exist``).
    """

    def __init__(self, message: str, op_errstr: str = "") -> None:
        self.op_errstr = op_errstr
        super().__init__(message)

    def _init_args(self) -> tuple[object, ...]:
        return (self.message, self.op_errstr)


@dataclass(frozen=True)
class Brick:
    """One brick of a volume as ``gluster volume status --xml`` lists it.

    Attributes:
        volume: The volume's name.
        host: The host name the brick was created with (``gluster-3``).
        path: The brick's directory on that host.
        peer_id: The UUID of the peer that holds it.
        online: Whether its process runs (``Online Y``).
        pid: Its process id, ``None`` when it does not run.
    """

    volume: str
    host: str
    path: str
    peer_id: str
    online: bool
    pid: int | None

    @property
    def name(self) -> str:
        """``host:path``, as gluster names bricks."""
        return f"{self.host}:{self.path}"


@dataclass(frozen=True)
class HealCount:
    """What ``gluster volume heal VOL info --xml`` says of one brick.

    Attributes:
        brick: ``host:path``.
        connected: Whether the heal daemon reached the brick.
        entries: Entries waiting to be healed (``None`` when not connected).
    """

    brick: str
    connected: bool
    entries: int | None


def reply(text: str, what: str) -> ET.Element:
    """The root of a ``gluster --xml`` reply, checked for success.

    Args:
        text: The command's standard output.
        what: The command, for the message.

    Raises:
        GlusterReplyError: The reply is not XML, or says the operation failed.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise GlusterReplyError(
            f"`{what}` did not answer in XML ({exc}): is glusterd running "
            "(`systemctl status glusterd`)?"
        ) from exc
    if root.findtext("opRet", "0").strip() != "0":
        errstr = root.findtext("opErrstr", "").strip()
        raise GlusterReplyError(f"`{what}` failed: {errstr or 'no reason given'}", errstr)
    return root


def run_xml(lab: RemoteLab, name: str, args: list[str]) -> ET.Element:
    """Run ``gluster --mode=script ARGS --xml`` on a node; the checked reply's root.

    Raises:
        NotReady: GlusterFS is not installed on the node.
        NodeUnreachable: The node does not answer.
        CommandFailed: The command failed.
        GlusterReplyError: Gluster answered that the operation failed.
    """
    command = sh(*GLUSTER, *args, "--xml")
    result = lab.run(command, on=name, sudo=True, timeout=GLUSTER_TIMEOUT)[0]
    if result.rc == 127:
        raise NotReady(
            f"GlusterFS is not installed on {name}: lab.require('gluster') builds the volume."
        )
    result.raise_for_failure()
    return reply(result.stdout, sh("gluster", *args))


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


def parse_volume_status(root: ET.Element) -> list[Brick]:
    """Bricks of every volume in a ``volume status --xml`` reply (daemons left out).

    The self-heal daemon and the other daemons are listed as ``<node>`` too, with a
    host name instead of a path: only entries whose path is absolute are bricks.
    """
    bricks = []
    for volume in root.iter("volume"):
        name = volume.findtext("volName", "")
        for node in volume.findall("node"):
            path = node.findtext("path", "")
            if not path.startswith("/"):
                continue
            online = node.findtext("status", "0").strip() == "1"
            pid = _int(node.findtext("pid"))
            bricks.append(
                Brick(
                    volume=name,
                    host=node.findtext("hostname", ""),
                    path=path,
                    peer_id=node.findtext("peerid", ""),
                    online=online,
                    pid=pid if online and pid and pid > 0 else None,
                )
            )
    return bricks


def own_uuid(root: ET.Element) -> str:
    """The answering peer's own UUID, from a ``pool list --xml`` reply (``localhost``).

    Raises:
        GlusterReplyError: The reply lists no ``localhost`` entry.
    """
    for peer in root.iter("peer"):
        if peer.findtext("hostname", "") == "localhost":
            return peer.findtext("uuid", "")
    raise GlusterReplyError("`gluster pool list` did not list this peer (localhost)")


def parse_volume_list(root: ET.Element) -> list[str]:
    """Volume names from a ``volume list --xml`` reply."""
    return [v.text or "" for v in root.iter("volume")]


def parse_heal_info(root: ET.Element) -> list[HealCount]:
    """Per brick, entries waiting for heal, from a ``volume heal VOL info --xml`` reply."""
    return [
        HealCount(
            brick=brick.findtext("name", ""),
            connected=brick.findtext("status", "") == "Connected",
            entries=_int(brick.findtext("numberOfEntries")),
        )
        for brick in root.iter("brick")
    ]
