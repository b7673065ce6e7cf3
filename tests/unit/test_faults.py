"""Faults and their handles, on a scripted lab answering with recorded output.

The lab below answers like the real one (node containers, swarm of node-1/node-2
managers and node-3 a worker, volume ``swarm-data`` replica 3): GlusterFS XML
from ``tests/data/gluster/``, ``docker node ls`` and ``node inspect`` from
``tests/data/swarm/``; it changes state as the real one would when a node is
halted, a brick killed or an nftables table loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.fakes import FakeSource, PoweredSource, Reply, Script, ScriptedRemote
from workshop.errors import NotConverged, NotReady, NotSupported, UnknownNode, UsageError
from workshop.faults import Fault, cut_network, power_off, stop_brick
from workshop.faults.gluster import (
    GlusterReplyError,
    own_uuid,
    parse_heal_info,
    parse_volume_list,
    parse_volume_status,
    reply,
)
from workshop.lab import Node
from workshop.lab.node import SSHEndpoint
from workshop.remote import RemoteLab

DATA = Path(__file__).resolve().parent.parent / "data"
GLUSTER = DATA / "gluster"
SWARM = DATA / "swarm"
ADDRESSES = {"node-1": "192.168.62.11", "node-2": "192.168.62.12", "node-3": "192.168.62.13"}
BRICK_3 = "gluster-3:/data/bricks/swarm-data/brick"

# Recorded on node-3 of a real lab (sudo where the kit uses it):
#: `findmnt --json --types fuse.glusterfs --output TARGET`
FINDMNT = (
    '{\n   "filesystems": [\n      {\n         "target": "/mnt/swarm-data"\n      }\n   ]\n}\n'
)
#: `nft --json list tables`
NFT_TABLES = (
    '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", '
    '"json_schema_version": 1}}, {"table": {"family": "ip", "name": "nat", "handle": 1}}, '
    '{"table": {"family": "ip", "name": "filter", "handle": 2}}, '
    '{"table": {"family": "inet", "name": "workshop_firewall", "handle": 4}}]}\n'
)
#: `printenv SSH_CONNECTION` (the kit's session, from the engine's default bridge)
SSH_CONNECTION = "172.17.0.1 37068 172.17.0.6 22\n"
#: `nft -f -` of a file with a syntax error
NFT_SYNTAX_ERROR = "/dev/stdin:1:67-67: Error: syntax error, unexpected '}'\n"


def recorded(folder: Path, name: str) -> str:
    return (folder / name).read_text()


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


class RecordedLab(Script):
    """The lab's answers, and the state the faults change."""

    def __init__(self, source: FakeSource) -> None:
        self.source = source
        self.brick_up = True
        self.rejoins = True  # a node powered on again comes back Ready
        self.heals = True  # the self-heal daemon copies what a brick missed
        self.tables: set[str] = set()
        self.nft_installed = True
        self.nft_fails = False
        self.ssh_connection = SSH_CONNECTION
        self.loaded: list[str] = []  # files given to `nft -f -`

    def swarm_down(self) -> bool:
        halted = any(n.name == "node-1" and not n.running for n in self.source.nodes)
        back = any(a == ("start", "node-1") for a in getattr(self.source, "power", []))
        return halted or (back and not self.rejoins)

    def gluster(self, words: list[str]) -> Reply:
        files = {
            ("pool", "list"): "pool-list.xml",
            ("volume", "list"): "volume-list.xml",
            ("volume", "status", "all"): "volume-status.xml",
            ("volume", "status", "swarm-data"): "volume-status.xml",
            ("volume", "status", "nosuch"): "volume-status-unknown.xml",
            ("volume", "heal", "swarm-data", "info"): "heal-info.xml",
        }
        name = files.get(tuple(words[2:-1]))
        if name is None:
            if words[2:] == ["volume", "start", "swarm-data", "force"]:
                self.brick_up = True
                return (0, "volume start: swarm-data: success\n", "")
            return (1, "", f"unexpected gluster command {words}")
        if not self.brick_up or (name == "heal-info.xml" and not self.heals):
            name = name.replace("volume-status.xml", "volume-status-brick-down.xml")
            name = name.replace("heal-info.xml", "heal-info-brick-down.xml")
        return (0, recorded(GLUSTER, name), "")

    def reply(self, node: str, command: str, stdin: str | None) -> Reply:
        words = command.split()
        if command.startswith("docker node ls"):
            name = "node-ls-faults.jsonl" if self.swarm_down() else "node-ls.jsonl"
            return (0, recorded(SWARM, name), "")
        if command.startswith("docker node inspect"):
            name = "node-inspect-faults.json" if self.swarm_down() else "node-inspect.json"
            return (0, recorded(SWARM, name), "")
        if words[0] == "gluster":
            return self.gluster(words)
        if words[0] == "findmnt":
            return (0, FINDMNT, "")
        if command == "kill 1898":
            self.brick_up = False
            return (0, "", "")
        if command == "printenv SSH_CONNECTION":
            return (0, self.ssh_connection, "")
        return self.nft(command, stdin)

    def nft(self, command: str, stdin: str | None) -> Reply:
        if not self.nft_installed:
            return (127, "", "sh: 1: nft: not found\n")
        if command == "nft --json list tables":
            extra = "".join(
                f', {{"table": {{"family": "inet", "name": "{t}", "handle": 9}}}}'
                for t in self.tables
            )
            return (0, NFT_TABLES.replace("]}\n", extra + "]}\n"), "")
        if command == "nft -f -" and stdin is not None:
            if self.nft_fails:
                return (1, "", NFT_SYNTAX_ERROR)
            self.loaded.append(stdin)
            self.tables.add("workshop_fault")
            return (0, "", "")
        if command.endswith("nft delete table inet workshop_fault"):
            self.tables.discard("workshop_fault")
            return (0, "", "")
        return (1, "", f"unexpected command {command!r}")


def scripted(source: FakeSource) -> tuple[RemoteLab, RecordedLab, ScriptedRemote]:
    world = RecordedLab(source)
    lab = RemoteLab(source)
    remote = ScriptedRemote(world)
    lab.remote = remote  # type: ignore[assignment]
    return lab, world, remote


@pytest.fixture
def powered() -> tuple[RemoteLab, RecordedLab, ScriptedRemote]:
    return scripted(PoweredSource(nodes()))


def ran(remote: ScriptedRemote, word: str) -> list[str]:
    return [command for _, command in remote.commands if word in command]


# --- the gluster replies ---------------------------------------------------------------


def test_volume_status_lists_bricks_not_daemons() -> None:
    bricks = parse_volume_status(reply(recorded(GLUSTER, "volume-status.xml"), "status"))
    assert [b.name for b in bricks] == [
        f"gluster-{i}:/data/bricks/swarm-data/brick" for i in (1, 2, 3)
    ]
    assert all(b.online and b.pid and b.volume == "swarm-data" for b in bricks)
    assert bricks[2].pid == 1898


def test_a_killed_brick_is_offline_without_pid() -> None:
    bricks = parse_volume_status(reply(recorded(GLUSTER, "volume-status-brick-down.xml"), "status"))
    down = [b for b in bricks if not b.online]
    assert [(b.name, b.pid) for b in down] == [(BRICK_3, None)]


def test_own_uuid_is_the_localhost_peer_and_holds_brick_3() -> None:
    uuid = own_uuid(reply(recorded(GLUSTER, "pool-list.xml"), "pool list"))
    bricks = parse_volume_status(reply(recorded(GLUSTER, "volume-status.xml"), "status"))
    assert [b.name for b in bricks if b.peer_id == uuid] == [BRICK_3]


def test_heal_info_counts_entries_and_a_brick_that_does_not_answer() -> None:
    healthy = parse_heal_info(reply(recorded(GLUSTER, "heal-info.xml"), "heal info"))
    assert [(h.connected, h.entries) for h in healthy] == [(True, 0)] * 3
    down = parse_heal_info(reply(recorded(GLUSTER, "heal-info-brick-down.xml"), "heal info"))
    assert [(h.brick, h.connected, h.entries) for h in down] == [
        ("gluster-1:/data/bricks/swarm-data/brick", True, 2),
        ("gluster-2:/data/bricks/swarm-data/brick", True, 2),
        (BRICK_3, False, None),
    ]


def test_a_failed_operation_is_an_error_though_gluster_exits_0() -> None:
    with pytest.raises(GlusterReplyError, match="Volume nosuch does not exist") as caught:
        reply(recorded(GLUSTER, "volume-status-unknown.xml"), "gluster volume status nosuch")
    assert caught.value.op_errstr == "Volume nosuch does not exist"
    with pytest.raises(GlusterReplyError, match="glusterd running"):
        reply("Connection failed. Please check if gluster daemon is operational.\n", "status")
    assert parse_volume_list(reply(recorded(GLUSTER, "volume-list.xml"), "list")) == ["swarm-data"]


# --- power_off -------------------------------------------------------------------------


def test_power_off_halts_and_the_restore_starts_and_waits(powered) -> None:
    lab, world, _ = powered
    lines: list[str] = []
    fault = power_off(lab, "node-1", progress=lines.append)
    assert world.source.power == [("halt", "node-1")]
    assert not lab.node("node-1").running and fault.active
    assert "restored: not yet" in repr(fault)
    fault.restore()
    assert world.source.power == [("halt", "node-1"), ("start", "node-1")]
    assert not fault.active and fault.restore_seconds is not None
    assert "Ready in the swarm; 3 bricks online; 0 entries to heal" in fault.restore_detail
    assert "/mnt/swarm-data mounted" in fault.restore_detail
    fault.restore()  # twice is fine
    assert world.source.power == [("halt", "node-1"), ("start", "node-1")]
    assert "(restored)" in repr(fault) and "(restored)" in fault._repr_html_()
    assert any("powered node-1 off" in line for line in lines)


def test_the_restore_waits_for_the_swarm_and_says_what_is_missing(powered) -> None:
    lab, world, _ = powered
    world.rejoins = False
    fault = power_off(lab, "node-1", timeout=0)
    with pytest.raises(NotConverged, match="swarm: node-1 is down") as caught:
        fault.restore()
    assert "node-1 back to how it was" in str(caught.value)
    assert fault.active  # a failed restore can be tried again
    world.rejoins = True
    assert not fault.restore().active


def test_with_block_restores_also_when_it_raises(powered) -> None:
    lab, world, _ = powered
    with pytest.raises(RuntimeError, match="cell failed"), power_off(lab, "node-3") as fault:
        assert not lab.node("node-3").running
        raise RuntimeError("cell failed")
    assert world.source.power == [("halt", "node-3"), ("start", "node-3")]
    assert isinstance(fault, Fault) and not fault.active


def test_power_off_is_refused_where_the_kit_does_not_power() -> None:
    lab, _, remote = scripted(FakeSource(nodes()))
    with pytest.raises(NotSupported, match=r"does not power .* power the host node-3 on"):
        power_off(lab, "node-3")
    assert remote.commands == []


def test_bad_input_is_refused_before_anything_changes(powered) -> None:
    lab, world, remote = powered
    with pytest.raises(UnknownNode, match="node-1, node-2, node-3"):
        power_off(lab, "node-9")
    with pytest.raises(UnknownNode):
        cut_network(lab, "node-9")
    with pytest.raises(UnknownNode):
        stop_brick(lab, "node-9")
    assert world.source.power == [] and remote.commands == []
    lab.halt("node-3")
    with pytest.raises(NotReady, match=r"it is stopped; start it with .*lab.start\('node-3'\)"):
        power_off(lab, "node-3")
    assert world.source.power == [("halt", "node-3")]


# --- cut_network -----------------------------------------------------------------------


def test_cut_drops_the_other_nodes_and_the_restore_heals(powered) -> None:
    lab, world, remote = powered
    fault = cut_network(lab, "node-3")
    assert world.tables == {"workshop_fault"}
    (rules,) = world.loaded
    assert "192.168.62.11, 192.168.62.12" in rules and ADDRESSES["node-3"] not in rules
    assert "ip saddr @peers" in rules and "ip daddr @peers" in rules
    assert "table inet workshop_fault" in fault.detail
    fault.restore()
    fault.restore()
    assert world.tables == set()
    assert len(ran(remote, "nft delete table")) == 1


def test_cut_is_refused_when_ssh_comes_over_the_lab_network(powered) -> None:
    lab, world, remote = powered
    world.ssh_connection = "192.168.62.11 50000 192.168.62.13 22\n"
    with pytest.raises(UsageError, match="would lose it"):
        cut_network(lab, "node-3")
    assert ran(remote, "nft -f") == [] and world.tables == set()


def test_cut_is_refused_twice_and_without_nft(powered) -> None:
    lab, world, remote = powered
    world.tables.add("workshop_fault")
    with pytest.raises(UsageError, match="cut off already"):
        cut_network(lab, "node-3")
    world.tables.clear()
    world.nft_installed = False
    with pytest.raises(NotReady, match=r"lab.require\('firewall'\)"):
        cut_network(lab, "node-3")
    assert ran(remote, "nft -f") == []


def test_a_failed_cut_is_rolled_back(powered) -> None:
    lab, world, remote = powered
    world.nft_fails = True
    with pytest.raises(Exception, match="syntax error"):
        cut_network(lab, "node-3")
    assert ran(remote, "nft delete table") != []
    assert world.tables == set()


# --- stop_brick ------------------------------------------------------------------------


def test_stop_brick_kills_the_nodes_brick_and_the_restore_starts_it(powered) -> None:
    lab, world, remote = powered
    with stop_brick(lab, "node-3") as fault:
        assert not world.brick_up
        assert ran(remote, "kill") == ["kill 1898"]
        assert BRICK_3 in fault.detail and "`kill 1898` on node-3" in fault.detail
    assert world.brick_up and not fault.active
    assert ran(remote, "volume start") == ["gluster --mode=script volume start swarm-data force"]
    assert "3 bricks online; 0 entries to heal" in fault.restore_detail


def test_the_restore_waits_for_the_heal(powered) -> None:
    lab, world, _ = powered
    fault = stop_brick(lab, "node-3", timeout=0)
    world.heals = False
    with pytest.raises(NotConverged, match="entries waiting for heal: unknown"):
        fault.restore()
    world.heals = True
    fault.restore()
    assert not fault.active


def test_an_unknown_volume_is_refused_with_the_volumes_there_are(powered) -> None:
    lab, world, remote = powered
    with pytest.raises(UsageError, match="volume 'nosuch' is not valid; choose one of: swarm-data"):
        stop_brick(lab, "node-3", volume="nosuch")
    assert ran(remote, "kill") == [] and world.brick_up


def test_a_brick_already_stopped_is_refused(powered) -> None:
    lab, world, remote = powered
    world.brick_up = False
    with pytest.raises(NotReady, match="not running already"):
        stop_brick(lab, "node-3")
    assert ran(remote, "kill") == []
