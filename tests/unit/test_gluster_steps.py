"""gluster_volume decides what is in place from gluster's XML, recorded on a real lab."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.fakes import (
    GLUSTER_DATA,
    RECORDED_NODES,
    RecordedRemote,
    Recording,
    recorded_lab,
    recording,
    same_answer,
)
from workshop.errors import NotConverged, NotReady
from workshop.steps import gluster
from workshop.steps.gluster import gluster_ok, gluster_volume

NAMES = [n.name for n in RECORDED_NODES]
POOL = "gluster --mode=script pool list --xml"
INFO = "gluster --mode=script volume info swarm-data --xml"


def _xml(name: str) -> str:
    return (GLUSTER_DATA / name).read_text()


def _mount_probe() -> str:
    """The step's own probe of fstab and the mount, as recorded."""
    return next(a["command"] for a in recording("gluster-in-place") if "grep -qxF" in a["command"])


def _first_node(command: str, *outputs: str) -> list[Recording]:
    """Answers of node-1, in order (the last one repeats)."""
    return [a for out in outputs for a in same_answer(command, out, ["node-1"])]


def test_a_volume_in_place_changes_nothing() -> None:
    lab, remote = recorded_lab(recording("gluster-in-place"))
    result = gluster_volume(lab)
    assert not result.changed
    assert remote.unrecorded == [] and remote.files == []
    assert "already mounted at /mnt/swarm-data" in result["node-3"].detail


def test_from_unprobed_peers_it_probes_creates_starts_and_mounts() -> None:
    lab, remote = recorded_lab(
        recording("gluster-in-place"),
        _first_node(POOL, _xml("pool-list-alone.xml"), _xml("pool-list.xml")),
        _first_node(INFO, _xml("volume-info-missing.xml")),
        same_answer(_mount_probe(), "", NAMES),
    )
    result = gluster_volume(lab)
    assert remote.changes("peer probe gluster-2") == ["node-1"]
    assert remote.changes("peer probe gluster-3") == ["node-1"]
    assert remote.changes("peer probe gluster-1") == ["node-2"]
    created = [c for _, c in remote.unrecorded if "volume create" in c]
    assert created == [
        "gluster --mode=script volume create swarm-data replica 3 "
        + " ".join(f"gluster-{i}:/data/bricks/swarm-data/brick" for i in (1, 2, 3))
    ]
    assert remote.changes("volume start swarm-data") == ["node-1"]
    assert remote.changes("auth.allow 127.0.0.1,192.168.60.11,192.168.60.12,192.168.60.13")
    assert remote.changes("network.ping-timeout 10") == ["node-1"]
    assert remote.changes(r"mount /mnt/swarm-data") == NAMES
    assert result.changed_nodes == NAMES
    assert _in_order(remote, "volume create", "auth.allow", "volume start")


def _in_order(remote: RecordedRemote, *patterns: str) -> bool:
    """Whether the unrecorded commands matching ``patterns`` ran in that order."""
    ran = [c for _, c in remote.unrecorded]
    positions = [next(i for i, c in enumerate(ran) if p in c) for p in patterns]
    return positions == sorted(positions)


def test_a_volume_created_but_never_started_gets_auth_allow_then_starts() -> None:
    # An interrupted run left the volume "Created": no options, not started.
    lab, remote = recorded_lab(
        recording("gluster-in-place"), _first_node(INFO, _xml("volume-info-created.xml"))
    )
    result = gluster_volume(lab)
    changed = [c for _, c in remote.unrecorded]
    assert not any("volume create" in c for c in changed)
    assert _in_order(remote, "volume set swarm-data auth.allow", "volume start swarm-data")
    assert result.changed_nodes == ["node-1"]


def test_bricks_left_by_a_deleted_volume_are_cleared_and_files_kept_aside() -> None:
    # Recorded after `volume delete`: every brick still carries the old volume's id,
    # and node-2's brick still holds a file (gluster's own .glusterfs* entries aside).
    lab, remote = recorded_lab(
        recording("gluster-in-place"),
        _first_node(INFO, _xml("volume-info-missing.xml")),
        recording("gluster-stale-bricks"),
        same_answer(_mount_probe(), "", NAMES),
    )
    result = gluster_volume(lab)
    brick = "/data/bricks/swarm-data/brick"
    assert remote.changes(f"rm -rf {brick}$") == ["node-1", "node-3"]
    assert remote.changes(f"mv -T {brick} {brick}.old-1ccf8e53$") == ["node-2"]
    assert _in_order(remote, "rm -rf", "volume create", "auth.allow", "volume start")
    assert "moved the brick of an earlier volume aside" in result["node-2"].detail


def test_a_started_volume_only_gets_its_options() -> None:
    lab, remote = recorded_lab(
        recording("gluster-in-place"), _first_node(INFO, _xml("volume-info-no-options.xml"))
    )
    result = gluster_volume(lab)
    changed = [c for _, c in remote.unrecorded]
    assert len(changed) == 2 and all(" volume set swarm-data " in c for c in changed)
    assert result.changed_nodes == ["node-1"]


def test_peers_that_never_connect_raise_with_what_was_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gluster, "PEER_TIMEOUT", 0)
    lab, _ = recorded_lab(
        recording("gluster-in-place"), _first_node(POOL, _xml("pool-list-alone.xml"))
    )
    with pytest.raises(NotConverged) as info:
        gluster_volume(lab)
    assert "gluster-2: not connected" in str(info.value)


def test_a_stopped_node_is_not_ready_and_nothing_runs() -> None:
    nodes = [*RECORDED_NODES[:2], replace(RECORDED_NODES[2], state="stopped")]
    lab, remote = recorded_lab(recording("gluster-in-place"), nodes=nodes)
    with pytest.raises(NotReady, match=r"node-3.*lab\.require\('nodes'\)"):
        gluster_volume(lab)
    assert remote.commands == []


def test_gluster_ok_wants_the_volume_mounted_on_every_node() -> None:
    lab, _ = recorded_lab(recording("gluster-mounted"))
    assert gluster_ok(lab)
    unmounted_node_3 = [a for a in recording("gluster-unmounted") if a["node"] == "node-3"]
    lab, _ = recorded_lab(recording("gluster-mounted"), unmounted_node_3)
    assert not gluster_ok(lab)
