"""Chapters 04 and 07: deploy stacks, scale services, remove stacks, and wait.

``stack_deploy`` checks the stack on this machine first (a missing or malformed
file is a :class:`UsageError` before anything changes), copies the stack's files
and compose file to the shared volume, runs ``docker stack deploy`` on a manager
and waits until every service runs all its tasks. A timeout names the tasks that
are not running and why (``docker service ps --no-trunc``).

Images of the lab registry are deployed by digest: the manager asks its registry
for the digest each tag points to now (the ``Docker-Content-Digest`` of the
manifest) and the compose file deployed names ``127.0.0.1:5000/workshop/web@sha256:
...``, with ``--resolve-image never``. A tag pushed again later changes no running
service, and no registry outside the lab is ever asked.

Published ports go through the routing mesh (``mode: ingress``) where every node's
kernel has ip_vs, and use host mode where it does not (the ingress mesh does not
answer there); the result says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from workshop.errors import NotReady, UsageError
from workshop.lab import Node
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, run_checked, write_file
from workshop.steps.gluster import MOUNT
from workshop.steps.members import reader_for
from workshop.steps.recorder import StepRecorder
from workshop.steps.report import StepResult
from workshop.steps.service import services_by_name, wait_converged
from workshop.steps.stackfile import StackDefinition, load_stack
from workshop.steps.swarm import active_manager
from workshop.swarm.read import SwarmReader

__all__ = [
    "PUBLISH_MODES",
    "REGISTRY",
    "digests_probe",
    "parse_digests",
    "publish_mode",
    "stack_converged",
    "stack_deploy",
    "stack_leftovers",
    "stack_rm",
]

REGISTRY = "127.0.0.1:5000"
STATE_DIR = "/var/lib/workshop/stacks"
PUBLISH_MODES = ("auto", "ingress", "host")
RESOLVE_IMAGE = ("always", "changed", "never")
PUBLISHED_HOW = {"ingress": "routing mesh (ingress)", "host": "host mode (no ip_vs)"}
DEPLOY_TIMEOUT = 180.0
POLL = 1.0
#: The manifest types a registry may hold for an image (its digest is of the one it holds).
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_IPVS_PROBE = (
    '{ [ -e /proc/net/ip_vs ] || [ -d /sys/module/ip_vs ] || grep -qs "/ip_vs.ko" '
    '"/lib/modules/$(uname -r)/modules.builtin" "/lib/modules/$(uname -r)/modules.dep"; } '
    "&& echo yes || echo no"
)


def publish_mode(lab: RemoteLab) -> str:
    """``ingress`` if every running node's kernel has ip_vs (loaded or loadable), else ``host``.

    Without ip_vs the routing mesh accepts connections on no node (see LAB-HOSTS),
    so ports are published on the nodes that run a task instead.
    """
    answers = check_nodes(lab, _IPVS_PROBE, [n.name for n in lab.nodes if n.running])
    return "ingress" if answers and all(a == "yes" for a in answers.values()) else "host"


def _shared_mounted(lab: RemoteLab, manager: Node) -> bool:
    probe = shell_line(sh("findmnt", "-n", "-o", "FSTYPE", MOUNT), "||", "true")
    return "fuse" in check_nodes(lab, probe, [manager.name])[manager.name]


def _stack_folder(lab: RemoteLab, manager: Node, definition: StackDefinition) -> str:
    """Where the stack file and its marker go: the shared volume if mounted.

    Raises:
        NotReady: The stack has files for the shared volume, which is not mounted.
    """
    if _shared_mounted(lab, manager):
        return f"{MOUNT}/stacks"
    if definition.files:
        raise NotReady(
            f"stack {definition.name!r} keeps files on the shared volume, which is not mounted "
            f'on {manager.name}: run lab.require("gluster") first'
        )
    return STATE_DIR


def digests_probe(images: Sequence[str]) -> str:
    """Ask the node's registry for each image's manifest; a line each: image, status, digest.

    Args:
        images: ``workshop/web:latest`` and the like.
    """
    accept = [arg for kind in MANIFEST_TYPES for arg in ("-H", f"Accept: {kind}")]
    asks = []
    for image in images:
        name, _, tag = image.rpartition(":")
        url = f"http://{REGISTRY}/v2/{name}/manifests/{tag}"
        out = f"{image} %{{http_code}} %header{{docker-content-digest}}\\n"
        asks.append(
            sh("curl", "-sI", "--max-time", "10", "-o", "/dev/null", *accept, "-w", out, url)
        )
    return shell_line(*(part for ask in asks for part in (ask, ";")), "true")


def parse_digests(text: str) -> dict[str, str]:
    """Image -> digest, for each image the registry answered with a manifest (HTTP 200)."""
    digests = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "200" and _DIGEST.fullmatch(parts[2]):
            digests[parts[0]] = parts[2]
    return digests


def _pinned(
    lab: RemoteLab, manager: Node, definition: StackDefinition, rec: StepRecorder
) -> StackDefinition:
    """The stack with its lab images named by the digests ``manager``'s registry serves."""
    images = definition.lab_images
    if not images:
        return definition
    digests = parse_digests(check_nodes(lab, digests_probe(images), [manager.name])[manager.name])
    unpinned = [image for image in images if image not in digests]
    if unpinned:
        rec.note(f"not in the registry, deployed by tag: {', '.join(unpinned)}")
    return definition.pinned(digests)


def _check_options(publish: str, resolve_image: str) -> None:
    if publish not in PUBLISH_MODES:
        raise UsageError.choice("publish mode", publish, PUBLISH_MODES)
    if resolve_image not in RESOLVE_IMAGE:
        raise UsageError.choice("resolve_image", resolve_image, RESOLVE_IMAGE)


def _deployed_as_defined(
    lab: RemoteLab,
    reader: SwarmReader,
    manager: Node,
    definition: StackDefinition,
    variables: Mapping[str, str],
    folder: str,
) -> bool:
    """Whether the stack's services exist and its marker says these files and settings."""
    existing = services_by_name(reader)
    if not all(s in existing for s in definition.service_names):
        return False
    path = f"{folder}/{definition.name}.deployed"
    probe = shell_line(sh("cat", path), "2>/dev/null", "||", "true")
    marker = check_nodes(lab, probe, [manager.name])[manager.name]
    return marker == definition.digest(variables)


def _deploy(
    lab: RemoteLab,
    manager: Node,
    definition: StackDefinition,
    variables: Mapping[str, str],
    folder: str,
    resolve_image: str,
) -> None:
    """Put the stack's files and compose file on ``manager``, deploy it, write its marker."""
    for rel, content in definition.files.items():
        target = f"{MOUNT}/{definition.name}/{rel}"
        write_file(lab, target, content.decode("utf-8"), on=[manager.name])
    stack_path = f"{folder}/{definition.name}.yml"
    write_file(lab, stack_path, definition.text, on=[manager.name])
    assignments = [f"{key}={value}" for key, value in sorted(variables.items())]
    deploy = sh(
        "env",
        *assignments,
        "docker",
        "stack",
        "deploy",
        "--resolve-image",
        resolve_image,
        "-c",
        stack_path,
        definition.name,
    )
    run_checked(lab, deploy, [manager.name], timeout=120)
    marker = definition.digest(variables)
    write_file(lab, f"{folder}/{definition.name}.deployed", marker, on=[manager.name])


def stack_deploy(
    lab: RemoteLab,
    stack: str | Path,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    publish: str = "auto",
    resolve_image: str = "never",
    wait: bool = True,
    timeout: float = DEPLOY_TIMEOUT,
    force: bool = False,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> StepResult:
    """Deploy a stack (a shipped one by name, or a compose file) and wait for it.

    The real command: ``docker stack deploy -c stack.yml <name>`` on a manager, lab
    images pinned by digest. The same files, settings and digests: left alone.

    Args:
        lab: The lab.
        stack: ``"demoapp"``, ``"helloworld"``, ``"lb"``, ``"registry"``, or a path.
        name: Name of the stack in the swarm (default: from ``stack``).
        env: Extra variables for the stack file.
        publish: ``"auto"`` (routing mesh if ip_vs, else host mode), ``"ingress"`` or ``"host"``.
        resolve_image: ``docker stack deploy --resolve-image`` (always, changed, never).
        wait: Wait until every task runs.
        timeout: Seconds to wait.
        force: Deploy even if nothing changed.
        progress: Called with a line of text now and then.
        reader: Read the swarm through this reader (default: a new one on ``lab``).

    Raises:
        UsageError: Unknown, missing or malformed stack, or a bad option; nothing changed.
        NotReady: No swarm yet, or the stack needs the shared volume and it is not mounted.
        NotConverged: Not every task runs after ``timeout`` seconds.
    """
    definition = load_stack(stack, name)
    _check_options(publish, resolve_image)
    rec = StepRecorder(f"stack_deploy {definition.name}", progress)
    reader = reader_for(lab, reader)
    manager = active_manager(lab, reader=reader)
    folder = _stack_folder(lab, manager, definition)
    definition = _pinned(lab, manager, definition, rec)
    mode = publish_mode(lab) if publish == "auto" else publish
    variables = {"SHARED": MOUNT, "REGISTRY": REGISTRY, "PUBLISH_MODE": mode, **(env or {})}
    if not force and _deployed_as_defined(lab, reader, manager, definition, variables, folder):
        rec.unchanged(manager.name, f"stack {definition.name} already deployed as defined")
    else:
        rec.say(f"docker stack deploy -c {folder}/{definition.name}.yml {definition.name}")
        _deploy(lab, manager, definition, variables, folder, resolve_image)
        services = ", ".join(definition.service_names)
        rec.changed(manager.name, f"deployed stack {definition.name} ({services})")
    if "published" in definition.text:
        rec.note(f"published ports: {PUBLISHED_HOW[mode]}")
    if wait:
        wait_converged(
            lab, definition.service_names, timeout=timeout, progress=rec.say, reader=reader
        )
    return rec.result()


def stack_converged(lab: RemoteLab, stack: str, *, reader: SwarmReader | None = None) -> bool:
    """Whether a shipped stack's services all exist and run all their tasks.

    Raises:
        NotReady: No manager answers for the swarm.
    """
    definition = load_stack(stack)
    current = services_by_name(reader_for(lab, reader))
    return all(s in current and current[s].converged for s in definition.service_names)


def stack_leftovers(lab: RemoteLab, name: str) -> dict[str, str]:
    """Node -> IDs of the stack's containers and networks still on it (running nodes).

    Raises:
        NodeUnreachable: A running node does not answer.
    """
    label = f"label=com.docker.stack.namespace={name}"
    probe = shell_line(
        sh("docker", "ps", "-q", "--filter", label),
        ";",
        sh("docker", "network", "ls", "-q", "--filter", label),
    )
    return check_nodes(lab, probe, [n.name for n in lab.nodes if n.running])


def stack_rm(
    lab: RemoteLab,
    name: str,
    *,
    wait: bool = True,
    timeout: float = 120.0,
    progress: Progress = quiet,
    reader: SwarmReader | None = None,
) -> StepResult:
    """Remove a stack (``docker stack rm <name>``) and wait until its tasks are gone.

    Raises:
        NotReady: No manager answers for the swarm.
        NotConverged: The stack's containers or networks are still there after ``timeout``.
    """
    rec = StepRecorder(f"stack_rm {name}", progress)
    reader = reader_for(lab, reader)
    manager = active_manager(lab, reader=reader)
    prefix = f"{name}_"
    if not any(s.startswith(prefix) for s in services_by_name(reader)):
        rec.unchanged(manager.name, f"no stack {name!r} in the swarm")
        return rec.result()
    run_checked(lab, sh("docker", "stack", "rm", name), [manager.name], timeout=60)
    for folder in (f"{MOUNT}/stacks", STATE_DIR):
        lab.run(
            sh("rm", "-f", f"{folder}/{name}.deployed"), on=[manager.name], sudo=True, timeout=30
        )
    rec.changed(manager.name, f"removed stack {name}")
    if wait:
        poll_until(
            lambda: stack_leftovers(lab, name),
            lambda left: not any(left.values()),
            timeout=timeout,
            interval=POLL,
            what=f"removal of stack {name}'s containers and networks",
            describe=lambda left: "\n".join(f"{n}: {ids}" for n, ids in left.items() if ids),
        )
    return rec.result()
