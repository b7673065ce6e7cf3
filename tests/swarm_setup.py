"""Make a lab a swarm for the dashboard tests (helpers usable without pytest).

The pytest plugin :mod:`tests.swarm_lab` uses them: its session fixture
``swarm_lab`` brings up a lab of its own (``WORKSHOP_LAB=wsdash``, subnet
``192.168.61`` unless ``SWARM_LAB_NAME`` / ``SWARM_LAB_SUBNET`` say otherwise), makes
it a swarm (node-1 and node-2 managers, node-3 a worker), loads the web image into
every node (no registry needed) and runs ``helloworld`` with 6 replicas and ``hello``
(global, port 8080 published in host mode). It destroys the lab at the end
(unless ``SWARM_LAB_KEEP=1``, handy while writing tests).

Docker and the swarm come from ``lab.require("swarm")`` (``workshop.steps``); where
the lab has no ``require`` yet, the same is done by hand with docker commands. Every
helper is idempotent, and a lab left behind by an interrupted run is put back in
shape (nodes on, roles as the lab says, every node active).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from workshop import Lab, ProviderError
from workshop.lab.node import Node

ROOT = Path(__file__).resolve().parents[1]
LAB_NAME = os.environ.get("SWARM_LAB_NAME", "wsdash")
LAB_SUBNET = os.environ.get("SWARM_LAB_SUBNET", "192.168.61")
SERVICE = "helloworld"
REPLICAS = 6
#: nginx answering every request with its container's hostname (workshop/images/web).
WEB_IMAGE = "workshop/web:latest"
#: Host-mode port of the ``hello`` service (one task per node, no routing mesh needed).
HELLO_PORT = 8080


def docker_installed(lab: Lab) -> None:
    """Install Debian's docker.io on the nodes that lack it, and wait for the engines."""
    lab.run(
        "command -v dockerd >/dev/null || (apt-get update -q && "
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io)",
        sudo=True,
        timeout=900,
    ).raise_for_failures()
    wait_for(
        lambda: not lab.run("docker info >/dev/null", sudo=True, timeout=20).failed,
        60,
        "docker engines answering",
    )


def swarm_state(lab: Lab, name: str) -> str:
    """``docker info``'s LocalNodeState of one node (``active``, ``inactive``...)."""
    result = lab.run("docker info --format '{{.Swarm.LocalNodeState}}'", on=name, sudo=True)
    return result[0].stdout.strip()


def swarm_formed(lab: Lab) -> None:
    """Init the swarm on node-1 and join the others with the lab's roles."""
    first = lab.managers[0]
    if swarm_state(lab, first.name) != "active":
        command = ["docker", "swarm", "init", "--advertise-addr", first.address]
        lab.run(shlex.join(command), on=first.name, sudo=True).raise_for_failures()
    tokens = {
        role: lab.run(f"docker swarm join-token -q {role}", on=first.name, sudo=True)
        .raise_for_failures()[0]
        .stdout.strip()
        for role in ("manager", "worker")
    }
    for node in lab.nodes[1:]:
        if swarm_state(lab, node.name) == "active":
            continue
        command = [
            "docker",
            "swarm",
            "join",
            "--token",
            tokens[node.role],
            "--advertise-addr",
            node.address,
            f"{first.address}:2377",
        ]
        lab.run(shlex.join(command), on=node.name, sudo=True, timeout=60).raise_for_failures()


def _ssh_command(node: Node, remote: str) -> list[str]:
    ssh = node.ssh
    command = [
        "ssh",
        "-p",
        str(ssh.port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
    ]
    for key in ssh.identity_files:
        command += ["-i", key, "-o", "IdentitiesOnly=yes"]
    command.append(f"{ssh.user}@{ssh.host}" if ssh.user else ssh.host)
    return [*command, remote]


def image_loaded(lab: Lab, image: str) -> None:
    """Copy a host image into every node's engine (``docker save | ssh docker load``)."""
    image_id = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    have = lab.run(
        shlex.join(["docker", "image", "inspect", "--format", "{{.Id}}", image]), sudo=True
    ).stdout
    missing = [node for node in lab.nodes if have.get(node.name) != image_id]

    def load(node: Node) -> None:
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        try:
            subprocess.run(
                _ssh_command(node, "sudo docker load"),
                stdin=save.stdout,
                capture_output=True,
                check=True,
                timeout=600,
            )
        finally:
            if save.stdout is not None:
                save.stdout.close()
            save.wait()

    with ThreadPoolExecutor(max_workers=max(len(missing), 1)) as pool:
        list(pool.map(load, missing))


def web_image() -> str:
    """Build (or reuse) the web image on the host."""
    from workshop.images.build import build_image, ensure_base

    ensure_base()
    build_image("web", WEB_IMAGE)
    return WEB_IMAGE


def manager_run(lab: Lab, command: list[str], timeout: float = 180) -> str:
    """Run a docker command on the first manager that answers; return its stdout."""
    last = None
    for node in lab.managers:
        result = lab.run(shlex.join(command), on=node.name, sudo=True, timeout=timeout)[0]
        if result.succeeded:
            return result.stdout
        last = result
    assert last is not None
    last.raise_for_failure()
    return ""


def service_running(lab: Lab, name: str, args: list[str], replicas: int | None) -> None:
    """Create a service if missing (``--detach=false``: wait until it converges)."""
    names = manager_run(lab, ["docker", "service", "ls", "--format", "{{.Name}}"]).split()
    if name in names:
        if replicas is not None:
            manager_run(lab, ["docker", "service", "scale", "--detach=false", f"{name}={replicas}"])
        return
    mode = ["--replicas", str(replicas)] if replicas is not None else ["--mode", "global"]
    manager_run(
        lab,
        ["docker", "service", "create", "--detach=false", "--quiet", "--name", name, *mode, *args],
    )


def while_locked(action: Callable[[], object], timeout: float = 180) -> None:
    """Run a Vagrant action, again while Vagrant refuses with "machine is locked".

    Other labs' vagrant processes on the same host make Vagrant refuse now and then
    (its machine index in ~/.vagrant.d is shared by every lab); the lab's own
    retries are short.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            action()
            return
        except ProviderError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(3)


def power(lab: Lab, action: str, name: str) -> None:
    """``lab.halt(name)`` or ``lab.start(name)`` (see :func:`while_locked`)."""
    while_locked(lambda: getattr(lab, action)(name))


def swarm_restored(lab: Lab) -> None:
    """Every node on, every node ``active``, roles as the lab says."""
    for node in lab.nodes:
        if not node.running:
            power(lab, "start", node.name)
    for node in lab.nodes:
        listed = manager_run(
            lab,
            [
                "docker",
                "node",
                "inspect",
                "--format",
                "{{.Spec.Role}} {{.Spec.Availability}}",
                node.name,
            ],
        )
        role, availability = listed.split()
        if availability != "active":
            manager_run(lab, ["docker", "node", "update", "--availability", "active", node.name])
        if role != node.role:
            verb = "promote" if node.role == "manager" else "demote"
            manager_run(lab, ["docker", "node", verb, node.name])


def swarm_ready(lab: Lab) -> Lab:
    """The whole recipe: docker, swarm, image, ``helloworld`` x6 and ``hello`` (global)."""
    image = web_image()
    if hasattr(lab, "require"):  # the provisioning steps (workshop.steps)
        lab.require("swarm")
    else:
        docker_installed(lab)
        swarm_formed(lab)
    image_loaded(lab, image)
    swarm_restored(lab)
    service_running(lab, SERVICE, [image], REPLICAS)
    service_running(
        lab,
        "hello",
        ["--publish", f"mode=host,published={HELLO_PORT},target=80", image],
        None,
    )
    return lab


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, interval: float = 2.0
) -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def lab_env(name: str, subnet: str) -> Iterator[None]:
    """Set WORKSHOP_LAB / WORKSHOP_SUBNET for the block, restoring them afterwards."""
    saved = {key: os.environ.get(key) for key in ("WORKSHOP_LAB", "WORKSHOP_SUBNET")}
    os.environ["WORKSHOP_LAB"], os.environ["WORKSHOP_SUBNET"] = name, subnet
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def swarm_lab_env() -> dict[str, str]:
    """Environment variables that make ``Lab.connect()`` find the swarm lab."""
    return {"WORKSHOP_LAB": LAB_NAME, "WORKSHOP_SUBNET": LAB_SUBNET, "WORKSHOP_HOME": str(ROOT)}
