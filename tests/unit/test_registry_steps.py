"""What the lab registry serves, and which nodes lack an image, on a real lab's answers."""

from __future__ import annotations

import pytest

from tests.unit.fakes import recorded_lab, recording, same_answer
from workshop.errors import NotReady
from workshop.steps.registry import (
    nodes_lacking,
    open_listeners,
    parse_tags_lists,
    registry,
    registry_open_on,
    registry_serves,
)

#: The inputs digests of the images the recorded lab was given.
CURRENT = {"web": "2439f4500718eccf", "app": "1d6729aeea5405bd"}
REGISTRY_IMAGE = "workshop/registry:b1f7ad498e1698b2"


def test_the_registry_answers_tag_lists() -> None:
    (answer, *_) = recording("registry-serving")
    assert parse_tags_lists(answer["stdout"]) == {
        "web": {"latest", CURRENT["web"]},
        "app": {"latest", CURRENT["app"]},
    }
    (one,) = recording("registry-one-image")  # an image it does not know adds nothing
    assert parse_tags_lists(one["stdout"]) == {"web": {"latest", CURRENT["web"]}}


def test_a_registry_serving_the_current_tags_is_in_place() -> None:
    lab, remote = recorded_lab(recording("registry-serving"))
    assert registry_serves(lab, CURRENT)
    assert remote.unrecorded == []


def test_a_new_image_digest_or_a_silent_registry_is_not_in_place() -> None:
    lab, _ = recorded_lab(recording("registry-serving"))
    assert not registry_serves(lab, {**CURRENT, "web": "0123456789abcdef"})
    probe = recording("registry-serving")[0]["command"]
    lab, _ = recorded_lab(recording("registry-serving"), same_answer(probe, "", ["node-2"]))
    assert not registry_serves(lab, CURRENT)


def test_nodes_lacking_an_image_are_found_in_one_round_trip() -> None:
    lab, remote = recorded_lab(recording("images"))
    assert nodes_lacking(lab, lab.names, [REGISTRY_IMAGE]) == []
    pushed = [f"workshop/web:{CURRENT['web']}", f"workshop/app:{CURRENT['app']}"]
    assert nodes_lacking(lab, lab.names, pushed) == ["node-2", "node-3"]
    assert len(remote.commands) == 2 * len(lab.names) and remote.unrecorded == []


def test_the_registry_needs_the_shared_volume_first() -> None:
    lab, remote = recorded_lab(recording("gluster-unmounted"))
    with pytest.raises(NotReady, match=r"lab\.require\('gluster'\)"):
        registry(lab)
    assert all("findmnt" in command for _, command in remote.commands)


def test_a_registry_listening_beyond_loopback_is_open_and_one_on_loopback_is_closed() -> None:
    # "open": the registry of an older kit, port 5000 published in host mode
    # (docker-proxy on every address); "closed": on the host network, 127.0.0.1 only.
    lab, remote = recorded_lab(recording("registry-listen-open"))
    assert registry_open_on(lab) == ["node-1", "node-2", "node-3"]
    assert remote.unrecorded == []
    lab, _ = recorded_lab(recording("registry-listen-closed"))
    assert registry_open_on(lab) == []
    assert open_listeners("LISTEN 0 4096 [::]:5000 [::]:*\n") == ["[::]:5000"]
