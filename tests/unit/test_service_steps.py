"""Scaling, node availability and stack deploys: one rule each, on recorded output.

The swarm answers from recordings in tests/data/swarm (README-steps.md): stack
``swarmsteps`` (service ``swarmsteps_hello``, replicated, 2 of 2 running, deployed
from ``stack-steps.yml``) beside the global ``registry_registry``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.fakes import SWARM_DATA, RecordedReader, on, swarm_lab, swarm_recording
from workshop.dashboard import control
from workshop.errors import NotReady, UnknownNode, UsageError
from workshop.steps.service import MAX_REPLICAS, node_availability, service_scale
from workshop.steps.stack import stack_deploy

SERVICE = "swarmsteps_hello"
STACK_FILE = SWARM_DATA / "stack-steps.yml"
#: What the stack's node answers: the shared volume, ip_vs, the deployed marker.
NODE_ANSWERS = [
    on("findmnt", swarm_recording("findmnt-shared-steps.txt")),
    on("ip_vs", swarm_recording("ipvs-probe-steps.txt")),
    on(r"cat .*swarmsteps\.deployed", swarm_recording("stack-marker-swarmsteps-steps.txt")),
]


def details(result) -> dict[str, tuple[bool, str]]:
    return {change.node: (change.changed, change.detail) for change in result.nodes}


# --- service_scale -------------------------------------------------------------------


def test_service_scale_to_the_count_it_has_changes_nothing():
    lab, remote = swarm_lab([])
    reader = RecordedReader(lab)
    result = service_scale(lab, SERVICE, 2, reader=reader)
    assert details(result) == {"node-1": (False, f"{SERVICE} already wants 2 replicas")}
    assert reader.writes == [] and remote.commands == []


def test_service_scale_runs_docker_service_scale_then_waits_for_the_count():
    lab, _ = swarm_lab([])
    scaled = {"service scale": {"services": "service-ls-scaled-steps.jsonl"}}
    reader = RecordedReader(lab, then=scaled)
    lines: list[str] = []
    result = service_scale(lab, SERVICE, 3, reader=reader, progress=lines.append)
    assert reader.writes == [["service", "scale", "--detach", f"{SERVICE}=3"]]
    assert details(result) == {"node-1": (True, f"{SERVICE}: 2 -> 3 replicas")}
    assert lines[-1] == f"service_scale {SERVICE}: {SERVICE}: 3/3 running"


@pytest.mark.parametrize("replicas", [MAX_REPLICAS + 1, 100000, "101"])
def test_service_scale_above_the_bound_is_refused_before_anything_runs(replicas):
    lab, remote = swarm_lab([])
    reader = RecordedReader(lab)
    with pytest.raises(UsageError) as info:
        service_scale(lab, SERVICE, replicas, reader=reader)
    assert str(int(replicas)) in str(info.value) and f"at most {MAX_REPLICAS}" in str(info.value)
    assert reader.reads == [] and reader.writes == [] and remote.commands == []


@pytest.mark.parametrize("replicas", [-1, "-3", "1e3", 2.5, None])
def test_service_scale_of_no_whole_number_names_value_and_bound(replicas):
    lab, remote = swarm_lab([])
    reader = RecordedReader(lab)
    with pytest.raises(UsageError) as info:
        service_scale(lab, SERVICE, replicas, reader=reader)
    assert repr(replicas) in str(info.value) and f"up to {MAX_REPLICAS}" in str(info.value)
    assert reader.reads == [] and remote.commands == []


def test_service_scale_of_a_global_service_is_refused():
    lab, _ = swarm_lab([])
    reader = RecordedReader(lab)
    with pytest.raises(UsageError, match="registry_registry' is global"):
        service_scale(lab, "registry_registry", 2, reader=reader)
    assert reader.writes == []


def test_service_scale_without_a_swarm_says_which_state_to_require():
    lab, _ = swarm_lab([])
    with pytest.raises(NotReady, match=r'lab\.require\("swarm"\)'):
        service_scale(lab, SERVICE, 2, reader=RecordedReader(lab, unavailable=True))


def test_the_dashboard_scales_by_the_same_rule():
    lab, _ = swarm_lab([])
    reader = RecordedReader(lab)
    control.scale_service(reader, SERVICE, 2)
    assert reader.writes == []  # already at 2: the step's idempotence
    with pytest.raises(UsageError, match=f"at most {MAX_REPLICAS}"):
        control.check_replicas(MAX_REPLICAS + 1)
    with pytest.raises(UsageError, match=f"at most {MAX_REPLICAS}"):
        control.scale_service(reader, SERVICE, MAX_REPLICAS + 1)
    assert reader.writes == []


# --- node_availability ---------------------------------------------------------------


def test_node_availability_already_in_place_changes_nothing():
    lab, _ = swarm_lab([])
    reader = RecordedReader(lab)
    result = node_availability(lab, "node-3", "active", reader=reader)
    assert details(result) == {"node-3": (False, "already active")}
    assert reader.writes == []


def test_node_availability_runs_docker_node_update():
    lab, _ = swarm_lab([])
    reader = RecordedReader(lab)
    result = node_availability(lab, "node-3", "drain", wait=False, reader=reader)
    assert reader.writes == [["node", "update", "--availability", "drain", "node-3"]]
    assert details(result) == {"node-3": (True, "active -> drain")}


def test_node_availability_refuses_bad_input_before_anything_changes():
    lab, _ = swarm_lab([])
    reader = RecordedReader(lab)
    with pytest.raises(UsageError, match="availability 'off' is not valid"):
        node_availability(lab, "node-3", "off", reader=reader)
    assert reader.reads == []
    with pytest.raises(UnknownNode, match="node-9"):
        node_availability(lab, "node-9", "drain", reader=reader)
    assert reader.writes == []


# --- stack_deploy --------------------------------------------------------------------


def test_stack_deploy_of_a_converged_stack_deployed_as_defined_changes_nothing():
    lab, remote = swarm_lab(NODE_ANSWERS)
    reader = RecordedReader(lab)
    result = stack_deploy(lab, STACK_FILE, name="swarmsteps", reader=reader)
    assert details(result) == {
        "node-1": (False, "stack swarmsteps already deployed as defined"),
    }
    assert remote.matching("docker stack deploy") == [] and remote.files == []
    assert reader.writes == []


def test_stack_deploy_of_a_changed_stack_file_deploys_it_again(tmp_path: Path):
    changed = tmp_path / "stack-steps.yml"
    changed.write_text(STACK_FILE.read_text() + "# one more line\n")
    lab, remote = swarm_lab(NODE_ANSWERS)
    result = stack_deploy(lab, changed, name="swarmsteps", reader=RecordedReader(lab))
    assert result.changed
    deploys = remote.matching("docker stack deploy")
    assert len(deploys) == 1 and deploys[0].endswith(
        "-c /mnt/swarm-data/stacks/swarmsteps.yml swarmsteps"
    )
    assert "PUBLISH_MODE=host" in deploys[0]  # no ip_vs on the recorded nodes
