"""A snapshot's key changes with the node image, the kit's steps and the lab's shape.

The image ids come from `docker inspect` answers recorded on the lab ``wssnap``
(tests/data/snapshots/README.md), and so does the key a restored node carries.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workshop.lab.snapshot_key import (
    PACKAGE,
    SnapshotKey,
    key_differences,
    settings_digest,
    steps_digest,
)
from workshop.settings import LabSettings

DATA = Path(__file__).resolve().parents[1] / "data" / "snapshots"
ROOT = Path(__file__).resolve().parents[2]
#: The lab the recordings come from.
WSSNAP = LabSettings(name="wssnap", nodes=3, subnet="192.168.73")


def _inspect(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def _key(image: str, settings: LabSettings = WSSNAP, provider: str = "docker") -> SnapshotKey:
    return SnapshotKey(image, steps_digest(ROOT), settings_digest(settings, provider, "restricted"))


def test_the_node_container_was_made_from_the_recorded_node_image() -> None:
    container, image = _inspect("node-1-container.json"), _inspect("node-image.json")
    assert container["Image"] == image["Id"]
    assert container["Config"]["Image"] in image["RepoTags"]


def test_another_node_image_is_another_key() -> None:
    node, other = _inspect("node-image.json")["Id"], _inspect("debian-image.json")["Id"]
    assert node != other
    saved, now = _key(node), _key(other)
    assert saved.value != now.value
    assert saved == _key(node)  # the same inputs, the same key
    differences = key_differences(saved, now)
    assert len(differences) == 1 and "node image changed" in differences[0]


@pytest.mark.parametrize(
    "changed",
    [
        {"nodes": 4},
        {"managers": 1},
        {"subnet": "192.168.74"},
        {"name": "wsother"},
    ],
)
def test_other_settings_are_another_key(changed: dict) -> None:
    image = _inspect("node-image.json")["Id"]
    other = LabSettings(**{"name": "wssnap", "nodes": 3, "subnet": "192.168.73", **changed})
    saved, now = _key(image), _key(image, other)
    assert saved.value != now.value
    assert key_differences(saved, now) == [
        "the lab's settings (nodes, managers, subnet, name or provider) changed"
    ]


def test_provider_and_node_flags_are_part_of_the_key() -> None:
    base = settings_digest(WSSNAP, "docker", "restricted")
    assert settings_digest(WSSNAP, "docker", "privileged") != base
    assert settings_digest(WSSNAP, "virtualbox", "restricted") != base


def test_memory_and_cpus_count_for_vms_only() -> None:
    bigger = LabSettings(name="wssnap", nodes=3, subnet="192.168.73", memory=4096, cpus=4)
    assert settings_digest(bigger, "docker", "restricted") == settings_digest(
        WSSNAP, "docker", "restricted"
    )
    assert settings_digest(bigger, "virtualbox", "restricted") != settings_digest(
        WSSNAP, "virtualbox", "restricted"
    )


def _kit_copy(tmp_path: Path) -> tuple[Path, Path]:
    package, project = tmp_path / "workshop", tmp_path / "project"
    for name in ("steps", "stacks"):
        shutil.copytree(
            PACKAGE / name, package / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    project.mkdir()
    shutil.copy(ROOT / "Vagrantfile", project / "Vagrantfile")
    return package, project


def test_a_copy_of_the_kit_has_the_kit_s_steps_digest(tmp_path: Path) -> None:
    package, project = _kit_copy(tmp_path)
    assert steps_digest(project, package) == steps_digest(ROOT)


@pytest.mark.parametrize(
    "edited", ["workshop/steps/gluster.py", "workshop/stacks/demoapp", "project/Vagrantfile"]
)
def test_a_changed_step_stack_or_vagrantfile_is_another_key(tmp_path: Path, edited: str) -> None:
    package, project = _kit_copy(tmp_path)
    before = steps_digest(project, package)
    target = tmp_path / edited
    target = (
        next(p for p in sorted(target.rglob("*")) if p.is_file()) if target.is_dir() else target
    )
    target.write_bytes(target.read_bytes() + b"\n# changed\n")
    assert steps_digest(project, package) != before


def test_a_restored_node_carries_the_key_of_the_lab_it_was_taken_of() -> None:
    labels = _inspect("node-1-restored.json")["Config"]["Labels"]
    key = SnapshotKey.from_labels(labels)
    assert key is not None
    assert key.image == _inspect("node-image.json")["Id"]
    assert key.settings == settings_digest(WSSNAP, "docker", "restricted")
    other = LabSettings(name="wssnap", nodes=2, subnet="192.168.73")
    assert key.settings != settings_digest(other, "docker", "restricted")


def test_labels_without_a_key_give_none_and_that_is_never_usable() -> None:
    labels = _inspect("node-1-container.json")["Config"]["Labels"]
    assert SnapshotKey.from_labels(labels) is None
    current = _key(_inspect("node-image.json")["Id"])
    assert key_differences(None, current) and key_differences(current, current) == []
    assert SnapshotKey.from_labels(current.labels()) == current
