"""Chapters 00 and 02: the lab's machines answer, and run Docker.

Advice for a machine that is down comes from the lab's source
(``lab.source.start_advice``), so a lab of real hosts is never told to run
``workshop up``.
"""

from __future__ import annotations

from collections.abc import Sequence

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.lab import LabSource
from workshop.remote import RemoteLab
from workshop.steps.docker import docker_versions

__all__ = ["docker_running", "lab_hint", "nodes_answer", "start_hint"]


def lab_hint(source: LabSource) -> str:
    """What brings the whole lab up, as far as its source can."""
    if source.can_power:
        return "`workshop up` in a terminal, or lab.require('nodes') here"
    return "`ssh <host>` from here: the kit does not power these hosts, switch them on"


def start_hint(source: LabSource, names: Sequence[str]) -> str:
    """What brings the machines ``names`` back, in the source's words."""
    return "; ".join(source.start_advice(name) for name in names)


def nodes_answer(lab: RemoteLab) -> CheckResult:
    """Every machine of the lab exists, runs and answers over SSH."""
    name = "every node answers"
    hint = lab_hint(lab.source)

    def probe() -> CheckResult:
        settings = lab.settings
        expected = settings.nodes if settings is not None else len(lab.nodes)
        if len(lab.nodes) < expected or not lab.nodes:
            return CheckResult(name, False, f"{len(lab.nodes)} of {expected} machines exist", hint)
        results = lab.run("hostname", timeout=15)
        silent = [r for r in results if r.failed]
        if silent:
            found = ", ".join(f"{r.node} ({r.error or f'exit {r.rc}'})" for r in silent)
            advice = start_hint(lab.source, [r.node for r in silent])
            return CheckResult(name, False, "no answer from " + found, advice)
        return CheckResult(
            name, True, f"{len(results)} of {expected} nodes answer: {name_list(results.nodes)}"
        )

    return guarded(name, hint, probe)


def docker_running(lab: RemoteLab) -> CheckResult:
    """Docker Engine answers ``docker info`` on every node."""
    name = "Docker runs on every node"
    hint = "`systemctl status docker` on the node; steps.install_docker(lab) installs it"

    def probe() -> CheckResult:
        versions = docker_versions(lab)
        missing = [node for node, version in versions.items() if not version]
        if missing:
            message = f"no Docker engine answers on {name_list(missing)}"
            return CheckResult(name, False, message, hint)
        by_version: dict[str, list[str]] = {}
        for node, version in versions.items():
            by_version.setdefault(version, []).append(node)
        found = "; ".join(f"Docker {v} on {name_list(nodes)}" for v, nodes in by_version.items())
        return CheckResult(name, True, found)

    return guarded(name, hint, probe)
