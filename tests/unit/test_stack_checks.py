"""Chapters 06, 07 and 99's checks on a real lab's recorded answers (no lab).

The swarm's record is ``tests/data/swarm/service-ls-stacks.jsonl`` and
``service-ps-broken_*.jsonl`` (demoapp scaled to 3, the registry, and chapter 07's
``broken`` stack stuck at 0/1); the nodes' own answers are recordings of the
checks' probes in ``tests/data/steps`` (see the READMEs there).
"""

from __future__ import annotations

import re

from tests.unit.fakes import (
    Handler,
    Recording,
    down,
    on,
    recording,
    same_answer,
    swarm_lab,
    swarm_recording,
)
from workshop import checks
from workshop.checks.images import registry_gaps
from workshop.checks.stacks import swarm_members_left, task_errors
from workshop.steps.registry import parse_tags_lists
from workshop.swarm import parse_service_ps
from workshop.swarm.info import parse_swarm_info

REGISTRY_IMAGE = "workshop/registry:b1f7ad498e1698b2"


def answers(*sets: list[Recording]) -> list[Handler]:
    """Handlers that answer each recorded (node, command) with its recorded output."""
    return [
        on(re.escape(a["command"]), a["stdout"], a["rc"], nodes=[a["node"]])
        for answer_set in sets
        for a in answer_set
    ]


def stacks_swarm(*handlers: Handler) -> list[Handler]:
    """``handlers`` first, then the swarm's record with demoapp, registry and broken."""

    def service_ps(node: str, command: str) -> tuple[int, str, str] | None:
        match = re.search(r"docker service ps (broken_\w+)", command)
        if not match:
            return None
        return (0, swarm_recording(f"service-ps-{match.group(1)}.jsonl"), "")

    return [
        *handlers,
        on(r"docker service ls", swarm_recording("service-ls-stacks.jsonl")),
        service_ps,
    ]


# --- chapter 06 -------------------------------------------------------------------
def test_registry_ready_reads_every_nodes_tag_lists() -> None:
    lab, _ = swarm_lab(answers(recording("registry-serving")))
    result = checks.registry_ready(lab)
    assert result.passed and result.message == "served on node-1, node-2, node-3"


def test_registry_ready_names_the_node_whose_registry_is_silent_or_incomplete() -> None:
    probe = recording("registry-serving")[0]["command"]
    silent = same_answer(probe, "", ["node-2"])
    lab, _ = swarm_lab(answers(silent, recording("registry-serving")))
    result = checks.registry_ready(lab)
    assert not result.passed and result.message == "not served on node-2 (web, app)"
    assert "docker stack ps registry" in result.hint
    (one,) = recording("registry-one-image")
    assert registry_gaps({"node-3": parse_tags_lists(one["stdout"])}) == ["node-3 (app)"]


def test_image_on_nodes_names_the_nodes_that_lack_it() -> None:
    lab, _ = swarm_lab(answers(recording("images"), recording("image-on-nodes")))
    assert checks.image_on_nodes(lab, REGISTRY_IMAGE).passed
    app = "127.0.0.1:5000/workshop/app:latest"  # pushed from node-1, never pulled by tag
    lacking = checks.image_on_nodes(lab, app)
    assert not lacking.passed and lacking.message == "missing on node-2, node-3"
    assert lacking.hint.startswith(f"`docker pull {app}`")
    assert checks.image_on_nodes(lab, app, on=["node-1"]).passed


# --- chapter 07 -------------------------------------------------------------------
def test_stack_running_counts_the_stacks_services() -> None:
    lab, _ = swarm_lab(stacks_swarm())
    running = checks.stack_running(lab, "demoapp")
    assert running.passed and running.message == "demoapp_app 3/3, demoapp_web 3/3"
    stuck = checks.stack_running(lab, "broken")
    assert not stuck.passed and stuck.message == "broken_app 0/1, broken_web 0/1"
    assert "docker stack ps broken --no-trunc" in stuck.hint
    missing = checks.stack_running(lab, "demo")  # a prefix of demoapp is not demoapp
    assert not missing.passed and missing.message == "there is no stack 'demo'"


def test_task_error_finds_why_the_tasks_of_a_stuck_service_fail() -> None:
    tasks = parse_service_ps(swarm_recording("service-ps-broken_app.jsonl"))
    found = task_errors(tasks, "No such image")
    assert found and all(e.endswith("No such image: 127.0.0.1:5000/workshop/app:v2") for e in found)
    lab, _ = swarm_lab(stacks_swarm())
    web = checks.task_error(lab, "broken_web", "non-zero exit")
    assert web.passed and web.message.endswith("task: non-zero exit (64)")
    other = checks.task_error(lab, "broken_web", "No such image")
    assert not other.passed and other.message == "task: non-zero exit (64)"


def without_broken() -> Handler:
    """The swarm's services once ``docker stack rm broken`` has taken its services."""
    lines = swarm_recording("service-ls-stacks.jsonl").splitlines(keepends=True)
    return on(
        r"docker service ls", "".join(line for line in lines if '"Name":"broken_' not in line)
    )


def test_stack_absent_wants_no_service_container_or_network_left() -> None:
    lab, _ = swarm_lab(stacks_swarm())
    deployed = checks.stack_absent(lab, "broken")
    assert not deployed.passed and deployed.message == "services left: broken_app, broken_web"
    assert deployed.hint.startswith("`docker stack rm broken`")

    leftovers = answers(recording("stack-broken-leftovers"))
    lab, _ = swarm_lab([without_broken(), *leftovers])
    removing = checks.stack_absent(lab, "broken")
    assert not removing.passed
    assert removing.message == "containers or networks of broken still on node-1, node-2"

    lab, _ = swarm_lab([without_broken(), *answers(recording("stack-broken-gone"))])
    gone = checks.stack_absent(lab, "broken")
    assert gone.passed and gone.message == "no service, container or network of it is left"


def test_page_served_asks_every_node_for_the_page() -> None:
    lab, _ = swarm_lab(answers(recording("demoapp-page")))
    assert checks.page_served(lab, 8080, "Hello from the swarm").passed
    edited = checks.page_served(lab, 8080, "edited on node-2")
    assert not edited.passed and edited.message == "not served on node-1, node-2, node-3"
    lab, _ = swarm_lab([down("node-3"), *answers(recording("demoapp-page"))])
    silent = checks.page_served(lab, 8080, "Hello from the swarm")
    assert not silent.passed and silent.message.startswith("could not check")


# --- chapter 99 -------------------------------------------------------------------
def test_swarm_left_reads_each_nodes_own_view() -> None:
    inactive = swarm_recording("info-swarm-inactive-steps.json")
    worker = swarm_recording("info-swarm-node-3-steps.json")
    lab, _ = swarm_lab([on(r"docker info", inactive)])
    result = checks.swarm_left(lab)
    assert result.passed and result.message == "not in a swarm: node-1, node-2, node-3"
    lab, _ = swarm_lab([on(r"docker info", worker, nodes=["node-3"]), on(r"docker info", inactive)])
    result = checks.swarm_left(lab)
    assert not result.passed and result.message == "still in a swarm: node-3"
    no_engine = {"node-1": parse_swarm_info(""), "node-3": parse_swarm_info(worker)}
    assert swarm_members_left(no_engine) == ["node-3"]  # no docker at all: not in a swarm
