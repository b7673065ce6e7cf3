"""The chapters' checks against a fake lab answering with recorded output (no lab)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.unit.fakes import (
    FakeRemote,
    FakeSource,
    FakeVagrantSource,
    Handler,
    Reply,
    down,
    heal_info_node_down,
    on,
)
from workshop import Lab, checks
from workshop.lab import LabSource, Node
from workshop.lab.node import SSHEndpoint
from workshop.steps.firewall import _UNIT_TEXT, _digest, ruleset

DATA = Path(__file__).resolve().parent.parent / "data"
SWARM = DATA / "swarm"
GLUSTER = DATA / "gluster"
NAMES = ("node-1", "node-2", "node-3")


def _node(index: int, name: str) -> Node:
    role = "manager" if index < 2 else "worker"
    return Node(name, role, f"192.168.56.{11 + index}", SSHEndpoint("127.0.0.1", 2200 + index))


def recorded_swarm(node_ls: str = "node-ls.jsonl") -> list[Handler]:
    def service_ps(name: str, command: str) -> Reply | None:
        match = re.search(r"docker service ps (\S+)", command)
        if not match:
            return None
        path = SWARM / f"service-ps-{match.group(1)}.jsonl"
        return (0, path.read_text(), "") if path.is_file() else (1, "", "no such service")

    return [
        on(r"docker node ls", (SWARM / node_ls).read_text()),
        on(r"docker node inspect", (SWARM / "node-inspect.json").read_text()),
        on(r"docker service ls", (SWARM / "service-ls.jsonl").read_text()),
        service_ps,
    ]


def make_lab(*handlers: Handler, source: LabSource | None = None) -> tuple[Lab, FakeRemote]:
    """A lab of real hosts (or of ``source``) whose nodes answer from ``handlers``."""
    lab = Lab(source or FakeSource([_node(i, name) for i, name in enumerate(NAMES)]))
    remote = FakeRemote(handlers)
    lab.remote = remote  # type: ignore[assignment]
    return lab, remote


# --- chapter 00 / 02 --------------------------------------------------------------
def vagrant_lab(tmp_path: Path, *handlers: Handler) -> tuple[Lab, FakeRemote]:
    """The same three nodes, made by Vagrant (settings, power, Vagrant's advice)."""
    nodes = [_node(i, name) for i, name in enumerate(NAMES)]
    return make_lab(*handlers, source=FakeVagrantSource(tmp_path, nodes))


def test_nodes_answer_passes_and_names_a_silent_node(tmp_path: Path) -> None:
    lab, _ = make_lab(on("hostname", "x"))
    result = checks.nodes_answer(lab)
    assert result.passed and "3 of 3 nodes answer" in result.message

    lab, _ = vagrant_lab(tmp_path, down("node-2"))
    result = checks.nodes_answer(lab)
    assert not result.passed and "node-2" in result.message and "workshop up" in result.hint


def test_nodes_answer_gives_real_hosts_their_own_advice() -> None:
    lab, _ = make_lab(down("node-2"))
    result = checks.nodes_answer(lab)
    assert not result.passed and "node-2" in result.message
    assert result.hint == lab.source.start_advice("node-2")
    assert "workshop up" not in result.hint


def test_nodes_answer_counts_the_machines_the_settings_want(tmp_path: Path) -> None:
    nodes = [_node(i, name) for i, name in enumerate(NAMES[:2])]
    lab, _ = make_lab(on("hostname", "x"), source=FakeVagrantSource(tmp_path, nodes))
    result = checks.nodes_answer(lab)
    assert not result.passed and result.message == "2 of 3 machines exist"
    assert "workshop up" in result.hint


def test_docker_running_groups_versions_and_names_missing_engines() -> None:
    lab, _ = make_lab(on(r"ServerVersion", "20.10.24+dfsg1"))
    result = checks.docker_running(lab)
    assert result.passed
    assert result.message == "Docker 20.10.24+dfsg1 on node-1, node-2, node-3"

    lab, _ = make_lab(on(r"ServerVersion", "", nodes=["node-3"]), on(r"ServerVersion", "24.0"))
    result = checks.docker_running(lab)
    assert not result.passed and "node-3" in result.message and "install_docker" in result.hint


def test_a_node_without_ssh_makes_a_failed_check_not_an_exception() -> None:
    lab, _ = make_lab(down("node-3"))
    result = checks.docker_running(lab)
    assert not result.passed and result.message.startswith("could not check")


# --- chapter 03 -----------------------------------------------------------------
def test_swarm_formed_reads_roles_and_the_leader() -> None:
    lab, _ = make_lab(*recorded_swarm())
    result = checks.swarm_formed(lab, managers=2, workers=1)
    assert result.passed, str(result)
    assert result.name == "swarm of 2 managers and 1 worker"
    assert result.message == "node-1 leader, node-2 reachable, node-3 worker"
    assert checks.swarm_formed(lab).passed  # the lab's own roles by default


def test_swarm_formed_fails_on_wrong_counts_and_down_nodes() -> None:
    lab, _ = make_lab(*recorded_swarm())
    result = checks.swarm_formed(lab, managers=3, workers=0)
    assert not result.passed and "2 managers and 1 workers, expected 3 and 0" in result.message

    lab, _ = make_lab(*recorded_swarm("node-ls-faults.jsonl"))
    result = checks.swarm_formed(lab)
    assert not result.passed
    assert "not ready: node-1 (down)" in result.message
    assert "managers not reachable: node-1" in result.message


def _firewall_loaded() -> Handler:
    digest = _digest(ruleset(["192.168.56.11", "192.168.56.12", "192.168.56.13"]) + _UNIT_TEXT)
    return on(r"sha256sum", f"{digest}  -\nloaded")


def test_firewall_open_checks_rules_and_ports_between_nodes() -> None:
    lab, remote = make_lab(_firewall_loaded(), on(r"/dev/tcp", ""))
    result = checks.firewall_open(lab)
    assert result.passed, str(result)
    assert "192.168.56.11, 192.168.56.12, 192.168.56.13" in result.message
    probe = next(cmd for cmd in remote.commands if "/dev/tcp" in cmd)
    assert "/dev/tcp/192.168.56.11/2377" in probe and "/dev/tcp/192.168.56.13/7946" in probe
    assert shlex.split(probe)  # a well-formed shell line

    lab, _ = make_lab(_firewall_loaded(), on(r"/dev/tcp", "2377@192.168.56.11", nodes=["node-3"]))
    result = checks.firewall_open(lab)
    assert not result.passed
    assert "node-3" in result.message and "2377@192.168.56.11" in result.message


def test_firewall_open_fails_when_rules_are_missing() -> None:
    lab, _ = make_lab(on(r"sha256sum", "e3b0c44298fc  -"))
    result = checks.firewall_open(lab)
    assert not result.passed and "not loaded" in result.message and "steps.firewall" in result.hint


#: ``docker network ls --format '{{json .}}'`` on a node of the real swarm: the
#: engine's own networks and the two that joining a swarm adds.
NETWORK_LS = (DATA / "swarm" / "network-ls.jsonl").read_text().splitlines()


def test_swarm_networks_wants_ingress_overlay_and_gwbridge_everywhere() -> None:
    listing = "\n".join(NETWORK_LS) + "\n"
    lab, _ = make_lab(on(r"docker network ls --format '\{\{json \.\}\}'", listing))
    assert checks.swarm_networks(lab).passed

    lab, _ = make_lab(
        on(r"docker network ls", NETWORK_LS[0], nodes=["node-3"]),
        on(r"docker network ls", listing),
    )
    result = checks.swarm_networks(lab)
    assert not result.passed
    assert result.message == "node-3 lacks ingress (overlay), docker_gwbridge (bridge)"


# --- chapter 04 -----------------------------------------------------------------
def test_service_replicas_counts_tasks_per_node() -> None:
    lab, _ = make_lab(*recorded_swarm())
    result = checks.service_replicas(lab, "helloworld", 6)
    assert result.passed, str(result)
    assert result.message == "6/6 running: node-1 2, node-2 2, node-3 2"


def test_service_replicas_explains_what_is_wrong() -> None:
    lab, _ = make_lab(*recorded_swarm())
    wants = checks.service_replicas(lab, "helloworld", 30)
    assert not wants.passed and wants.message == "helloworld wants 6 replicas"
    assert "docker service scale helloworld=30" in wants.hint
    missing = checks.service_replicas(lab, "web", 3)
    assert not missing.passed and "no service 'web'" in missing.message
    global_one = checks.service_replicas(lab, "hello", 3)
    assert not global_one.passed and "global" in global_one.message


def test_global_service_wants_one_task_on_every_node() -> None:
    lab, _ = make_lab(*recorded_swarm())
    result = checks.global_service(lab, "hello")
    assert result.passed and result.message == "one task on each of node-1, node-2, node-3"
    replicated = checks.global_service(lab, "helloworld")
    assert not replicated.passed and "replicated, not global" in replicated.message


def test_service_absent() -> None:
    lab, _ = make_lab(*recorded_swarm())
    assert checks.service_absent(lab, "web").passed
    gone = checks.service_absent(lab, "helloworld")
    assert not gone.passed and "docker service rm helloworld" in gone.hint


# --- chapter 05 -----------------------------------------------------------------
class SharedFiles:
    """A shared volume: ``echo X > path`` on one node, ``cat path`` on another."""

    def __init__(self, blind: Sequence[str] = ()) -> None:
        self.files: dict[str, str] = {}
        self.blind = set(blind)

    def __call__(self, node: str, command: str) -> Reply | None:
        write = re.fullmatch(r"echo (\S+) > (\S+)", command)
        if write:
            self.files[write.group(2)] = write.group(1) + "\n"
            return (0, "", "")
        read = re.fullmatch(r"cat (\S+)", command)
        if read:
            if node in self.blind or read.group(1) not in self.files:
                return (1, "", "No such file or directory")
            return (0, self.files[read.group(1)], "")
        remove = re.fullmatch(r"rm -f (\S+)", command)
        if remove:
            self.files.pop(remove.group(1), None)
            return (0, "", "")
        return None


def gluster(**overrides: str | Handler) -> list[Handler]:
    """Gluster's ``--xml`` answers recorded on a real lab; ``overrides`` by command text."""
    answers: dict[str, str | Handler] = {
        "volume info": (GLUSTER / "volume-info.xml").read_text(),
        "pool list": (GLUSTER / "pool-list.xml").read_text(),
        "heal swarm-data info": (GLUSTER / "heal-info.xml").read_text(),
        "findmnt": "localhost:/swarm-data",
        **overrides,
    }
    return [
        answer if callable(answer) else on(re.escape(key), answer)
        for key, answer in answers.items()
    ]


def test_gluster_shared_round_trips_a_file_and_cleans_up() -> None:
    files = SharedFiles()
    lab, remote = make_lab(files, *gluster())
    result = checks.gluster_shared(lab)
    assert result.passed, str(result)
    assert "Replicate volume (1 x 3 = 3 bricks)" in result.message
    assert "reads the same on node-2, node-3" in result.message
    assert files.files == {}  # the probe file is removed
    reads = [node for node, cmd in remote.calls if cmd.startswith("cat ")]
    assert reads == ["node-2", "node-3"]
    assert "gluster --mode=script volume info swarm-data --xml" in remote.commands


def test_gluster_shared_names_the_node_that_does_not_see_the_file() -> None:
    lab, _ = make_lab(SharedFiles(blind=["node-3"]), *gluster())
    result = checks.gluster_shared(lab)
    assert not result.passed and result.message.endswith("not read back on node-3")


def test_gluster_shared_fails_without_a_started_volume_or_a_mount() -> None:
    missing = gluster(**{"volume info": (GLUSTER / "volume-info-missing.xml").read_text()})
    lab, _ = make_lab(SharedFiles(), *missing)
    result = checks.gluster_shared(lab)
    assert not result.passed and "no such volume" in result.message

    unmounted = on("findmnt", "", nodes=["node-2"])
    lab, remote = make_lab(SharedFiles(), unmounted, *gluster())
    result = checks.gluster_shared(lab)
    assert not result.passed and result.message == "not mounted at /mnt/swarm-data on node-2"
    assert len(remote.matching("findmnt")) == 1  # one probe of the mounts


def test_gluster_peers_from_pool_list() -> None:
    lab, remote = make_lab(*gluster())
    result = checks.gluster_peers(lab)
    assert result.passed and "gluster-2, gluster-3" in result.message
    assert remote.calls == [("node-1", "gluster --mode=script pool list --xml")]

    alone = (GLUSTER / "pool-list-alone.xml").read_text()
    lab, _ = make_lab(*gluster(**{"pool list": alone}))
    result = checks.gluster_peers(lab)
    assert not result.passed
    assert result.message == "pool of node-1: no peers; 0 of 2 peers in the pool"


def test_gluster_peers_says_what_gluster_said_when_glusterd_is_down() -> None:
    glusterd_down = on("pool list", (GLUSTER / "glusterd-down.txt").read_text(), rc=1)
    lab, _ = make_lab(*gluster(**{"pool list": glusterd_down}))
    result = checks.gluster_peers(lab)
    assert not result.passed
    assert result.message == "Connection failed. Please check if gluster daemon is operational."
    assert result.hint.startswith("`gluster peer probe gluster-2`")


def test_gluster_healed_reads_heal_info() -> None:
    lab, remote = make_lab(*gluster())
    healed = checks.gluster_healed(lab)
    assert healed.passed and healed.message == "3 bricks connected, 0 entries to heal"
    assert remote.matching("heal") == ["gluster --mode=script volume heal swarm-data info --xml"]

    lab, _ = make_lab(*gluster(**{"heal swarm-data info": heal_info_node_down()}))
    result = checks.gluster_healed(lab)
    assert not result.passed
    assert "gluster-1:/data/bricks/swarm-data/brick has 2 to heal" in result.message
    assert "gluster-3:/data/bricks/swarm-data/brick Transport endpoint" in result.message


# --- waiting --------------------------------------------------------------------
def test_wait_until_returns_the_first_pass() -> None:
    answers = iter([False, False, True])
    calls = []

    def check() -> checks.CheckResult:
        calls.append(1)
        return checks.CheckResult("x", next(answers), "seen")

    assert checks.wait_until(check, timeout=60, interval=0).passed
    assert len(calls) == 3


def test_wait_until_gives_up_with_the_last_failure() -> None:
    result = checks.wait_until(
        lambda: checks.CheckResult("x", False, "not yet", "wait"), timeout=0, interval=0
    )
    assert not result.passed and result.message.startswith("not yet (still so after")
    assert result.hint == "wait"


# --- chapter 00: the doctor ---------------------------------------------------------
def _doctor(
    monkeypatch: pytest.MonkeyPatch, *findings: tuple[str, str, str, str]
) -> list[tuple[Path, object]]:
    """The doctor answers ``findings``; returns the (project, settings) it was asked for."""
    from workshop import doctor

    asked: list[tuple[Path, object]] = []
    report = doctor.DoctorReport(tuple(doctor.Check(*finding) for finding in findings))

    def run_doctor(project: Path, settings: object) -> doctor.DoctorReport:
        asked.append((project, settings))
        return report

    monkeypatch.setattr("workshop.checks.host.run_doctor", run_doctor)
    return asked


def test_host_ready_passes_with_warnings_and_shows_their_fallback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked = _doctor(
        monkeypatch,
        ("docker engine", "ok", "Docker Engine 20.10", ""),
        ("kernel: ip_vs", "warn", "missing", "host-mode ports behind a proxy (chapter 08)"),
    )
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    lab, _ = vagrant_lab(tmp_path)
    result = checks.host_ready(lab)
    assert result.passed and result.message.endswith("warnings: kernel: ip_vs")
    assert result.details[1].message == "warn: missing; host-mode ports behind a proxy (chapter 08)"
    assert asked == [(tmp_path.resolve(), lab.settings)]


def test_host_ready_fails_on_a_fail_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _doctor(monkeypatch, ("kernel: fuse", "fail", "no /dev/fuse", "`modprobe fuse`"))
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    lab, _ = vagrant_lab(tmp_path)
    result = checks.host_ready(lab)
    assert not result.passed and result.hint == "`modprobe fuse`"


def test_host_ready_does_not_judge_this_machine_for_real_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _doctor(monkeypatch, ("kernel: fuse", "fail", "no /dev/fuse", "`modprobe fuse`"))
    lab, _ = make_lab()
    result = checks.host_ready(lab)
    assert result.passed and result.message.startswith("does not apply")
    assert asked == []
