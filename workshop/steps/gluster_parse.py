"""GlusterFS state, read from ``gluster ... --xml`` into small typed models.

The one parser of gluster output in the kit: ``pool list`` / ``peer status``,
``volume info``, ``volume status`` and ``volume heal <volume> info``, each with
``--xml``. Every answer is a ``<cliOutput>`` document; an ``opRet`` other than 0
is the command's own error (``opErrstr`` says which). Output that is not XML at
all means glusterd did not answer ("Connection failed...").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from workshop.errors import WorkshopError

__all__ = [
    "BRICK_LIST_MARK",
    "VOLUME_ID_ATTR",
    "BrickProcess",
    "GlusterBrick",
    "GlusterError",
    "GlusterPeer",
    "GlusterVolume",
    "HealBrick",
    "parse_heal_info",
    "parse_pool_list",
    "parse_volume_info",
    "parse_volume_status",
    "stale_brick",
]

#: The attribute ``volume create`` sets on each brick directory.
VOLUME_ID_ATTR = "trusted.glusterfs.volume-id"
#: The line between a brick's attributes and its entries in the step's brick probe.
BRICK_LIST_MARK = "--- entries"


class GlusterError(WorkshopError):
    """gluster answered with an error, or not with its XML (glusterd is down)."""


@dataclass(frozen=True)
class GlusterPeer:
    """A member of the trusted pool, as one node sees it.

    Attributes:
        uuid: The peer's UUID.
        hostname: The name it was probed by (``localhost`` for the node asked).
        connected: Whether the node asked is connected to it.
        state: ``Peer in Cluster`` and the like (empty for ``localhost``).
    """

    uuid: str
    hostname: str
    connected: bool
    state: str = ""

    @property
    def is_self(self) -> bool:
        """Whether this is the node that answered (``pool list`` lists it as localhost)."""
        return self.hostname == "localhost"


@dataclass(frozen=True)
class GlusterBrick:
    """One brick of a volume: ``host:path``."""

    name: str
    host_uuid: str = ""
    arbiter: bool = False

    @property
    def host(self) -> str:
        """The brick's host, e.g. ``gluster-1``."""
        return self.name.partition(":")[0]

    @property
    def path(self) -> str:
        """The brick's directory on its host."""
        return self.name.partition(":")[2]


@dataclass(frozen=True)
class GlusterVolume:
    """A volume, as ``gluster volume info`` describes it.

    Attributes:
        name: The volume's name.
        status: ``Created``, ``Started`` or ``Stopped``.
        type: ``Replicate``, ``Distribute``...
        replica_count: Copies of each file.
        bricks: The bricks, in order.
        options: Options set on the volume (``Options Reconfigured``).
    """

    name: str
    status: str
    type: str
    replica_count: int
    bricks: tuple[GlusterBrick, ...]
    options: dict[str, str] = field(default_factory=dict)

    @property
    def started(self) -> bool:
        """Whether clients can mount it."""
        return self.status == "Started"


@dataclass(frozen=True)
class BrickProcess:
    """A process serving a volume, from ``gluster volume status``.

    Attributes:
        host: The brick's host (``gluster-1``), or ``Self-heal Daemon``.
        path: The brick's directory (for a daemon: the node it runs on).
        online: Whether the process runs.
        port: Its TCP port, ``None`` when it has none (``N/A``).
        pid: Its process id, ``None`` when it does not run.
    """

    host: str
    path: str
    online: bool
    port: int | None
    pid: int | None

    @property
    def is_brick(self) -> bool:
        """Whether this is a brick (not a self-heal or other daemon)."""
        return self.path.startswith("/")


@dataclass(frozen=True)
class HealBrick:
    """A brick in ``gluster volume heal <volume> info``.

    Attributes:
        name: ``host:path`` of the brick.
        status: ``Connected``, or why the brick cannot be asked.
        entries: Files waiting to be healed; ``None`` when the brick cannot tell.
        files: The paths of those files, when listed.
    """

    name: str
    status: str
    entries: int | None
    files: tuple[str, ...] = ()

    @property
    def connected(self) -> bool:
        """Whether the brick answered."""
        return self.status == "Connected"


def _document(text: str, command: str) -> ET.Element:
    """The ``<cliOutput>`` root, once its ``opRet`` says the command worked."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        said = text.strip().splitlines()[0] if text.strip() else "nothing"
        raise GlusterError(
            f"`gluster {command} --xml` did not answer with XML ({said}); "
            "is glusterd running? `systemctl status glusterd` on the node tells"
        ) from exc
    ret = _text(root, "opRet")
    if ret not in ("", "0"):
        reason = _text(root, "opErrstr") or f"opRet {ret}"
        raise GlusterError(f"`gluster {command} --xml` failed: {reason}")
    return root


def _text(element: ET.Element, path: str) -> str:
    """The stripped text at ``path`` under ``element`` ("" when absent)."""
    return (element.findtext(path) or "").strip()


def _flag(element: ET.Element, path: str) -> bool:
    """Whether the number at ``path`` is 1 (gluster's true)."""
    return _text(element, path) == "1"


def _int(element: ET.Element, path: str) -> int | None:
    """The number at ``path``; None for ``N/A``, ``-`` or nothing."""
    value = _text(element, path)
    return int(value) if value.lstrip("-").isdigit() else None


def parse_pool_list(text: str) -> list[GlusterPeer]:
    """Peers from ``gluster pool list --xml`` (or ``peer status --xml``, without self).

    Raises:
        GlusterError: gluster failed or did not answer with XML.
    """
    root = _document(text, "pool list")
    return [
        GlusterPeer(
            uuid=_text(peer, "uuid"),
            hostname=_text(peer, "hostname"),
            connected=_flag(peer, "connected"),
            state=_text(peer, "stateStr"),
        )
        for peer in root.iterfind("peerStatus/peer")
    ]


def _volume(element: ET.Element) -> GlusterVolume:
    bricks = tuple(
        GlusterBrick(
            name=_text(brick, "name") or (brick.text or "").strip(),
            host_uuid=_text(brick, "hostUuid"),
            arbiter=_flag(brick, "isArbiter"),
        )
        for brick in element.iterfind("bricks/brick")
    )
    options = {
        _text(option, "name"): _text(option, "value")
        for option in element.iterfind("options/option")
    }
    return GlusterVolume(
        name=_text(element, "name"),
        status=_text(element, "statusStr"),
        type=_text(element, "typeStr"),
        replica_count=_int(element, "replicaCount") or 1,
        bricks=bricks,
        options=options,
    )


def parse_volume_info(text: str) -> list[GlusterVolume]:
    """Volumes from ``gluster volume info [VOLUME] --xml``.

    A volume asked for by name that does not exist is an empty list, not an error.

    Raises:
        GlusterError: gluster failed otherwise, or did not answer with XML.
    """
    try:
        root = _document(text, "volume info")
    except GlusterError as exc:
        if "does not exist" in exc.message:
            return []
        raise
    return [_volume(v) for v in root.iterfind("volInfo/volumes/volume")]


def parse_volume_status(text: str) -> list[BrickProcess]:
    """Bricks and daemons of a volume from ``gluster volume status VOLUME --xml``.

    Raises:
        GlusterError: gluster failed (a volume not started, say) or did not answer.
    """
    root = _document(text, "volume status")
    return [
        BrickProcess(
            host=_text(node, "hostname"),
            path=_text(node, "path"),
            online=_flag(node, "status"),
            port=_int(node, "port"),
            pid=_int(node, "pid"),
        )
        for node in root.iterfind("volStatus/volumes/volume/node")
    ]


def parse_heal_info(text: str) -> list[HealBrick]:
    """Bricks and their pending heals from ``gluster volume heal VOLUME info --xml``.

    Raises:
        GlusterError: gluster failed or did not answer with XML.
    """
    root = _document(text, "volume heal info")
    return [
        HealBrick(
            name=_text(brick, "name"),
            status=_text(brick, "status"),
            entries=_int(brick, "numberOfEntries"),
            files=tuple((f.text or "").strip() for f in brick.iterfind("file")),
        )
        for brick in root.iterfind("healInfo/bricks/brick")
    ]


def stale_brick(probe_output: str) -> tuple[str, bool] | None:
    """What the gluster step's brick probe found: (old volume id, holds files), or None.

    A brick directory that carries a volume's id while no volume of that name
    exists was left by an earlier ``volume create`` (interrupted, or of a volume
    deleted since); gluster refuses it ("is already part of a volume").
    """
    attributes, _, listing = probe_output.partition(BRICK_LIST_MARK)
    match = re.search(rf"^{re.escape(VOLUME_ID_ATTR)}=0x([0-9a-f]+)$", attributes, re.MULTILINE)
    if match is None:
        return None
    entries = [e for e in listing.split() if not e.startswith(".glusterfs")]
    return match.group(1), bool(entries)
