"""Fault injection on a real lab: the shared swarm lab (``tests.swarm_lab``) at ``gluster``.

Each test breaks node-3 (the worker) inside a ``with`` block, checks with the real
commands that the fault broke what it should, and checks after the block that the
lab is whole again: every node running and Ready, every brick online, nothing to
heal, the volume mounted everywhere, no fault table left. The cut is checked with a
block that raises. The lab is left as the dashboard tests expect it (``helloworld``
spread over every node again).
"""

from __future__ import annotations

import shlex
import time
import uuid

import pytest

from tests.swarm_setup import SERVICE, manager_run, wait_for
from workshop import Lab
from workshop.faults import cut_network, power_off, stop_brick
from workshop.steps.gluster import MOUNT, VOLUME, gluster_ok
from workshop.steps.gluster_parse import parse_heal_info, parse_volume_status
from workshop.swarm import SwarmReader

pytest_plugins = ["tests.swarm_lab"]
pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

NODE = "node-3"
BRICK_3 = "gluster-3:/data/bricks/swarm-data/brick"


@pytest.fixture(scope="module")
def lab(swarm_lab: Lab) -> Lab:
    swarm_lab.require("gluster")
    assert_whole(swarm_lab)
    return swarm_lab


def on(lab: Lab, node: str, *args: str, timeout: float = 60) -> str:
    """Run a command (an argument list) as root on one node; its stdout, checked."""
    result = lab.run(shlex.join(args), on=node, sudo=True, timeout=timeout)
    return result.raise_for_failures().stdout[node]


def swarm_status(lab: Lab) -> dict[str, str]:
    """Node -> its status in ``docker node ls`` (``ready``, ``down``)."""
    return {n.hostname: n.status for n in SwarmReader(lab).nodes()}


def bricks_online(lab: Lab, node: str = "node-1") -> dict[str, bool]:
    """Brick -> online, as ``gluster volume status`` on ``node`` shows it."""
    xml = on(lab, node, "gluster", "--mode=script", "volume", "status", VOLUME, "--xml")
    return {f"{p.host}:{p.path}": p.online for p in parse_volume_status(xml) if p.is_brick}


def reaches(lab: Lab, source: str, address: str, port: int) -> bool:
    """Whether ``source`` opens a TCP connection to ``address:port`` within 3 s."""
    probe = ["timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{address}/{port}"]
    return lab.run(shlex.join(probe), on=source, sudo=True, timeout=30)[0].succeeded


def assert_whole(lab: Lab) -> None:
    """Every node running and Ready, every brick online, nothing to heal, mounted, no cut."""
    lab.refresh()
    assert [n.state for n in lab.nodes] == ["running"] * 3
    assert set(swarm_status(lab).values()) == {"ready"}, swarm_status(lab)
    assert SwarmReader(lab).quorum().has_quorum
    assert all(bricks_online(lab).values()), bricks_online(lab)
    heal = on(lab, "node-1", "gluster", "--mode=script", "volume", "heal", VOLUME, "info", "--xml")
    assert [(b.connected, b.entries) for b in parse_heal_info(heal)] == [(True, 0)] * 3
    assert gluster_ok(lab)
    tables = on(lab, NODE, "nft", "list", "tables")
    assert "workshop_fault" not in tables


def spread_again(lab: Lab) -> None:
    """Put ``helloworld`` back on every node (the swarm does not rebalance by itself)."""
    reader = SwarmReader(lab)
    if min(reader.replica_distribution(SERVICE).values()) == 0:
        manager_run(lab, ["docker", "service", "update", "--force", "--detach=false", SERVICE])
    wait_for(lambda: min(reader.replica_distribution(SERVICE).values()) > 0, 120, "spread")


def test_power_off_shows_the_node_down_then_brings_it_back(lab: Lab) -> None:
    started = time.monotonic()
    with power_off(lab, NODE) as fault:
        assert not lab.node(NODE).running
        wait_for(lambda: swarm_status(lab)[NODE] == "down", 90, f"{NODE} Down")
        listed = on(lab, "node-1", "docker", "node", "ls")
        assert any(NODE in line and "Down" in line for line in listed.splitlines()), listed
        print(f"{NODE} Down in `docker node ls` {time.monotonic() - started:.0f} s after")
    print(fault)
    assert not fault.active and "Ready in the swarm" in fault.restore_detail
    assert_whole(lab)
    spread_again(lab)


def test_cut_network_isolates_the_node_and_heals_even_when_the_block_raises(lab: Lab) -> None:
    peers = [n.address for n in lab.nodes if n.name != NODE]
    assert reaches(lab, NODE, peers[0], 2377)
    with pytest.raises(RuntimeError, match="the cell failed"), cut_network(lab, NODE) as fault:
        ping = lab.run(shlex.join(["ping", "-c", "1", "-W", "1", peers[0]]), on=NODE, sudo=True)
        assert ping[0].failed, ping  # no answer, yet the node answers the kit
        assert not reaches(lab, NODE, peers[0], 2377)
        assert not reaches(lab, "node-1", lab.node(NODE).address, 22)
        assert on(lab, NODE, "hostname") == NODE  # SSH still works
        raise RuntimeError("the cell failed")
    print(fault)
    assert not fault.active
    assert reaches(lab, NODE, peers[0], 2377)
    assert_whole(lab)


def test_stop_brick_takes_it_offline_and_the_restore_heals_it(lab: Lab) -> None:
    name = f"faults-{uuid.uuid4().hex[:8]}.txt"
    on_brick = f"/data/bricks/{VOLUME}/brick/{name}"
    try:
        with stop_brick(lab, NODE) as fault:
            assert bricks_online(lab)[BRICK_3] is False
            on(lab, "node-1", "sh", "-c", f"echo written-meanwhile > {MOUNT}/{name}")
            missing = lab.run(shlex.join(["test", "-e", on_brick]), on=NODE, sudo=True)
            assert missing[0].rc == 1  # the stopped brick did not get it
        print(fault)
        assert not fault.active
        assert on(lab, NODE, "cat", on_brick) == "written-meanwhile"
        assert_whole(lab)
    finally:
        on(lab, "node-1", "rm", "-f", f"{MOUNT}/{name}")
