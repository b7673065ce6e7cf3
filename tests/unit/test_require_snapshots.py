"""`require` and `reset` decide between a state's snapshot and its steps.

The engine and the nodes are stood in for: the snapshots listed, the key of the lab
now, the state the lab is in, and what restore, save and the steps would do are
recorded. What is decided is the kit's own code (`Lab.require`, `Lab.reset`,
`matching_snapshot`, `chapter_state`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.fakes import FakeVagrantSource
from workshop import facade
from workshop.cli_snapshot import chapter_state
from workshop.errors import UsageError
from workshop.facade import Lab
from workshop.lab import InventorySource, Node, SSHEndpoint, snapshot_use
from workshop.lab.snapshot_key import SnapshotKey
from workshop.lab.snapshot_store import Snapshot
from workshop.steps.report import RequireReport, StateOutcome
from workshop.steps.states import STATE_NAMES

ROOT = Path(__file__).resolve().parents[2]
KEY = SnapshotKey(image="sha256:" + "a" * 64, steps="1" * 16, settings="2" * 16)
OTHER_IMAGE = SnapshotKey(image="sha256:" + "b" * 64, steps="1" * 16, settings="2" * 16)
NODES = ("node-1", "node-2", "node-3")


@pytest.fixture(autouse=True)
def _snapshots_setting_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default (snapshots on), whatever the shell running the tests set."""
    monkeypatch.delenv("WORKSHOP_SNAPSHOTS", raising=False)


def _snapshot(name: str, state: str, key: SnapshotKey) -> Snapshot:
    return Snapshot(
        name,
        "workshop",
        key=key,
        nodes=NODES,
        images={n: f"sha256:{i}" for i, n in enumerate(NODES)},
        volumes={n: {f"{n}-docker": f"{n}-docker-snap-{name}"} for n in NODES},
        state=state,
    )


class Recorder:
    """What `Lab.require` did: restores, saves and the states the steps were run for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, snaps: list[Snapshot], reached: str):
        self.did: list[str] = []
        self.reached = reached
        monkeypatch.setattr(snapshot_use, "snapshots", lambda source: snaps)
        monkeypatch.setattr(snapshot_use, "current_key", lambda source: KEY)
        monkeypatch.setattr(facade, "engine_free_bytes", lambda source: 50 * 2**30)
        monkeypatch.setattr(facade, "lab_state", lambda lab: self.reached)
        monkeypatch.setattr(facade, "restore", self.restore)
        monkeypatch.setattr(facade, "save", self.save)
        monkeypatch.setattr(facade, "require", self.require)
        monkeypatch.setattr(facade, "wait_for_state", lambda lab, state, progress: None)
        monkeypatch.setattr(facade, "reset_swarm", lambda lab, state, progress: [])
        monkeypatch.setattr(Lab, "run", lambda lab, command, **kw: self.did.append(command))
        monkeypatch.setattr(Lab, "refresh", lambda lab: lab)

    def restore(self, source, name, progress):
        self.did.append(f"restore {name}")

    def save(self, source, name, progress, *, state):
        self.did.append(f"save {name} ({state})")

    def require(self, lab, *states, progress):
        self.did.append(f"steps {', '.join(states)}")
        past = STATE_NAMES.index(self.reached)
        outcomes = [StateOutcome(s, reached=STATE_NAMES.index(s) > past) for s in states]
        return RequireReport(tuple(states), tuple(outcomes))


def _node(name: str) -> Node:
    return Node(name, "manager", "192.168.56.11", SSHEndpoint("127.0.0.1", 22, "v"))


def _lab(tmp_path: Path) -> Lab:
    return Lab(FakeVagrantSource(tmp_path, [_node(n) for n in NODES]))


def test_a_matching_snapshot_is_restored_instead_of_the_steps(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [_snapshot("state-gluster", "gluster", KEY)], reached="docker")
    report = _lab(tmp_path).require("gluster")
    assert rec.did == ["restore state-gluster"]
    assert [s.step for s in report.steps] == ["restore_snapshot"]


def test_a_lab_already_in_the_state_is_not_restored(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [_snapshot("state-gluster", "gluster", KEY)], reached="registry")
    _lab(tmp_path).require("gluster")
    assert rec.did == ["steps gluster"]  # the steps find it in place


def test_a_snapshot_of_another_image_is_not_used_the_steps_run_then_save(
    monkeypatch, tmp_path
) -> None:
    rec = Recorder(monkeypatch, [_snapshot("state-gluster", "gluster", OTHER_IMAGE)], "docker")
    _lab(tmp_path).require("gluster")
    assert rec.did == ["steps gluster", "apt-get clean", "save state-gluster (gluster)"]


def test_no_save_for_a_state_no_chapter_starts_from(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [], reached="docker")
    _lab(tmp_path).require("swarm")
    assert rec.did == ["steps swarm"]


def test_no_save_below_the_free_disk_margin(monkeypatch, tmp_path, capsys) -> None:
    rec = Recorder(monkeypatch, [], reached="docker")
    monkeypatch.setattr(facade, "engine_free_bytes", lambda source: 2 * 2**30)
    _lab(tmp_path).require("gluster")
    assert rec.did == ["steps gluster"]
    assert "Not saving snapshot 'state-gluster': 2.0 GB free" in capsys.readouterr().err


def test_the_setting_off_runs_the_steps_only(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [_snapshot("state-gluster", "gluster", KEY)], reached="docker")
    monkeypatch.setenv("WORKSHOP_SNAPSHOTS", "0")
    _lab(tmp_path).require("gluster")
    assert rec.did == ["steps gluster"]


def test_an_inventory_runs_the_steps_only(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [_snapshot("state-gluster", "gluster", KEY)], reached="docker")
    (tmp_path / "hosts.yml").write_text("nodes: []\n")
    Lab(InventorySource(tmp_path / "hosts.yml"), nodes=[]).require("gluster")
    assert rec.did == ["steps gluster"]


def test_reset_restores_even_a_lab_past_the_state(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [_snapshot("state-registry", "registry", KEY)], "demoapp")
    _lab(tmp_path).reset("registry")
    assert rec.did == ["restore state-registry"]


def test_reset_without_a_snapshot_powers_on_then_runs_the_steps(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [_snapshot("state-registry", "gluster", KEY)], "demoapp")
    _lab(tmp_path).reset("registry")
    assert rec.did == ["steps nodes", "steps registry"]  # the lab is past it: no save


def test_reset_saves_a_lab_found_exactly_in_the_state(monkeypatch, tmp_path) -> None:
    rec = Recorder(monkeypatch, [], "registry")
    _lab(tmp_path).reset("registry")
    assert rec.did == [
        "steps nodes",
        "steps registry",
        "apt-get clean",
        "save state-registry (registry)",
    ]


@pytest.mark.parametrize(
    ("chapter", "notebook", "state"),
    [
        ("07", "07-deploy-a-stack", "registry"),
        ("7", "07-deploy-a-stack", "registry"),
        ("07-deploy-a-stack", "07-deploy-a-stack", "registry"),
        ("03", "03-create-the-swarm", "docker"),
        ("05", "05-shared-storage", "firewall"),
        ("06", "06-sharing-images", "gluster"),
    ],
)
def test_a_chapter_starts_from_the_state_its_first_require_names(chapter, notebook, state):
    assert chapter_state(ROOT / "notebooks", chapter) == (notebook, state)


def test_an_unknown_chapter_lists_the_chapters(tmp_path) -> None:
    cell = {"cell_type": "code", "source": ["lab = Lab.connect()\n", "lab.require('swarm')"]}
    (tmp_path / "04-x.ipynb").write_text(json.dumps({"cells": [cell]}))
    assert chapter_state(tmp_path, "4") == ("04-x", "swarm")
    with pytest.raises(UsageError, match="no chapter '12': the chapters are 04-x"):
        chapter_state(tmp_path, "12")
