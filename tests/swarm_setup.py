"""Make a lab a swarm for the dashboard tests (helpers usable without pytest).

The pytest plugin :mod:`tests.swarm_lab` uses them: its session fixture
``swarm_lab`` brings up a lab of its own (``WORKSHOP_LAB=wsdash``, subnet
``192.168.61`` unless ``SWARM_LAB_NAME`` / ``SWARM_LAB_SUBNET`` say otherwise), makes
it a swarm (node-1 and node-2 managers, node-3 a worker), loads the web image into
every node (no registry needed) and runs ``helloworld`` with 6 replicas and ``hello``
(global, port 8080 published in host mode). It destroys the lab at the end
(unless ``SWARM_LAB_KEEP=1``, handy while writing tests).

Docker and the swarm come from ``lab.require("swarm")`` and the image from
``steps.load_image`` (``workshop.steps``). Every helper is idempotent, and a lab left
behind by an interrupted run is put back in shape (nodes on, roles as the lab says,
every node active).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from workshop import Lab, ProviderError, steps

ROOT = Path(__file__).resolve().parents[1]
LAB_NAME = os.environ.get("SWARM_LAB_NAME", "wsdash")
LAB_SUBNET = os.environ.get("SWARM_LAB_SUBNET", "192.168.61")
SERVICE = "helloworld"
REPLICAS = 6
#: nginx answering every request with its container's hostname (workshop/images/web),
#: named after the lab registry so that starting a task never asks Docker Hub.
WEB_IMAGE = "127.0.0.1:5000/workshop/web:latest"
#: Host-mode port of the ``hello`` service (one task per node, no routing mesh needed).
HELLO_PORT = 8080


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
        [
            "docker",
            "service",
            "create",
            "--detach=false",
            "--quiet",
            "--no-resolve-image",
            "--name",
            name,
            *mode,
            *args,
        ],
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
    lab.require("swarm")
    steps.load_image(lab, "web")
    swarm_restored(lab)
    service_running(lab, SERVICE, [WEB_IMAGE], REPLICAS)
    service_running(
        lab,
        "hello",
        ["--publish", f"mode=host,published={HELLO_PORT},target=80", WEB_IMAGE],
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


def workshop_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``workshop ARGS`` as a user would, from the kit's folder.

    ``env`` is the whole environment of the command (default: this process's).
    """
    return subprocess.run(
        [sys.executable, "-m", "workshop.cli", *args],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
