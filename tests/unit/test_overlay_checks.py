"""Chapter 10's checks and its images step, on what a real lab answered (tests/data/overlay)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.unit.fakes import Recording, recorded_lab, same_answer
from workshop import checks
from workshop.checks.overlay import parse_lookups
from workshop.errors import NotReady, UsageError
from workshop.images.build import IMAGES_DIR
from workshop.steps.registry import PUSHED_IMAGES
from workshop.steps.stack_images import CHAPTER_IMAGES, registry_answers, stack_images, unserved
from workshop.steps.stackfile import load_stack

DATA = Path(__file__).resolve().parent.parent / "data" / "overlay"


def overlay(name: str) -> list[Recording]:
    """The answers recorded in ``tests/data/overlay/<name>.json``."""
    answers: list[Recording] = json.loads((DATA / f"{name}.json").read_text())
    return answers


def command_of(name: str, start: str) -> str:
    """The recorded command of ``name`` that starts with ``start``."""
    return next(a["command"] for a in overlay(name) if a["command"].startswith(start))


def test_lookups_name_each_container_and_its_answer() -> None:
    (counter, *_) = overlay("lookups-counter")
    assert parse_lookups(counter["stdout"]) == {"counter-1.node-1": "10.0.3.12"}
    (proxy, *_) = overlay("lookups-proxy")
    assert parse_lookups(proxy["stdout"]) == {"proxy.node-1": None}


def test_every_counter_finds_redis_and_no_proxy_does() -> None:
    lab, _ = recorded_lab(overlay("lookups-counter"), overlay("lookups-proxy"))
    found = checks.resolves(lab, "tiers_counter", "redis")
    assert found.passed and "counter-3.node-3 -> 10.0.3.12" in found.message
    assert not checks.cannot_resolve(lab, "tiers_counter", "redis").passed
    blind = checks.cannot_resolve(lab, "tiers_proxy", "redis")
    assert blind.passed and "proxy.node-3 -> not found" in blind.message
    refused = checks.resolves(lab, "tiers_proxy", "redis")
    assert not refused.passed and "proxy.node-2" in refused.message


def test_a_service_with_no_container_running_is_not_judged_reachable() -> None:
    probe = overlay("lookups-counter")[0]["command"]
    lab, _ = recorded_lab(same_answer(probe, "", ["node-1", "node-2", "node-3"]))
    for check in (checks.resolves, checks.cannot_resolve):
        result = check(lab, "tiers_counter", "redis")
        assert not result.passed and "no container" in result.message


def test_overlay_networks_and_their_attachable_flag() -> None:
    lab, _ = recorded_lab(overlay("networks"))
    front = checks.overlay_network(lab, "front-tier", attachable=False)
    assert front.passed and "not attachable, 10.0.2.0/24" in front.message
    assert checks.overlay_network(lab, "back-tier", attachable=True).passed
    wrong = checks.overlay_network(lab, "front-tier", attachable=True)
    assert not wrong.passed and "--attachable front-tier" in wrong.hint
    assert not checks.network_absent(lab, "back-tier").passed


def test_removed_networks_are_absent() -> None:
    lab, _ = recorded_lab(overlay("networks"), overlay("networks-removed"))
    assert checks.network_absent(lab, "front-tier").passed
    assert checks.network_absent(lab, "back-tier").passed
    missing = checks.overlay_network(lab, "front-tier")
    assert not missing.passed and "no network 'front-tier'" in missing.message


def test_redis_is_pinned_to_the_labelled_node() -> None:
    lab, _ = recorded_lab(overlay("redis-pinned"))
    assert checks.service_pinned(lab, "tiers_redis", "node-3").passed
    elsewhere = checks.service_pinned(lab, "tiers_redis", "node-1")
    assert not elsewhere.passed and "node-3" in elsewhere.message


def test_the_requester_logs_replies_from_the_other_node() -> None:
    lab, _ = recorded_lab(overlay("replies"))
    result = checks.replies_across_nodes(lab)
    assert result.passed and result.message.startswith(
        "node-1 -> node-3: reply from replier.node-3"
    )


def test_a_requester_without_replies_fails() -> None:
    logs = command_of("replies", "docker service logs")
    silent = same_answer(logs, "no reply from replier:7000\n", ["node-1"])
    lab, _ = recorded_lab(overlay("replies"), silent)
    result = checks.replies_across_nodes(lab)
    assert not result.passed and "no reply" in result.message


def test_images_the_registry_lacks_at_their_digest() -> None:
    lists = command_of("stack-images-served", "curl -sf --max-time 10 http://127.0.0.1:5000/v2/w")
    (answer,) = [a for a in overlay("stack-images-served") if a["command"] == lists]
    served = {
        "redis": "ac1585cc681d7b6f",
        "counter": "3aacbe9e2ddca4ad",
        "reqrep": "b5bb11553c4b8518",
    }
    assert unserved(answer["stdout"], served) == []
    assert unserved(answer["stdout"], {**served, "counter": "0123456789abcdef"}) == ["counter"]
    assert unserved("", {"redis": "ac1585cc681d7b6f"}) == ["redis"]


def test_images_need_an_answering_registry_and_a_real_image_name() -> None:
    lab, remote = recorded_lab(overlay("stack-images-served"))
    with pytest.raises(UsageError, match="'node' is not valid"):
        stack_images(lab, ["redis", "node"])
    assert remote.commands == []  # checked before anything ran
    assert registry_answers(lab, "node-1")
    probe = command_of("stack-images-served", "curl -sf --max-time 10 http://127.0.0.1:5000/v2/ ")
    lab, _ = recorded_lab(overlay("stack-images-served"), same_answer(probe, "down\n", ["node-1"]))
    with pytest.raises(NotReady, match=r'lab\.require\("registry"\)'):
        stack_images(lab)


def test_the_chapter_stacks_run_images_that_get_pushed() -> None:
    used = set()
    for stack in ("tiers", "reqrep"):
        for service in yaml.safe_load(load_stack(stack).text)["services"].values():
            used.add(service["image"].removeprefix("${REGISTRY}/workshop/").removesuffix(":latest"))
    assert used <= set(PUSHED_IMAGES) | set(CHAPTER_IMAGES)
    assert all((IMAGES_DIR / name / "Dockerfile").is_file() for name in CHAPTER_IMAGES)
