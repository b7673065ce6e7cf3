"""The inventory path end to end: the test lab's nodes driven as real SSH hosts.

`scripts/run-tests.sh` runs this module after the main run, on the test lab that
run used (``WORKSHOP_LAB``/``WORKSHOP_SUBNET``, default ``wstest`` on 192.168.57).
Its nodes are described as an inventory, as a user would describe cloud VMs: their
lab addresses, the user ``vagrant``, the lab's private key, and a ``known_hosts``
file holding each node's host key under its address (read from the node container
through this machine's Docker engine; the user's own ``~/.ssh/known_hosts`` is
never touched). With ``WORKSHOP_INVENTORY`` set to it, `workshop provision --until
demoapp`, chapters 03 and 05 under nbval, then `workshop down`, which must take the
kit's work off the hosts (swarm, volume, stacks, firewall) and leave the machines
running and answering SSH. A second `down` finds nothing left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.swarm_setup import workshop_cli
from workshop.settings import LabSettings

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ("notebooks/03-create-the-swarm.ipynb", "notebooks/05-shared-storage.ipynb")
#: Seconds for each stage (the whole module is meant to fit in 8 minutes).
PROVISION_TIMEOUT = 420
CHAPTERS_TIMEOUT = 600
DOWN_TIMEOUT = 240
UP_TIMEOUT = 300
TASK_LABEL = "com.docker.swarm.service.id"
#: Seconds each stage took, printed at the end.
TIMES: dict[str, float] = {}


@dataclass(frozen=True)
class Hosts:
    """The test lab seen as real hosts."""

    settings: LabSettings
    containers: dict[str, str]  # node -> container name
    inventory: Path
    known_hosts: Path
    key: Path
    env: dict[str, str]


def _lab_env() -> dict[str, str]:
    env = {**os.environ}
    env.setdefault("WORKSHOP_LAB", "wstest")
    env.setdefault("WORKSHOP_SUBNET", "192.168.57")
    if env["WORKSHOP_LAB"] == "workshop":
        pytest.fail("this test tears its lab down: give it a lab of its own (WORKSHOP_LAB)")
    env.pop("WORKSHOP_INVENTORY", None)
    env["WORKSHOP_HOME"] = str(ROOT)
    return env


def _docker(*args: str, timeout: float = 60) -> str:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr.strip()}"
    return proc.stdout


def _node_containers(lab: str) -> dict[str, str]:
    """Node -> the name of its running container, for every running node of ``lab``."""
    out = _docker(
        "ps",
        "--filter",
        f"label=workshop.lab={lab}",
        "--filter",
        "label=workshop.node",
        "--format",
        '{{.Label "workshop.node"}} {{.Names}}',
    )
    return dict(line.split() for line in out.splitlines() if line.strip())


def workshop(env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the `workshop` command as a user would, from the kit's folder."""
    return workshop_cli(*args, env=env, timeout=timeout)


def _timed(stage: str, started: float) -> None:
    TIMES[stage] = time.monotonic() - started


def _lab_running(env: dict[str, str], settings: LabSettings) -> dict[str, str]:
    """Start the lab's machines if one is missing or stopped (after chapter 99 they run)."""
    containers = _node_containers(settings.name)
    if sorted(containers) != sorted(settings.node_names):
        started = time.monotonic()
        proc = workshop(env, "up", timeout=UP_TIMEOUT)
        assert proc.returncode == 0, f"workshop up failed:\n{proc.stderr[-3000:]}"
        _timed("up", started)
        containers = _node_containers(settings.name)
    assert sorted(containers) == sorted(settings.node_names), containers
    return containers


def _write_inventory(folder: Path, settings: LabSettings, containers: dict[str, str]) -> Hosts:
    """The inventory and known_hosts a user would write for these hosts."""
    key = ROOT / ".workshop" / "ssh" / "id_ed25519"
    assert key.is_file(), f"the lab's SSH key is missing: {key}"
    known = []
    for name in settings.node_names:
        host_key = _docker("exec", containers[name], "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
        kind, blob = host_key.split()[:2]
        known.append(f"{settings.address(name)} {kind} {blob}\n")
    known_hosts = folder / "known_hosts"
    known_hosts.write_text("".join(known), encoding="utf-8")
    inventory = folder / "inventory.yml"
    document = {
        "known_hosts": str(known_hosts),
        "defaults": {"user": "vagrant", "identity_file": str(key)},
        "nodes": [
            {
                "name": name,
                "host": settings.address(name),
                "address": settings.address(name),
                "role": settings.role(name),
            }
            for name in settings.node_names
        ],
    }
    inventory.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    env = {**_lab_env(), "WORKSHOP_INVENTORY": str(inventory)}
    return Hosts(settings, containers, inventory, known_hosts, key, env)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    env = _lab_env()
    settings = LabSettings.load(ROOT, env)
    containers = _lab_running(env, settings)
    yield _write_inventory(tmp_path_factory.mktemp("hosts"), settings, containers)
    print("inventory path, seconds per stage:", json.dumps({k: round(v) for k, v in TIMES.items()}))


def on_node(hosts: Hosts, node: str, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a command in a node container, beside the kit (not through its SSH)."""
    return subprocess.run(
        ["docker", "exec", hosts.containers[node], *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_provision_reaches_demoapp_on_the_hosts(hosts: Hosts) -> None:
    started = time.monotonic()
    proc = workshop(hosts.env, "provision", "--until", "demoapp", timeout=PROVISION_TIMEOUT)
    _timed("provision", started)
    assert proc.returncode == 0, f"provision failed:\n{proc.stderr[-3000:]}"
    assert "demoapp" in proc.stdout
    for node in hosts.settings.node_names:
        info = on_node(hosts, node, "docker", "info", "--format", "{{json .Swarm}}")
        assert json.loads(info.stdout)["LocalNodeState"] == "active", (node, info.stdout)


def test_chapters_03_and_05_run_on_the_hosts(hosts: Hosts) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", *CHAPTERS],
        cwd=ROOT,
        env=hosts.env,
        capture_output=True,
        text=True,
        timeout=CHAPTERS_TIMEOUT,
        check=False,
    )
    _timed("chapters 03 and 05", started)
    # The whole report stays for a failure's cause: pytest's own log cuts it short.
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "inventory-chapters.log").write_text(proc.stdout + proc.stderr)
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
    assert proc.returncode == 0, f"chapters 03 and 05 failed on the inventory:\n{tail}"


def test_down_takes_the_kits_work_off_the_hosts(hosts: Hosts) -> None:
    started = time.monotonic()
    proc = workshop(hosts.env, "down", timeout=DOWN_TIMEOUT)
    _timed("down", started)
    assert proc.returncode == 0, f"down failed:\n{proc.stderr[-3000:]}"
    for node in hosts.settings.node_names:
        assert node in proc.stdout
    names = hosts.settings.node_names
    first = names[0]
    for node in names:
        info = on_node(hosts, node, "docker", "info", "--format", "{{json .Swarm}}")
        assert json.loads(info.stdout)["LocalNodeState"] == "inactive", (node, info.stdout)
        tasks = on_node(hosts, node, "docker", "ps", "-aq", "--filter", f"label={TASK_LABEL}")
        assert tasks.stdout.strip() == "", (node, tasks.stdout)
        mounted = on_node(hosts, node, "findmnt", "-n", "/mnt/swarm-data")
        assert mounted.stdout.strip() == "", (node, mounted.stdout)
        fstab = on_node(hosts, node, "cat", "/etc/fstab").stdout
        assert "swarm-data" not in fstab, (node, fstab)
        tables = on_node(hosts, node, "nft", "list", "tables").stdout
        assert "workshop_" not in tables, (node, tables)
    volumes = on_node(hosts, first, "gluster", "--mode=script", "volume", "list")
    assert "swarm-data" not in volumes.stdout, volumes.stdout
    services = on_node(hosts, first, "docker", "service", "ls")
    assert "This node is not a swarm manager" in services.stderr, services


def test_the_machines_still_run_and_answer_ssh(hosts: Hosts) -> None:
    assert sorted(_node_containers(hosts.settings.name)) == sorted(hosts.settings.node_names)
    for node in hosts.settings.node_names:
        address = hosts.settings.address(node)
        proc = subprocess.run(
            [
                "ssh",
                "-i", str(hosts.key),
                "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={hosts.known_hosts}",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=10",
                "-l", "vagrant",
                "--", address, "docker --version",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, (node, proc.stderr)
        assert "Docker version" in proc.stdout, (node, proc.stdout)


def test_a_second_down_finds_nothing_left(hosts: Hosts) -> None:
    started = time.monotonic()
    proc = workshop(hosts.env, "down", timeout=DOWN_TIMEOUT)
    _timed("second down", started)
    assert proc.returncode == 0, f"second down failed:\n{proc.stderr[-3000:]}"
    assert "Nothing of the kit was left on the hosts." in proc.stdout, proc.stdout
