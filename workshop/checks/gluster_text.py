"""What the checks read from GlusterFS's human-readable output, one parser per question.

Every scrape of gluster text is here, so that all of it can be replaced by parsers
of ``gluster ... --xml`` in one place. Each parser takes what one command printed
(recorded examples: ``tests/data/gluster/``):

- ``gluster volume info VOLUME`` -> :func:`parse_volume_info`
- ``gluster pool list`` -> :func:`parse_pool_list`
- ``gluster volume heal VOLUME info`` -> :func:`parse_heal_info`
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BrickHeal", "VolumeInfo", "parse_heal_info", "parse_pool_list", "parse_volume_info"]

_FIELD = re.compile(r"^(Status|Number of entries):\s*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class VolumeInfo:
    """What ``gluster volume info`` says about one volume.

    Attributes:
        status: ``Started``, ``Stopped`` or ``Created``.
        kind: The volume type, e.g. ``Replicate``.
        bricks: The brick count as gluster writes it, e.g. ``1 x 3 = 3``.
    """

    status: str
    kind: str
    bricks: str


@dataclass(frozen=True)
class BrickHeal:
    """One brick in ``gluster volume heal VOLUME info``.

    Attributes:
        brick: ``host:/path`` of the brick.
        status: ``Connected``, or why the brick cannot be reached.
        entries: Entries left to heal, as printed (``0``, ``2``; ``-`` when unknown).
    """

    brick: str
    status: str
    entries: str


def parse_volume_info(text: str) -> VolumeInfo | None:
    """The volume ``gluster volume info VOLUME`` describes; ``None`` when there is none."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    if "Status" not in fields:
        return None
    return VolumeInfo(
        fields["Status"], fields.get("Type", "?"), fields.get("Number of Bricks", "?")
    )


def parse_pool_list(text: str) -> dict[str, str]:
    """Hostname -> peer state from ``gluster pool list`` (``localhost`` included)."""
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    return {row[1]: row[2] for row in rows if len(row) >= 3}


def parse_heal_info(text: str) -> list[BrickHeal]:
    """Every brick listed by ``gluster volume heal VOLUME info``, in order."""
    bricks = []
    for block in text.split("Brick ")[1:]:
        if not block.strip():
            continue
        fields = dict(_FIELD.findall(block))
        status = fields.get("Status", "no status")
        bricks.append(BrickHeal(block.split()[0], status, fields.get("Number of entries", "?")))
    return bricks
