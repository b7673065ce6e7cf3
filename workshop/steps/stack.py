"""Chapters 04 and 07: deploy stacks, scale services, remove stacks, and wait.

``stack_deploy`` checks the stack on this machine first (a missing or malformed
file is a :class:`UsageError` before anything changes), copies the stack's files
and compose file to the shared volume, runs ``docker stack deploy`` on a manager
and waits until every service runs all its tasks. A timeout names the tasks that
are not running and why (``docker service ps --no-trunc``).

Published ports go through the routing mesh (``mode: ingress``) where every node's
kernel has ip_vs, and use host mode where it does not (the ingress mesh does not
answer there); the result says which.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path

from workshop.errors import NotConverged, UsageError
from workshop.lab import Node
from workshop.remote import RemoteLab
from workshop.steps.gluster import MOUNT
from workshop.steps.report import StepResult
from workshop.steps.shell import (
    Progress,
    StepRecorder,
    check_nodes,
    quiet,
    run_checked,
    sh,
    shell_line,
    write_file,
)
from workshop.steps.stackfile import load_stack
from workshop.steps.swarm import active_manager

__all__ = [
    "PUBLISH_MODES",
    "REGISTRY",
    "publish_mode",
    "service_scale",
    "stack_converged",
    "stack_deploy",
    "stack_rm",
    "wait_converged",
]

REGISTRY = "127.0.0.1:5000"
STATE_DIR = "/var/lib/workshop/stacks"
PUBLISH_MODES = ("auto", "ingress", "host")
RESOLVE_IMAGE = ("always", "changed", "never")
DEPLOY_TIMEOUT = 180.0
POLL = 1.0
_REPLICAS = re.compile(r"(\d+)/(\d+)")
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


def _services(lab: RemoteLab, manager: Node) -> dict[str, tuple[str, int, int]]:
    """Service name -> (mode, running tasks, desired tasks)."""
    out = run_checked(
        lab,
        sh("docker", "service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Replicas}}"),
        [manager.name],
    ).stdout[manager.name]
    services = {}
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        match = _REPLICAS.match(parts[2]) if len(parts) == 3 else None
        if match:
            services[parts[0]] = (parts[1], int(match.group(1)), int(match.group(2)))
    return services


def _why_not_running(lab: RemoteLab, manager: Node, services: list[str]) -> str:
    fmt = "{{.Name}} on {{.Node}}: {{.CurrentState}} (wants {{.DesiredState}}) {{.Error}}"
    lines = []
    for service in services:
        out = lab.run(
            shell_line(
                sh("docker", "service", "ps", "--no-trunc", "--format", fmt, service), "2>&1"
            ),
            on=[manager.name],
            sudo=True,
            timeout=30,
        )
        tasks = out.stdout[manager.name].splitlines()
        problems = [t for t in tasks if not t.split(": ", 1)[-1].startswith("Running")] or tasks
        lines.append(f"{service}:")
        lines.extend(f"  {task}" for task in problems[:6])
    return "\n".join(lines)


def wait_converged(
    lab: RemoteLab,
    services: list[str],
    *,
    timeout: float = DEPLOY_TIMEOUT,
    progress: Progress = quiet,
) -> None:
    """Wait until every service runs as many tasks as it wants.

    Raises:
        NotConverged: After ``timeout`` seconds; names the tasks not running and why.
    """
    manager = active_manager(lab)
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        current = _services(lab, manager)
        state = {s: current.get(s) for s in services}
        line = ", ".join(f"{s} {v[1]}/{v[2]}" if v else f"{s} missing" for s, v in state.items())
        if line != last:
            progress(f"waiting: {line}")
            last = line
        pending = [s for s, v in state.items() if v is None or v[1] != v[2]]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise NotConverged(
                f"not every task is running: {line}. Look at "
                "`docker service ps --no-trunc <service>` and `docker service logs <service>`",
                timeout=timeout,
                last_seen=_why_not_running(lab, manager, pending),
            )
        time.sleep(POLL)


def _shared_mounted(lab: RemoteLab, manager: Node) -> bool:
    probe = shell_line(sh("findmnt", "-n", "-o", "FSTYPE", MOUNT), "||", "true")
    return "fuse" in check_nodes(lab, probe, [manager.name])[manager.name]


def _marker(lab: RemoteLab, manager: Node, path: str) -> str:
    probe = shell_line(sh("cat", path), "2>/dev/null", "||", "true")
    return check_nodes(lab, probe, [manager.name])[manager.name]


def stack_deploy(
    lab: RemoteLab,
    stack: str | Path,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    publish: str = "auto",
    resolve_image: str = "always",
    wait: bool = True,
    timeout: float = DEPLOY_TIMEOUT,
    force: bool = False,
    progress: Progress = quiet,
) -> StepResult:
    """Deploy a stack (a shipped one by name, or a compose file) and wait for it.

    The real command: ``docker stack deploy -c stack.yml <name>`` on a manager.
    A stack already deployed from the same files and settings is left as it is
    (scaling done since is kept); ``force=True`` deploys it again.

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

    Raises:
        UsageError: Unknown, missing or malformed stack, or a bad option; nothing changed.
        NotConverged: Not every task runs after ``timeout`` seconds.
    """
    definition = load_stack(stack, name)
    if publish not in PUBLISH_MODES:
        raise UsageError.choice("publish mode", publish, PUBLISH_MODES)
    if resolve_image not in RESOLVE_IMAGE:
        raise UsageError.choice("resolve_image", resolve_image, RESOLVE_IMAGE)
    rec = StepRecorder(f"stack_deploy {definition.name}", progress)
    manager = active_manager(lab)
    shared = _shared_mounted(lab, manager)
    if definition.files and not shared:
        raise UsageError(
            f"stack {definition.name!r} keeps files on the shared volume, which is not mounted "
            f"on {manager.name}: run lab.require('gluster') first"
        )
    mode = publish_mode(lab) if publish == "auto" else publish
    variables = {"SHARED": MOUNT, "REGISTRY": REGISTRY, "PUBLISH_MODE": mode, **(env or {})}
    folder = f"{MOUNT}/stacks" if shared else STATE_DIR
    stack_path = f"{folder}/{definition.name}.yml"
    marker_path = f"{folder}/{definition.name}.deployed"
    digest = definition.digest(variables)
    existing = _services(lab, manager)
    deployed = all(s in existing for s in definition.service_names)
    if not force and deployed and _marker(lab, manager, marker_path) == digest:
        rec.unchanged(manager.name, f"stack {definition.name} already deployed as defined")
    else:
        for rel, content in definition.files.items():
            target = f"{MOUNT}/{definition.name}/{rel}"
            write_file(lab, target, content.decode("utf-8"), on=[manager.name])
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
        rec.say(f"docker stack deploy -c {stack_path} {definition.name}")
        run_checked(lab, deploy, [manager.name], timeout=120)
        write_file(lab, marker_path, digest, on=[manager.name])
        services = ", ".join(definition.service_names)
        rec.changed(manager.name, f"deployed stack {definition.name} ({services})")
    if any("published" in line for line in definition.text.splitlines()):
        how = "routing mesh (ingress)" if mode == "ingress" else "host mode (no ip_vs)"
        rec.note(f"published ports: {how}")
    if wait:
        wait_converged(lab, definition.service_names, timeout=timeout, progress=rec.say)
    return rec.result()


def stack_converged(lab: RemoteLab, stack: str) -> bool:
    """Whether a shipped stack's services all exist and run all their tasks."""
    definition = load_stack(stack)
    current = _services(lab, active_manager(lab))
    return all(s in current and current[s][1] == current[s][2] for s in definition.service_names)


def stack_rm(
    lab: RemoteLab,
    name: str,
    *,
    wait: bool = True,
    timeout: float = 120.0,
    progress: Progress = quiet,
) -> StepResult:
    """Remove a stack (``docker stack rm <name>``) and wait until its tasks are gone."""
    rec = StepRecorder(f"stack_rm {name}", progress)
    manager = active_manager(lab)
    prefix = f"{name}_"
    if not any(s.startswith(prefix) for s in _services(lab, manager)):
        rec.unchanged(manager.name, f"no stack {name!r} in the swarm")
        return rec.result()
    run_checked(lab, sh("docker", "stack", "rm", name), [manager.name], timeout=60)
    for folder in (f"{MOUNT}/stacks", STATE_DIR):
        lab.run(
            sh("rm", "-f", f"{folder}/{name}.deployed"), on=[manager.name], sudo=True, timeout=30
        )
    rec.changed(manager.name, f"removed stack {name}")
    if wait:
        probe = shell_line(
            sh("docker", "ps", "-q", "--filter", f"label=com.docker.stack.namespace={name}"),
            ";",
            sh(
                "docker",
                "network",
                "ls",
                "-q",
                "--filter",
                f"label=com.docker.stack.namespace={name}",
            ),
        )
        deadline = time.monotonic() + timeout
        running = [n.name for n in lab.nodes if n.running]
        while any(check_nodes(lab, probe, running).values()):
            if time.monotonic() > deadline:
                raise NotConverged(
                    f"stack {name}'s containers or networks are still there", timeout=timeout
                )
            time.sleep(POLL)
    return rec.result()


def _replica_count(replicas: object) -> int:
    if isinstance(replicas, bool) or not isinstance(replicas, int | str):
        raise UsageError(f"replicas must be a whole number from 0 up, got {replicas!r}")
    text = str(replicas).strip()
    if not re.fullmatch(r"[+-]?\d+", text) or int(text) < 0:
        raise UsageError(f"replicas must be a whole number from 0 up, got {replicas!r}")
    return int(text)


def service_scale(
    lab: RemoteLab,
    service: str,
    replicas: int | str,
    *,
    wait: bool = True,
    timeout: float = DEPLOY_TIMEOUT,
    progress: Progress = quiet,
) -> StepResult:
    """Scale a replicated service (``docker service scale <service>=<n>``) and wait.

    Raises:
        UsageError: ``replicas`` is not a whole number >= 0, the service does not
            exist (the message lists those that do) or is global; nothing changed.
        NotConverged: Not every task runs after ``timeout`` seconds.
    """
    count = _replica_count(replicas)
    manager = active_manager(lab)
    current = _services(lab, manager)
    if service not in current:
        raise UsageError.choice("service", service, sorted(current) or ["(no services yet)"])
    mode, _running, desired = current[service]
    if mode != "replicated":
        raise UsageError(
            f"service {service!r} is {mode}: it runs one task per node and cannot be scaled"
        )
    rec = StepRecorder(f"service_scale {service}", progress)
    if desired == count:
        rec.unchanged(manager.name, f"{service} already wants {count} replicas")
    else:
        command = sh("docker", "service", "scale", "--detach", f"{service}={count}")
        rec.say(f"on {manager.name}: {command}")
        run_checked(lab, command, [manager.name], timeout=60)
        rec.changed(manager.name, f"{service}: {desired} -> {count} replicas")
    if wait:
        wait_converged(lab, [service], timeout=timeout, progress=rec.say)
    return rec.result()
