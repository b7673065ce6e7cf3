"""Provisioning on a real lab: bare nodes to demoapp, idempotence, storage, registry.

The module brings up a lab of its own (``wsprov`` on 192.168.59.0/24), runs the
tests in file order on it, and destroys it at the end. The first test provisions
the bare nodes with ``require("demoapp")``; the others build on that.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workshop import Lab, ProviderError, UsageError
from workshop.steps import (
    firewall,
    gluster_volume,
    install_docker,
    registry,
    service_scale,
    stack_deploy,
    swarm_init,
    swarm_join,
)
from workshop.steps.registry import build_lab_images
from workshop.steps.roles import swarm_roles
from workshop.steps.states import STATE_NAMES

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB_NAME = "wsprov"
SUBNET = "192.168.59"
NAMES = ["node-1", "node-2", "node-3"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    saved = {key: os.environ.get(key) for key in ("WORKSHOP_LAB", "WORKSHOP_SUBNET")}
    os.environ["WORKSHOP_LAB"] = LAB_NAME
    os.environ["WORKSHOP_SUBNET"] = SUBNET
    lab = Lab.from_vagrant(ROOT, discover=False)
    try:
        lab.destroy()  # whatever an interrupted run left behind
        _up(lab)
        yield lab
    finally:
        lab.destroy()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _up(lab: Lab) -> None:
    """`lab.up()`, once more if Vagrant's parallel `up` tripped over its own machine lock."""
    try:
        lab.up()
    except ProviderError as exc:
        if "locked" not in str(exc):
            raise
        time.sleep(5)
        lab.up()


def on(lab: Lab, node: str, *args: str, timeout: float = 60) -> str:
    result = lab.run(shlex.join(args), on=[node], sudo=True, timeout=timeout)
    result.raise_for_failures()
    return result.stdout[node]


def services(lab: Lab) -> str:
    return on(lab, "node-2", "docker", "service", "ls", "--format", "{{.Name}} {{.Replicas}}")


def test_require_demoapp_from_bare_nodes(lab: Lab) -> None:
    assert lab.names == NAMES
    lines: list[str] = []
    report = lab.require("demoapp", progress=lines.append)
    assert [s.state for s in report.states] == list(STATE_NAMES)
    assert report.states[0].state == "nodes" and not report.states[0].reached
    assert all(s.reached for s in report.states[1:]), str(report)
    assert report.changed and "reached" in str(report)
    assert any(
        "published ports: host mode" in n or "ingress" in n
        for step in report.steps
        for n in step.notes
    )
    assert "<table" in report._repr_html_()


def test_every_step_run_again_reports_no_change(lab: Lab) -> None:
    steps = [
        lambda: install_docker(lab),
        lambda: swarm_init(lab),
        lambda: swarm_join(lab),
        lambda: swarm_roles(lab),
        lambda: firewall(lab),
        lambda: gluster_volume(lab),
        lambda: registry(lab),
        lambda: stack_deploy(lab, "demoapp"),
    ]
    for step in steps:
        result = step()
        assert not result.changed, str(result)
        assert "no change" in str(result)
        assert {c.node for c in result.nodes} <= set(NAMES)


def test_a_file_written_on_node_1_is_read_on_node_3(lab: Lab) -> None:
    on(lab, "node-1", "sh", "-c", "hostname > /mnt/swarm-data/written-by.txt")
    assert on(lab, "node-3", "cat", "/mnt/swarm-data/written-by.txt") == "node-1"


def test_every_node_answers_on_the_published_port_with_a_hostname(lab: Lab) -> None:
    # Asked from a lab node: published ports answer the lab's nodes only.
    for node in lab.nodes:
        page = on(lab, "node-1", "curl", "-sf", "--max-time", "10", f"http://{node.address}:8080/")
        match = re.search(r'id="hostname">([^<]+)<', page)
        assert match and match.group(1).startswith("app-"), page


def test_scaling_the_app_to_3_gives_one_task_per_node(lab: Lab) -> None:
    result = service_scale(lab, "demoapp_app", 3)
    assert result.changed
    fmt = "{{.Node}}"
    nodes = on(
        lab,
        "node-1",
        "docker",
        "service",
        "ps",
        "demoapp_app",
        "--filter",
        "desired-state=running",
        "--format",
        fmt,
    ).split()
    assert sorted(nodes) == NAMES
    # Deploying again keeps the scaling: the stack is already deployed as defined.
    assert not lab.require("demoapp").changed


def test_bad_input_is_refused_and_changes_nothing(lab: Lab, tmp_path: Path) -> None:
    before = services(lab)
    for replicas in (-1, "abc"):
        with pytest.raises(UsageError, match="whole number"):
            service_scale(lab, "demoapp_app", replicas)
    with pytest.raises(UsageError, match="demoapp_app"):
        service_scale(lab, "no_such_service", 2)
    with pytest.raises(UsageError, match="does not exist"):
        stack_deploy(lab, tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("services: [not, a, mapping\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        stack_deploy(lab, broken)
    with pytest.raises(UsageError, match="nodes, docker, swarm, firewall"):
        lab.require("unknown")
    assert services(lab) == before


def test_a_lab_image_is_pulled_on_node_3_while_node_1_is_off(lab: Lab) -> None:
    tag = build_lab_images()["app"].digest
    image = f"127.0.0.1:5000/workshop/app:{tag}"
    lab.halt("node-1")
    try:
        assert lab.node("node-1").state != "running"
        out = on(lab, "node-3", "docker", "pull", image, timeout=180)
        assert tag in out or "Status:" in out
        assert on(lab, "node-3", "docker", "image", "inspect", "--format", "{{.Id}}", image)
    finally:
        lab.start("node-1")
    report = lab.require("demoapp")
    assert [s.state for s in report.states] == list(STATE_NAMES)


def test_node_ls_shows_two_managers_one_leader_and_one_worker(lab: Lab) -> None:
    rows = [
        json.loads(line)
        for line in on(lab, "node-2", "docker", "node", "ls", "--format", "{{json .}}").splitlines()
    ]
    assert sorted(r["Hostname"] for r in rows) == NAMES
    assert all(r["Status"] == "Ready" for r in rows)
    statuses = sorted(r["ManagerStatus"] for r in rows)
    assert statuses == ["", "Leader", "Reachable"]
