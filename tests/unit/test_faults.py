"""Faults and their handles, on a lab that answers with output recorded on a real one.

The gluster answers were recorded on node-3 of a lab of node containers (swarm of
node-1/node-2 managers and node-3 a worker, volume ``swarm-data`` replica 3 over
gluster-1..3, glusterfs 10.3), in ``tests/data/gluster``:

| file | command (on node-3) |
| --- | --- |
| ``pool-list-node-3.xml`` | ``gluster --mode=script pool list --xml`` |
| ``volume-info-all-node-3.xml`` | ``gluster --mode=script volume info --xml`` |
| ``volume-status-all-node-3.xml`` | ``gluster --mode=script volume status all --xml`` |
| ``volume-status-all-brick-3-down.xml`` | the same, after ``stop_brick(lab, "node-3")`` |
| ``heal-info-brick-3-down.xml`` | ``volume heal swarm-data info --xml``, then, with a file |
| | written on node-1 meanwhile |

The swarm's record (``docker node inspect``) comes from ``tests/data/swarm`` through
a recorded reader. The lab changes state as the real one does when a node is
halted, a brick killed or an nftables table loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.fakes import (
    FakeSource,
    PoweredVagrantSource,
    RecordedReader,
    Reply,
    SwarmRemote,
)
from workshop.errors import NotConverged, NotReady, NotSupported, UnknownNode, UsageError
from workshop.faults import Fault, cut_network, health, power_off, stop_brick
from workshop.lab import Node, SSHEndpoint
from workshop.lab.source import LabSource
from workshop.remote import RemoteLab

GLUSTER = Path(__file__).resolve().parent.parent / "data" / "gluster"
ADDRESSES = {"node-1": "192.168.68.11", "node-2": "192.168.68.12", "node-3": "192.168.68.13"}
BRICK_3 = "gluster-3:/data/bricks/swarm-data/brick"
VOLUME_START = "gluster --mode=script volume start swarm-data force"

# Recorded on node-3 of the same lab (sudo where the kit uses it):
#: ``findmnt --json --types fuse.glusterfs --output TARGET``
FINDMNT = (
    '{\n   "filesystems": [\n      {\n         "target": "/mnt/swarm-data"\n      }\n   ]\n}\n'
)
#: ``nft --json list tables``
NFT_TABLES = (
    '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", '
    '"json_schema_version": 1}}, {"table": {"family": "ip", "name": "nat", "handle": 1}}, '
    '{"table": {"family": "ip", "name": "filter", "handle": 2}}, '
    '{"table": {"family": "inet", "name": "workshop_firewall", "handle": 4}}]}\n'
)
#: ``printenv SSH_CONNECTION``: the kit's session comes from the engine's default bridge.
SSH_CONNECTION = "172.17.0.1 37068 172.17.0.6 22\n"
#: ``nft -f -`` given a file with a syntax error.
NFT_SYNTAX_ERROR = "/dev/stdin:1:67-67: Error: syntax error, unexpected '}'\n"


def recorded(name: str) -> str:
    return (GLUSTER / name).read_text()


def nodes() -> list[Node]:
    return [
        Node(
            name,
            "worker" if name == "node-3" else "manager",
            address,
            SSHEndpoint("127.0.0.1", port),
        )
        for port, (name, address) in enumerate(ADDRESSES.items(), start=2201)
    ]


class RecordedLab:
    """What the lab answers, and the state the faults change."""

    def __init__(self, source: LabSource) -> None:
        self.source = source
        self.brick_up = True
        self.rejoins = True  # a node powered on again comes back Ready
        self.heals = True  # the self-heal daemon copies what a brick missed
        self.nft_installed = True
        self.nft_fails = False
        self.tables: set[str] = set()
        self.ssh_connection = SSH_CONNECTION

    def swarm_record(self) -> str:
        """``docker node inspect`` as a manager answers it now (node-1 may be down)."""
        power = getattr(self.source, "power", [])
        halted = bool(power) and power[-1] == ("halt", "node-1")
        back_but_not_rejoined = ("start", "node-1") in power and not self.rejoins
        return (
            "node-inspect-faults.json" if halted or back_but_not_rejoined else "node-inspect.json"
        )

    def gluster(self, command: str) -> Reply | None:
        files = {
            "pool list --xml": "pool-list-node-3.xml",
            "volume info --xml": "volume-info-all-node-3.xml",
            "volume status all --xml": "volume-status-all-node-3.xml",
            "volume heal swarm-data info --xml": "heal-info.xml",
        }
        name = files.get(command.removeprefix("gluster --mode=script "))
        if command == VOLUME_START:
            self.brick_up = True
            return (0, "volume start: swarm-data: success\n", "")
        if name is None:
            return None
        if not self.brick_up:
            name = name.replace("volume-status-all-node-3", "volume-status-all-brick-3-down")
        if not self.brick_up or not self.heals:
            name = name.replace("heal-info.xml", "heal-info-brick-3-down.xml")
        return (0, recorded(name), "")

    def nft(self, command: str) -> Reply | None:
        if command.startswith("nft") and not self.nft_installed:
            return (127, "", "sh: 1: nft: not found\n")
        if command == "nft --json list tables":
            loaded = "".join(
                f', {{"table": {{"family": "inet", "name": "{t}", "handle": 9}}}}'
                for t in self.tables
            )
            return (0, NFT_TABLES.replace("]}\n", loaded + "]}\n"), "")
        if command == "nft -f -":
            if self.nft_fails:
                return (1, "", NFT_SYNTAX_ERROR)
            self.tables.add("workshop_fault")
            return (0, "", "")
        if command.endswith("nft delete table inet workshop_fault"):
            self.tables.discard("workshop_fault")
            return (0, "", "")
        return None

    def answer(self, node: str, command: str) -> Reply | None:
        if command == "kill 1884":
            self.brick_up = False
            return (0, "", "")
        if command.startswith("findmnt --json"):
            return (0, FINDMNT, "")
        if command == "printenv SSH_CONNECTION":
            return (0, self.ssh_connection, "")
        found = self.gluster(command) or self.nft(command)
        return found or (1, "", f"the recorded lab does not know {command!r}")


Scripted = tuple[RemoteLab, RecordedLab, SwarmRemote]


def scripted(source: LabSource, monkeypatch: pytest.MonkeyPatch) -> Scripted:
    """A lab on ``source`` answering as :class:`RecordedLab`; the swarm from recordings."""
    world = RecordedLab(source)
    lab = RemoteLab(source)
    remote = SwarmRemote([world.answer])
    lab.remote = remote  # type: ignore[assignment]
    monkeypatch.setattr(
        health, "SwarmReader", lambda lab: RecordedReader(lab, nodes=world.swarm_record())
    )
    return lab, world, remote


@pytest.fixture
def powered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scripted]:
    yield scripted(PoweredVagrantSource(tmp_path, nodes()), monkeypatch)


# --- power_off -------------------------------------------------------------------------


def test_power_off_halts_and_the_restore_starts_and_waits(powered: Scripted) -> None:
    lab, world, _ = powered
    lines: list[str] = []
    fault = power_off(lab, "node-1", progress=lines.append)
    assert world.source.power == [("halt", "node-1")]  # type: ignore[attr-defined]
    assert not lab.node("node-1").running and fault.active
    assert "restored: not yet" in repr(fault)
    fault.restore()
    assert world.source.power == [("halt", "node-1"), ("start", "node-1")]  # type: ignore[attr-defined]
    assert not fault.active and fault.restore_seconds is not None
    assert "Ready in the swarm; 3 bricks online; 0 entries to heal" in fault.restore_detail
    assert "/mnt/swarm-data mounted" in fault.restore_detail
    fault.restore()  # twice is fine
    assert len(world.source.power) == 2  # type: ignore[attr-defined]
    assert "(restored)" in repr(fault) and "(restored)" in fault._repr_html_()
    assert any("powered node-1 off" in line for line in lines)


def test_the_restore_waits_for_the_swarm_and_says_what_is_missing(powered: Scripted) -> None:
    lab, world, _ = powered
    world.rejoins = False
    fault = power_off(lab, "node-1", timeout=0)
    with pytest.raises(NotConverged, match="swarm: node-1 is down") as caught:
        fault.restore()
    assert "node-1 back to how it was" in str(caught.value)
    assert fault.active  # a failed restore can be tried again
    world.rejoins = True
    assert not fault.restore().active


def test_with_block_restores_also_when_it_raises(powered: Scripted) -> None:
    lab, world, _ = powered
    with pytest.raises(RuntimeError, match="cell failed"), power_off(lab, "node-3") as fault:
        assert not lab.node("node-3").running
        raise RuntimeError("cell failed")
    assert world.source.power == [("halt", "node-3"), ("start", "node-3")]  # type: ignore[attr-defined]
    assert isinstance(fault, Fault) and not fault.active


def test_power_off_is_refused_where_the_kit_does_not_power(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab, _, remote = scripted(FakeSource(nodes()), monkeypatch)
    with pytest.raises(NotSupported, match=r"does not power .* power the host node-3 on"):
        power_off(lab, "node-3")
    assert remote.calls == []


def test_bad_input_is_refused_before_anything_changes(powered: Scripted) -> None:
    lab, world, remote = powered
    for fault in (power_off, cut_network, stop_brick):
        with pytest.raises(UnknownNode, match="node-1, node-2, node-3"):
            fault(lab, "node-9")
    assert world.source.power == [] and remote.calls == []  # type: ignore[attr-defined]
    lab.halt("node-3")
    with pytest.raises(NotReady, match=r"it is stopped; start it with .*lab.start\('node-3'\)"):
        power_off(lab, "node-3")
    assert world.source.power == [("halt", "node-3")]  # type: ignore[attr-defined]


# --- cut_network -----------------------------------------------------------------------


def test_cut_drops_the_other_nodes_and_the_restore_heals(powered: Scripted) -> None:
    lab, world, remote = powered
    fault = cut_network(lab, "node-3")
    assert world.tables == {"workshop_fault"}
    (rules,) = remote.stdins
    assert "elements = { 192.168.68.11, 192.168.68.12 }" in rules
    assert ADDRESSES["node-3"] not in rules
    assert "table inet workshop_fault" in fault.detail
    fault.restore()
    fault.restore()
    assert world.tables == set()
    assert len(remote.matching("nft delete table")) == 1


def test_cut_is_refused_when_ssh_comes_over_the_lab_network(powered: Scripted) -> None:
    lab, world, remote = powered
    world.ssh_connection = "192.168.68.11 50000 192.168.68.13 22\n"
    with pytest.raises(UsageError, match="would lose it"):
        cut_network(lab, "node-3")
    assert remote.matching("nft -f") == [] and world.tables == set()


def test_cut_is_refused_twice_and_without_nft(powered: Scripted) -> None:
    lab, world, remote = powered
    world.tables.add("workshop_fault")
    with pytest.raises(UsageError, match="cut off already"):
        cut_network(lab, "node-3")
    world.tables.clear()
    world.nft_installed = False
    with pytest.raises(NotReady, match=r"lab.require\('firewall'\)"):
        cut_network(lab, "node-3")
    assert remote.matching("nft -f") == []


def test_a_failed_cut_is_rolled_back(powered: Scripted) -> None:
    lab, world, remote = powered
    world.nft_fails = True
    with pytest.raises(Exception, match="syntax error"):
        cut_network(lab, "node-3")
    assert remote.matching("nft delete table") != []
    assert world.tables == set()


# --- stop_brick ------------------------------------------------------------------------


def test_stop_brick_kills_the_nodes_own_brick_and_the_restore_starts_it(
    powered: Scripted,
) -> None:
    lab, world, remote = powered
    with stop_brick(lab, "node-3") as fault:
        assert not world.brick_up
        assert remote.matching("^kill") == ["kill 1884"]
        assert BRICK_3 in fault.detail and "`kill 1884` on node-3" in fault.detail
    assert world.brick_up and not fault.active
    assert remote.matching("volume start") == [VOLUME_START]
    assert "3 bricks online; 0 entries to heal" in fault.restore_detail


def test_the_restore_waits_for_the_heal(powered: Scripted) -> None:
    lab, world, _ = powered
    fault = stop_brick(lab, "node-3", timeout=0)
    world.heals = False
    with pytest.raises(NotConverged, match="entries waiting for heal: unknown"):
        fault.restore()
    world.heals = True
    assert not fault.restore().active


def test_an_unknown_volume_is_refused_with_the_volumes_there_are(powered: Scripted) -> None:
    lab, world, remote = powered
    with pytest.raises(UsageError, match="volume 'nosuch' is not valid; choose one of: swarm-data"):
        stop_brick(lab, "node-3", volume="nosuch")
    assert remote.matching("^kill") == [] and world.brick_up


def test_a_brick_already_stopped_is_refused(powered: Scripted) -> None:
    lab, world, remote = powered
    world.brick_up = False
    with pytest.raises(NotReady, match="not running already"):
        stop_brick(lab, "node-3")
    assert remote.matching("^kill") == []
