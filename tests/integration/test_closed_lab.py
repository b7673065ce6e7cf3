"""A closed lab, on the real lab: what reaches the registry, the cluster and published ports.

"Outside the lab" is this machine: it sits on the lab network (the host's side of
the nodes' bridge) but is not a node. The session lab (``tests/integration/
conftest.py``) is brought to ``registry``; a test service and a test stack are
removed at the end of their tests.
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from workshop import Lab
from workshop.progress import poll_until
from workshop.steps.gluster import VOLUME, gluster_volume_info
from workshop.steps.stack import digests_probe, parse_digests, publish_mode, stack_deploy, stack_rm

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_PORT = 5000
TEST_PORT = 8097
SERVICE = "closedlab"


@pytest.fixture(scope="module")
def lab(lab_settings_env: str) -> Lab:
    lab = Lab.from_vagrant(ROOT, discover=False)
    lab.up()
    lab.require("registry")
    return lab


def on(lab: Lab, node: str, *args: str, timeout: float = 60) -> str:
    """Run a command (an argument list) as root on one node; its stdout, checked."""
    result = lab.run(shlex.join(args), on=node, sudo=True, timeout=timeout)
    return result.raise_for_failures().stdout[node]


def connects_from_here(address: str, port: int) -> bool:
    """Whether this machine opens a TCP connection to ``address:port`` within 3 s."""
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def http_status(lab: Lab, node: str, url: str) -> str:
    """The HTTP status ``node`` gets for ``url`` (``000`` when it cannot connect)."""
    curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url]
    result = lab.run(shlex.join(curl), on=node, sudo=True, timeout=30)[node]
    return result.stdout.strip() or "000"


def test_no_node_registry_answers_outside_the_node(lab: Lab) -> None:
    node_1 = lab.node("node-1").address
    for node in lab.nodes:
        assert not connects_from_here(node.address, REGISTRY_PORT), node.name
    assert http_status(lab, "node-2", f"http://{node_1}:{REGISTRY_PORT}/v2/") == "000"


def test_every_node_reaches_its_own_registry(lab: Lab) -> None:
    for node in lab.names:
        assert http_status(lab, node, f"http://127.0.0.1:{REGISTRY_PORT}/v2/") == "200", node


def test_the_registry_refuses_to_delete(lab: Lab) -> None:
    # A digest no image has: a registry that deletes answers 404 (unknown), and
    # deletes nothing; one with deletes switched off answers 405 (unsupported).
    nothing = "sha256:" + "0" * 64
    url = f"http://127.0.0.1:{REGISTRY_PORT}/v2/workshop/web/manifests/{nothing}"
    delete = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", url]
    assert on(lab, "node-1", *delete) == "405"


def test_the_firewall_lets_in_exactly_the_node_addresses(lab: Lab) -> None:
    listed = on(lab, "node-1", "nft", "-j", "list", "set", "inet", "workshop_firewall", "lab_nodes")
    assert all(f'"{node.address}"' in listed for node in lab.nodes)
    assert "prefix" not in listed and "range" not in listed
    # This machine is on the lab's subnet but is not a node: the swarm's port is shut.
    assert not connects_from_here(lab.node("node-1").address, 7946)
    reach = ["timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{lab.node('node-1').address}/7946"]
    assert lab.run(shlex.join(reach), on="node-2", sudo=True, timeout=30)[0].succeeded


@pytest.fixture
def published(lab: Lab) -> Iterator[str]:
    """A global test service publishing TEST_PORT on every node; removed afterwards."""
    mode = publish_mode(lab)
    lab.run(f"docker service rm {SERVICE}", on="node-1", sudo=True, timeout=60)
    create = [
        "docker", "service", "create", "--detach", "--name", SERVICE, "--mode", "global",
        "--env", "SITE=hello", "--no-resolve-image",
        "--publish", f"mode={mode},published={TEST_PORT},target=80",
        "127.0.0.1:5000/workshop/web:latest",
    ]  # fmt: skip
    on(lab, "node-1", *create)
    try:
        yield mode
    finally:
        lab.run(f"docker service rm {SERVICE}", on="node-1", sudo=True, timeout=60)


def test_a_published_port_answers_the_nodes_only(lab: Lab, published: str) -> None:
    node_1 = lab.node("node-1").address
    url = f"http://{node_1}:{TEST_PORT}/"
    poll_until(
        lambda: http_status(lab, "node-2", url),
        lambda status: status == "200",
        timeout=120,
        what=f"{url} from node-2 (published in {published} mode)",
    )
    assert http_status(lab, "node-1", f"http://127.0.0.1:{TEST_PORT}/") == "200"
    for node in lab.nodes:
        assert not connects_from_here(node.address, TEST_PORT), node.name


def test_a_stack_runs_its_images_by_digest(lab: Lab, tmp_path: Path) -> None:
    stack = tmp_path / "closedstack.yml"
    stack.write_text(
        'version: "3.8"\nservices:\n  hello:\n    image: ${REGISTRY}/workshop/web:latest\n'
        "    environment:\n      SITE: hello\n    deploy:\n      replicas: 1\n"
    )
    served = on(lab, "node-1", "sh", "-c", digests_probe(["workshop/web:latest"]))
    digest = parse_digests(served)["workshop/web:latest"]
    try:
        stack_deploy(lab, stack)
        spec = "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
        image = on(lab, "node-1", "docker", "service", "inspect", "--format", spec,
                   "closedstack_hello").strip()  # fmt: skip
        assert image == f"127.0.0.1:5000/workshop/web@{digest}"
    finally:
        stack_rm(lab, "closedstack")


def test_the_volume_is_open_to_the_lab_addresses_only(lab: Lab) -> None:
    volume = gluster_volume_info(lab, "node-1", VOLUME)
    assert volume is not None and volume.started
    addresses = ["127.0.0.1", *(node.address for node in lab.nodes)]
    assert volume.options["auth.allow"] == ",".join(addresses)
