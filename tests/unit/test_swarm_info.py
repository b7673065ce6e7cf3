"""A node's own view of its swarm membership, parsed from recorded ``docker info``."""

from __future__ import annotations

import pytest

from tests.unit.fakes import swarm_recording
from workshop.swarm.info import parse_swarm_info
from workshop.swarm.parse import SwarmParseError, parse_node_inspect


def test_members_of_the_recorded_swarm_agree_with_its_record():
    record = {n.hostname: n for n in parse_node_inspect(swarm_recording("node-inspect-steps.json"))}
    for name in ("node-1", "node-2", "node-3"):
        info = parse_swarm_info(swarm_recording(f"info-swarm-{name}-steps.json"))
        assert info.active and info.in_swarm and not info.unsettled
        assert info.node_id == record[name].id
        assert info.role == record[name].role
        assert info.address == record[name].address
        assert info.managers and all(m.endswith(":2377") for m in info.managers)


def test_an_engine_outside_any_swarm():
    info = parse_swarm_info(swarm_recording("info-swarm-inactive-steps.json"))
    assert info.engine_answered and not info.in_swarm and not info.is_manager
    assert info.node_id == "" and info.managers == ()


@pytest.mark.parametrize("text", [swarm_recording("info-swarm-no-daemon-steps.json"), ""])
def test_an_engine_that_does_not_answer(text):
    info = parse_swarm_info(text)
    assert not info.engine_answered and not info.in_swarm and not info.active


@pytest.mark.parametrize("text", ["Cannot connect to the Docker daemon", "[1, 2]"])
def test_output_that_is_not_a_json_object_is_an_error(text):
    with pytest.raises(SwarmParseError, match="docker info"):
        parse_swarm_info(text)
