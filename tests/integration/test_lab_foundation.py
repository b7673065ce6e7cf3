"""The lab foundation on a real lab: node containers through Vagrant's docker provider.

The tests run in file order on one lab: up, commands, a node powered off and on,
the inventory path, the CLI, leftovers of an interrupted run, and `down` last.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import docker
import pytest

from tests.swarm_setup import workshop_cli
from workshop import Lab, NodeUnreachable, UnknownNode
from workshop.lab.hostkeys import load_known_hosts
from workshop.lab.runtime import lab_objects
from workshop.lab.vagrant import VagrantSource
from workshop.lab.vagrant_parse import parse_ssh_config

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["node-1", "node-2", "node-3"]


@pytest.fixture(scope="module")
def lab(lab_settings_env: str) -> Lab:
    lab = Lab.from_vagrant(ROOT, discover=False)
    lines: list[str] = []
    lab.up(progress=lines.append)
    return lab


def test_up_gives_three_running_nodes_with_roles_and_addresses(lab: Lab, lab_subnet: str) -> None:
    assert lab.names == NAMES
    assert [n.state for n in lab.nodes] == ["running"] * 3
    assert [n.name for n in lab.managers] == ["node-1", "node-2"]
    assert [n.name for n in lab.workers] == ["node-3"]
    assert [n.address for n in lab.nodes] == [f"{lab_subnet}.{10 + i}" for i in (1, 2, 3)]


def test_hostname_on_all_nodes(lab: Lab) -> None:
    results = lab.run("hostname")
    assert results.stdout == {name: name for name in NAMES}
    assert all(r.rc == 0 for r in results)


def test_each_node_has_its_lab_address(lab: Lab) -> None:
    results = lab.run("ip -4 -o addr show")
    for node in lab.nodes:
        assert f"inet {node.address}/24" in results[node.name].stdout


def test_commands_run_in_parallel(lab: Lab) -> None:
    results = lab.run("date +%s.%N; sleep 2; date +%s.%N")
    intervals = []
    for result in results:
        start, end = (float(x) for x in result.stdout.split())
        assert end - start >= 2
        intervals.append((start, end))
    # Every interval overlaps every other: the latest start is before the earliest end.
    assert max(s for s, _ in intervals) < min(e for _, e in intervals)


def test_failure_on_one_node_keeps_the_others(lab: Lab) -> None:
    results = lab.run('if [ "$(hostname)" = node-2 ]; then echo broken >&2; exit 3; fi; echo fine')
    assert [r.node for r in results.failed] == ["node-2"]
    assert results["node-2"].rc == 3
    assert "broken" in results["node-2"].stderr
    assert results.stdout["node-1"] == "fine" and results.stdout["node-3"] == "fine"
    text = str(results)
    assert "node-2" in text and "3" in text and "broken" in text


def test_sudo_runs_as_root(lab: Lab) -> None:
    assert set(lab.run("id -u", sudo=True).stdout.values()) == {"0"}


def test_unknown_node_lists_the_valid_names(lab: Lab) -> None:
    with pytest.raises(UnknownNode) as info:
        lab.run("true", on="node-9")
    assert all(name in str(info.value) for name in NAMES)


def node_containers(lab: Lab) -> dict[str, str]:
    """Name -> id of the lab's node containers (its apt cache, kept across runs, aside)."""
    labels = [f"workshop.lab={lab.source.settings.name}", "workshop.node"]  # type: ignore[attr-defined]
    return {c.name: c.id for c in docker.from_env().containers.list(filters={"label": labels})}


def test_up_again_reuses_the_running_lab(lab: Lab) -> None:
    before = node_containers(lab)
    lab.up()
    assert node_containers(lab) == before and len(before) == 3


def assert_engine_agrees_with_vagrant(lab: Lab) -> None:
    """The engine's view of the machines (what `Lab.connect` reads) is Vagrant's."""
    source = lab.source
    assert isinstance(source, VagrantSource)
    view = source.engine_view()
    assert view is not None, "the engine view fell back to Vagrant on a settled lab"
    states, endpoints = view
    vagrant_states = source.status()
    assert {n: s.state for n, s in states.items()} == {
        n: s.state for n, s in vagrant_states.items()
    }
    running = {n for n, s in vagrant_states.items() if s.running}
    vagrant_endpoints = source.vagrant(["ssh-config", *sorted(running)])
    assert {n: endpoints[n] for n in running} == parse_ssh_config(vagrant_endpoints)


def test_a_node_that_lost_its_lab_network_is_attached_again(lab: Lab, lab_subnet: str) -> None:
    client = docker.from_env()
    network = client.networks.list(filters={"label": f"workshop.lab={lab.settings.name}"})[0]
    network.disconnect(f"{lab.settings.name}-node-3", force=True)
    assert lab.run("ip -4 -o addr show", on="node-3").stdout["node-3"].count(lab_subnet) == 0
    assert lab.up().node("node-3").running  # `up` of a running lab checks every address
    assert f"{lab_subnet}.13/" in lab.run("ip -4 -o addr show", on="node-3").stdout["node-3"]
    client.close()


def test_engine_view_agrees_with_vagrant(lab: Lab) -> None:
    assert_engine_agrees_with_vagrant(lab)


def test_halted_node_is_reported_unreachable_and_others_succeed(lab: Lab) -> None:
    stale = Lab(lab.source, lab.nodes)  # still believes node-3 is running
    lab.halt("node-3")
    assert lab.node("node-3").state != "running"
    assert_engine_agrees_with_vagrant(lab)
    results = lab.run("hostname")
    assert [r.node for r in results.failed] == ["node-3"]
    assert results.stdout["node-1"] == "node-1" and results.stdout["node-2"] == "node-2"
    # A lab object that does not know yet: it tries, and gets an answer quickly, not a hang.
    results = stale.run("hostname", timeout=30)
    failed = results["node-3"]
    assert failed.rc is None and failed.unreachable and "no SSH answer" in (failed.error or "")
    assert failed.duration < 30  # the connect timeout answered, not the command's 30 s
    with pytest.raises(NodeUnreachable) as info:
        results.raise_for_failures()
    message = str(info.value)
    assert "node-3" in message and lab.node("node-3").address in message
    assert "workshop status" in message
    stale.close()


def test_started_node_recovers(lab: Lab) -> None:
    lab.start("node-3")
    assert lab.node("node-3").state == "running"
    assert lab.run("hostname").stdout == {name: name for name in NAMES}
    # systemd came back as on a rebooted machine.
    assert lab.run("systemctl is-system-running --wait", on="node-3", timeout=60).stdout[
        "node-3"
    ] in ("running", "degraded")


def test_inventory_from_the_labs_own_ssh_config(lab: Lab, tmp_path: Path) -> None:
    config = lab.source.vagrant(["ssh-config"])  # type: ignore[attr-defined]
    inventory = tmp_path / "inventory.ssh"
    inventory.write_text(config)
    # Vagrant's config turns host-key checking off; the kit checks anyway.
    unknown = Lab.from_inventory(inventory).run("hostname", on="node-1")
    assert unknown.failed and "workshop trust node-1" in str(unknown["node-1"].error)
    # With the keys the lab recorded, filed under the config's [host]:port.
    known = tmp_path / "known_hosts"
    recorded = load_known_hosts(Path(str(lab.node("node-1").ssh.known_hosts)))
    known.write_text(
        "".join(
            f"[{n.ssh.host}]:{n.ssh.port} {key.get_name()} {key.get_base64()}\n"
            for n in lab.nodes
            for key in (recorded.lookup(n.name) or {}).values()
        )
    )
    inventory.write_text(config.replace("  HostName ", f"  # known_hosts: {known}\n  HostName "))
    real = Lab.from_inventory(inventory)
    assert real.names == NAMES
    assert [n.name for n in real.managers] == ["node-1", "node-2"]
    assert real.run("hostname").stdout == {name: name for name in NAMES}
    real.close()


def test_cli_status_and_run(lab: Lab) -> None:
    status = workshop_cli("status")
    assert status.returncode == 0, status.stderr
    assert all(name in status.stdout for name in NAMES)
    assert "3 of 3 nodes answer" in status.stdout
    run = workshop_cli("run", "hostname", "--on", "node-2")
    assert run.returncode == 0, run.stderr
    assert "node-2" in run.stdout and "node-1" not in run.stdout
    bad = workshop_cli("run", "true", "--on", "node-7")
    assert bad.returncode == 2
    assert "node-7" in bad.stderr and "node-1, node-2, node-3" in bad.stderr


def test_cli_ssh_runs_a_command_on_the_node(lab: Lab) -> None:
    result = workshop_cli("ssh", "node-2", "hostname", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "node-2"


def test_up_removes_leftovers_of_an_interrupted_run(lab: Lab) -> None:
    name = lab.source.settings.name  # type: ignore[attr-defined]
    client = docker.from_env()
    # What a run in another, deleted clone leaves behind: a node container and its volume.
    volume = client.volumes.create(f"{name}-node-9-docker", labels={"workshop.lab": name})
    client.containers.create(
        "workshop/node:bookworm",
        name=f"{name}-node-9",
        labels={"workshop.lab": name},
        volumes={volume.name: {"bind": "/var/lib/docker", "mode": "rw"}},
    )
    lab.up()
    objects = lab_objects(name)
    assert f"{name}-node-9" not in objects.containers
    assert volume.name not in objects.volumes
    assert lab.run("hostname").stdout == {n: n for n in NAMES}


def test_down_leaves_nothing_and_is_idempotent(lab: Lab) -> None:
    name = lab.source.settings.name  # type: ignore[attr-defined]
    lab.destroy()
    assert not lab_objects(name), lab_objects(name)
    for kind in ("ps -a", "network ls", "volume ls"):
        out = subprocess.run(
            ["docker", *kind.split(), "-q", "--filter", f"label=workshop.lab={name}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == "", f"docker {kind} still lists: {out}"
    again = workshop_cli("down")
    assert again.returncode == 0, again.stderr
