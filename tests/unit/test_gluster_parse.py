"""gluster's XML answers, recorded on a real lab, read into typed models."""

from __future__ import annotations

import pytest

from tests.unit.fakes import GLUSTER_DATA, recording
from workshop.steps.gluster_parse import (
    GlusterError,
    parse_heal_info,
    parse_pool_list,
    parse_volume_info,
    parse_volume_status,
    stale_brick,
)

BRICK = "/data/bricks/swarm-data/brick"


def _read(name: str) -> str:
    return (GLUSTER_DATA / name).read_text()


def test_pool_list_names_every_peer_and_the_node_asked_as_localhost() -> None:
    pool = parse_pool_list(_read("pool-list.xml"))
    assert [p.hostname for p in pool] == ["gluster-2", "gluster-3", "localhost"]
    assert all(p.connected for p in pool)
    assert [p.is_self for p in pool] == [False, False, True]
    assert pool[0].state == "Peer in Cluster" and pool[2].state == ""
    assert pool[0].uuid == "aa1cf176-3872-4ea4-bda7-e8b049d1f84c"


def test_pool_list_of_a_node_not_probed_yet_is_itself_only() -> None:
    pool = parse_pool_list(_read("pool-list-alone.xml"))
    assert [(p.hostname, p.connected, p.is_self) for p in pool] == [("localhost", True, True)]


def test_peer_status_lists_the_other_nodes() -> None:
    peers = parse_pool_list(_read("peer-status.xml"))
    assert [p.hostname for p in peers] == ["gluster-2", "gluster-3"]


def test_volume_info_reads_status_bricks_and_options() -> None:
    (volume,) = parse_volume_info(_read("volume-info.xml"))
    assert volume.name == "swarm-data" and volume.started and volume.type == "Replicate"
    assert volume.replica_count == 3
    assert [b.host for b in volume.bricks] == ["gluster-1", "gluster-2", "gluster-3"]
    assert {b.path for b in volume.bricks} == {BRICK}
    assert not any(b.arbiter for b in volume.bricks)
    assert volume.options["network.ping-timeout"] == "10"
    assert volume.options["auth.allow"] == "127.0.0.1,192.168.60.11,192.168.60.12,192.168.60.13"


def test_volume_info_before_options_were_set() -> None:
    (volume,) = parse_volume_info(_read("volume-info-no-options.xml"))
    assert volume.started and "auth.allow" not in volume.options
    assert volume.options["nfs.disable"] == "on"


def test_no_volume_is_an_empty_list() -> None:
    assert parse_volume_info(_read("volume-info-none.xml")) == []
    # `volume info NAME` of a missing volume: opRet -1, "Volume does not exist".
    assert parse_volume_info(_read("volume-info-missing.xml")) == []


def test_volume_status_tells_bricks_from_daemons() -> None:
    processes = parse_volume_status(_read("volume-status.xml"))
    bricks = [p for p in processes if p.is_brick]
    assert [b.host for b in bricks] == ["gluster-1", "gluster-2", "gluster-3"]
    assert all(b.online and b.port and b.pid for b in bricks)
    daemons = [p for p in processes if not p.is_brick]
    assert {d.host for d in daemons} == {"Self-heal Daemon"} and len(daemons) == 3
    assert all(d.port is None and d.online for d in daemons)


def test_heal_info_counts_entries_per_brick() -> None:
    bricks = parse_heal_info(_read("heal-info.xml"))
    assert [b.name for b in bricks] == [f"gluster-{i}:{BRICK}" for i in (1, 2, 3)]
    assert all(b.connected and b.entries == 0 and b.files == () for b in bricks)


def test_glusterd_down_is_a_gluster_error_that_says_so() -> None:
    with pytest.raises(GlusterError, match="glusterd") as info:
        parse_pool_list(_read("glusterd-down.txt"))
    assert "Connection failed" in str(info.value)


def test_a_volume_created_but_not_started_has_no_auth_allow_yet() -> None:
    (volume,) = parse_volume_info(_read("volume-info-created.xml"))
    assert volume.status == "Created" and not volume.started
    assert "auth.allow" not in volume.options and len(volume.bricks) == 3


def test_a_brick_with_an_earlier_volume_id_is_stale_and_says_whether_it_holds_files() -> None:
    probes = {a["node"]: a["stdout"] for a in recording("gluster-stale-bricks")}
    old_id = "1ccf8e53460446f3839ff0979386f6da"
    assert stale_brick(probes["node-1"]) == (old_id, False)  # only gluster's .glusterfs*
    assert stale_brick(probes["node-2"]) == (old_id, True)  # from-earlier.txt
    assert stale_brick("--- entries\n") is None  # no attribute: a clean directory
    assert stale_brick("") is None  # no brick directory yet
