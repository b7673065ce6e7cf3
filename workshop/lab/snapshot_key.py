"""When a lab snapshot may be used: its key.

A snapshot holds what the kit's steps made on nodes of one node image, for a lab
of one shape. It may stand in for those steps only while all three are the same,
so its key is made of:

- ``image``: the id of the node image the lab's containers were made from (a
  rebuilt image, another Debian release or package set, is another key);
- ``steps``: a digest of the kit's step definitions (``workshop/steps``,
  ``workshop/stacks``) and of the Vagrantfile, which say what a state holds;
- ``settings``: a digest of the settings that shape the lab: its name, node count,
  managers, subnet, provider and node flags (and memory and CPUs for VM providers;
  node containers do not use them).

The key travels as labels on the snapshot's images and volumes
(:meth:`SnapshotKey.labels`), so that :func:`key_differences` can say what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from workshop.settings import LabSettings

__all__ = [
    "IMAGE_LABEL",
    "KEY_LABEL",
    "SnapshotKey",
    "key_differences",
    "settings_digest",
    "steps_digest",
]

#: The label holding a snapshot's whole key (``<image>.<steps>.<settings>`` digests).
KEY_LABEL = "workshop.snapshot.key"
#: The label holding the whole id of the node image a snapshot was taken on.
IMAGE_LABEL = "workshop.snapshot.image"
#: The package folder whose step definitions a snapshot stands in for.
PACKAGE = Path(__file__).resolve().parents[1]
#: What defines the states, relative to the package (folders are read whole).
STEP_SOURCES = ("steps", "stacks")
#: Providers whose machines are VMs: memory and CPUs shape them.
VM_PROVIDERS = ("virtualbox", "libvirt")
_SHORT = 16


def _digest(chunks: Iterable[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(len(chunk).to_bytes(8, "big"))
        hasher.update(chunk)
    return hasher.hexdigest()[:_SHORT]


def _files(root: Path) -> list[Path]:
    """The files under ``root`` that define steps (no caches), in a stable order."""
    if root.is_file():
        return [root]
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def steps_digest(project_dir: Path, package: Path = PACKAGE) -> str:
    """A digest of the kit's step definitions and of the project's Vagrantfile.

    Each file counts with its path (relative to the package or the project), so a
    file moved or renamed is another digest too.
    """
    chunks: list[bytes] = []
    roots = [(package, package / name) for name in STEP_SOURCES]
    roots.append((project_dir, project_dir / "Vagrantfile"))
    for base, root in roots:
        for path in _files(root):
            chunks.append(path.relative_to(base).as_posix().encode())
            chunks.append(path.read_bytes())
    return _digest(chunks)


def settings_digest(settings: LabSettings, provider: str, node_flags: str) -> str:
    """A digest of the settings that shape the lab (``auto`` values resolved by the caller)."""
    shape: dict[str, object] = {
        "name": settings.name,
        "nodes": settings.nodes,
        "managers": settings.managers,
        "subnet": settings.subnet,
        "provider": provider,
        "node_flags": node_flags,
    }
    if provider in VM_PROVIDERS:
        shape.update(memory=settings.memory, cpus=settings.cpus)
    return _digest([json.dumps(shape, sort_keys=True).encode()])


@dataclass(frozen=True)
class SnapshotKey:
    """What a snapshot was taken from; equal keys mean the snapshot may be used.

    Attributes:
        image: The node image's id (``sha256:...``).
        steps: :func:`steps_digest` when it was taken.
        settings: :func:`settings_digest` when it was taken.
    """

    image: str
    steps: str
    settings: str

    @property
    def value(self) -> str:
        """The key as one label value: the three parts, the image id shortened."""
        image = self.image.removeprefix("sha256:")[:_SHORT]
        return f"{image}.{self.steps}.{self.settings}"

    def labels(self) -> dict[str, str]:
        """The labels that carry this key."""
        return {KEY_LABEL: self.value, IMAGE_LABEL: self.image}

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> SnapshotKey | None:
        """The key that :meth:`labels` wrote, or ``None`` when they hold none."""
        parts = (labels.get(KEY_LABEL) or "").split(".")
        image = labels.get(IMAGE_LABEL) or ""
        if len(parts) != 3 or not image:
            return None
        return cls(image=image, steps=parts[1], settings=parts[2])


def key_differences(saved: SnapshotKey | None, current: SnapshotKey) -> list[str]:
    """What differs between a snapshot's key and the current one (empty: it may be used)."""
    if saved is None:
        return ["the snapshot carries no key (made by hand, or cut short while it was saved)"]
    found = []
    if saved.image != current.image:
        found.append(
            f"the node image changed ({saved.image[:19]} when saved, {current.image[:19]} now)"
        )
    if saved.steps != current.steps:
        found.append("the kit's steps or the Vagrantfile changed since it was saved")
    if saved.settings != current.settings:
        found.append("the lab's settings (nodes, managers, subnet, name or provider) changed")
    return found
