"""Chapters 03, 04, 05, 08, 07 and 09 each run alone, first thing, on a lab of bare nodes.

Every chapter starts with ``lab.require(<state>)`` so that a learner can open it
first. This proves it: for each chapter the module resets a lab of its own
(``wsalone`` on 192.168.62.0/24) to bare nodes (``destroy`` then ``up``: no Docker,
no swarm) and runs the notebook alone under nbval, in a child pytest whose kernel
finds that lab through the environment. The lab is destroyed at the end.

The run uses snapshots as a learner's lab does (``WORKSHOP_SNAPSHOTS=1`` from
`scripts/run-tests.sh`): a `require` that reaches a state chapters start from by
its steps saves it, and `destroy` keeps it. Chapter 08 runs before 07, so 08 builds
the registry state by its steps from bare nodes and saves it, and chapters 07 and 09
start from that snapshot: each of them is checked to have been restored from it
(every node container made from the snapshot's image). Chapters 03 and 05 teach an
installation and run it in front of the learner either way.

Chapter 09 powers managers off, promotes and demotes, drains and pauses. After its
run, ``test_chapter_09_leaves_nodes_and_roles_as_it_found_them`` compares the nodes
as ``docker node ls --format '{{json .}}'`` lists them (host name, role,
availability, status) and the machines' power with what the chapter found once its
first cell had built the swarm: every machine on, every node Ready and Active, with
the role the lab's settings give it (``lab.require`` makes exactly that, and a new
swarm has every node Active). It reuses the alone run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.swarm_setup import lab_env
from workshop import Lab, WorkshopError
from workshop.lab.snapshot_store import image_repository
from workshop.lab.snapshot_use import matching_snapshot
from workshop.lab.vagrant import VagrantSource

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB_NAME = "wsalone"
SUBNET = "192.168.62"
CHAPTERS = (
    "03-create-the-swarm.ipynb",
    "04-services-and-scaling.ipynb",
    "05-shared-storage.ipynb",
    "08-load-balancing.ipynb",
    "07-deploy-a-stack.ipynb",
    "09-fault-tolerance.ipynb",
)
#: The chapter that breaks the lab on purpose and must leave it as it found it.
FAULTS_CHAPTER = "09-fault-tolerance.ipynb"
#: Chapters that must start from the snapshot chapter 08 saved, and its name.
FROM_SNAPSHOT = {"07-deploy-a-stack.ipynb": "state-registry", FAULTS_CHAPTER: "state-registry"}
#: Seconds one chapter may take under nbval (a cold `require` included).
CHAPTER_TIMEOUT = 900
#: Chapters that need longer: 09 powers two managers off and on (about 6 minutes on a
#: busy CI host), after its start (the registry state: 6 more when built by steps).
TIMEOUTS = {FAULTS_CHAPTER: 1500}
#: Seconds for the reset to bare nodes, on top (pytest-timeout's limit per chapter).
RESET_TIMEOUT = 300


def _timed(chapter: str) -> object:
    """The chapter as a test parameter whose time limit fits it (over ``--timeout``)."""
    seconds = TIMEOUTS.get(chapter, CHAPTER_TIMEOUT) + RESET_TIMEOUT
    return pytest.param(chapter, marks=pytest.mark.timeout(seconds))


@pytest.fixture(scope="module")
def alone_lab() -> Iterator[tuple[Lab, dict[str, str]]]:
    """The lab the chapters run on, and the environment that makes their kernels find it."""
    with lab_env(LAB_NAME, SUBNET):
        lab = Lab.from_vagrant(ROOT, discover=False)
    env = {**os.environ, "WORKSHOP_LAB": LAB_NAME, "WORKSHOP_SUBNET": SUBNET}
    env["WORKSHOP_HOME"] = str(ROOT)
    env.pop("WORKSHOP_INVENTORY", None)
    try:
        yield lab, env
    finally:
        lab.destroy()


#: (host name, role, availability, status) of one swarm node.
NodeRow = tuple[str, str, str, str]


@pytest.fixture(scope="module")
def after_chapter() -> dict[str, tuple[list[str], list[NodeRow]]]:
    """Chapter -> (the machines' power, the swarm's nodes) right after its alone run."""
    return {}


def node_rows(lab: Lab) -> list[NodeRow]:
    """The swarm's nodes as ``docker node ls --format '{{json .}}'`` on a manager lists them."""
    listing = "docker node ls --format '{{json .}}'"
    for manager in lab.managers:
        result = lab.run(listing, on=manager.name, sudo=True, timeout=60)[0]
        if result.succeeded:
            rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
            return sorted(
                (
                    row["Hostname"],
                    "manager" if row["ManagerStatus"] else "worker",
                    row["Availability"],
                    row["Status"],
                )
                for row in rows
            )
    return []


def node_images(lab: str) -> dict[str, list[str]]:
    """Node -> the names (repository:tag) of the image its container was made from."""
    client = docker.from_env()
    try:
        containers = client.containers.list(
            all=True, filters={"label": [f"workshop.lab={lab}", "workshop.node"]}
        )
        return {c.labels["workshop.node"]: c.image.tags for c in containers}
    finally:
        client.close()


def reset_to_bare_nodes(lab: Lab) -> None:
    """Destroy the lab and bring up new, bare nodes (a second try if `up` fails once).

    `vagrant up` right after a destroy has failed now and then on a busy host
    ("network ... not found" while another lab's machines came and went); this
    test is about the chapters, so it gives the lab one more chance.
    """
    lab.destroy()
    try:
        lab.up()
    except WorkshopError:
        lab.destroy()
        lab.up()


@pytest.mark.parametrize("chapter", [_timed(chapter) for chapter in CHAPTERS])
def test_chapter_runs_alone_on_bare_nodes(
    alone_lab: tuple[Lab, dict[str, str]],
    after_chapter: dict[str, tuple[list[str], list[NodeRow]]],
    chapter: str,
) -> None:
    lab, env = alone_lab
    reset_to_bare_nodes(lab)
    assert [n.state for n in lab.nodes] == ["running"] * 3
    bare = lab.run("command -v dockerd || echo no docker", sudo=True).stdout
    assert set(bare.values()) == {"no docker"}, f"not bare nodes: {bare}"
    snapshot = FROM_SNAPSHOT.get(chapter)
    if snapshot:
        assert isinstance(lab.source, VagrantSource)
        fits = matching_snapshot(lab.source, snapshot, "registry")
        assert fits is not None, f"no snapshot {snapshot} that fits the lab to start from"

    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            f"notebooks/{chapter}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUTS.get(chapter, CHAPTER_TIMEOUT),
        check=False,
    )
    took = time.monotonic() - started
    # The whole report stays for a failure's cause: the assertion shows its end only.
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / f"alone-{chapter}.log").write_text(proc.stdout + proc.stderr)
    after_chapter[chapter] = ([n.state for n in lab.refresh().nodes], node_rows(lab))
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
    assert proc.returncode == 0, f"{chapter} failed alone after {took:.0f} s:\n{tail}"
    if snapshot:
        images = node_images(LAB_NAME)
        made = {node: f"{image_repository(LAB_NAME, node)}:{snapshot}" for node in lab.names}
        restored = sorted(node for node, tags in images.items() if made[node] in tags)
        assert restored == sorted(lab.names), f"{chapter} not from {snapshot}: {images}"
    print(f"{chapter} alone on bare nodes: passed in {took:.0f} s")


def test_chapter_09_leaves_nodes_and_roles_as_it_found_them(
    alone_lab: tuple[Lab, dict[str, str]],
    after_chapter: dict[str, tuple[list[str], list[NodeRow]]],
) -> None:
    if FAULTS_CHAPTER not in after_chapter:
        pytest.skip(f"{FAULTS_CHAPTER} did not run alone in this session")
    lab, _ = alone_lab
    found = sorted((node.name, node.role, "Active", "Ready") for node in lab.nodes)
    power, rows = after_chapter[FAULTS_CHAPTER]
    assert power == ["running"] * len(lab.nodes), f"machines after {FAULTS_CHAPTER}: {power}"
    assert rows == found, f"{FAULTS_CHAPTER} changed the swarm's nodes: {rows} != {found}"
