"""The graded labs on stacks (``labs/``): 07 (fix a stack file), 08 (a proxy over replicas).

Like :mod:`~workshop.checks.labs`: one check per lab, one part per thing the task
asks, each failing with a hint that names the docker command first. Most parts are
the chapters' own checks (a stack runs, a page is served, a proxy follows).
"""

from __future__ import annotations

import json

from workshop.checks.balancing import proxy_follows, requests_spread
from workshop.checks.labs import Part, check_parts
from workshop.checks.result import CheckResult, check_all
from workshop.checks.services import global_service, service_replicas
from workshop.checks.stacks import page_served, stack_running
from workshop.remote import RemoteLab
from workshop.swarm import SwarmReader

__all__ = ["lab_07", "lab_08", "published_problem"]

# --- lab 07: a stack file with a mistake -----------------------------------------
LAB07_STACK = "lab07"
LAB07_SERVICE = f"{LAB07_STACK}_web"
LAB07_PORT = 8090
LAB07_TITLE = f"lab 07: stack {LAB07_STACK} serves on port {LAB07_PORT}"
LAB07_PORT_PART: Part = (
    f"{LAB07_SERVICE} publishes port {LAB07_PORT} to port 80, where nginx listens",
    f"`docker service inspect --pretty {LAB07_SERVICE}` shows the ports; fix `target:` in "
    f"the stack file, then `docker stack deploy` it again",
)


def published_problem(ports: object) -> str:
    """What is wrong with a service's ``.Endpoint.Spec.Ports`` (JSON) for lab 07, or ""."""
    found = [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []
    mine = [p for p in found if p.get("PublishedPort") == LAB07_PORT]
    if not mine:
        return f"port {LAB07_PORT} is not published"
    wrong = [str(p.get("TargetPort")) for p in mine if p.get("TargetPort") != 80]
    return f"port {LAB07_PORT} goes to port {', '.join(wrong)} in the task" if wrong else ""


def _ports_problem(lab: RemoteLab) -> str:
    spec = "{{json .Endpoint.Spec.Ports}}"
    return published_problem(
        json.loads(SwarmReader(lab).docker(["service", "inspect", "--format", spec, LAB07_SERVICE]))
    )


def lab_07(lab: RemoteLab) -> CheckResult:
    """Lab 07: the provided stack, fixed, runs and every node serves its page on port 8090."""
    parts = [
        stack_running(lab, LAB07_STACK),
        check_parts(LAB07_PORT_PART, lambda: _ports_problem(lab), f"{LAB07_PORT} -> 80"),
        page_served(lab, LAB07_PORT, "lab07-node-"),
    ]
    return check_all(LAB07_TITLE, parts)


# --- lab 08: requests spread over every replica behind a proxy ---------------------
LAB08_STACK = "lab08"
LAB08_PORT = 8088
LAB08_REPLICAS = 4
LAB08_TITLE = f"lab 08: port {LAB08_PORT} spreads over {LAB08_REPLICAS} replicas"


def lab_08(lab: RemoteLab) -> CheckResult:
    """Lab 08: a proxy on every node, over 4 replicas of ``hello``, each answering requests."""
    proxy, hello = f"{LAB08_STACK}_proxy", f"{LAB08_STACK}_hello"
    parts = [
        global_service(lab, proxy),
        service_replicas(lab, hello, LAB08_REPLICAS, spread=False),
        proxy_follows(lab, proxy, hello),
        requests_spread(lab, LAB08_PORT, hello, LAB08_REPLICAS),
    ]
    return check_all(LAB08_TITLE, parts)
