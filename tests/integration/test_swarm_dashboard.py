"""The swarm read model and the dashboard on a real swarm (lab ``wsdash``, 192.168.61).

The tests run in file order on one swarm: the spread of ``helloworld``, scaling,
requests answered by each node, a drained node, then the leader powered off. Every
test that breaks something puts it back before it ends.
"""

from __future__ import annotations

import time

import pytest

from tests.swarm_setup import HELLO_PORT, REPLICAS, SERVICE, power, swarm_restored, wait_for
from workshop import Lab
from workshop.dashboard import FaultTimeline, RequestSampler, SwarmDashboard, replica_map
from workshop.swarm import ReplicaDistribution, SwarmNode, SwarmReader, SwarmUnavailable

pytest_plugins = ["tests.swarm_lab"]
pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

NAMES = ["node-1", "node-2", "node-3"]


@pytest.fixture(scope="module")
def reader(swarm_lab: Lab) -> SwarmReader:
    return SwarmReader(swarm_lab)


def distribution_when(reader: SwarmReader, ok: object, timeout: float = 120) -> ReplicaDistribution:
    """Poll helloworld's distribution until ``ok(distribution)`` holds."""
    assert callable(ok)

    def check() -> ReplicaDistribution | None:
        dist = reader.replica_distribution(SERVICE)
        return dist if ok(dist) else None

    found = wait_for(check, timeout, f"{SERVICE} distribution")
    assert isinstance(found, ReplicaDistribution)
    return found


def leader_or_none(reader: SwarmReader) -> SwarmNode | None:
    try:
        return reader.leader()
    except SwarmUnavailable:  # mid-election a manager may time out instead of answering
        return None


def test_helloworld_spreads_over_the_three_nodes(reader: SwarmReader) -> None:
    dist = distribution_when(reader, lambda d: d.total == REPLICAS)
    assert list(dist) == NAMES
    assert sum(dist.values()) == REPLICAS
    assert all(count > 0 for count in dist.values()), dist
    assert f"{SERVICE}: {REPLICAS} tasks on 3 nodes" in repr(dist)


def test_dashboard_refresh_and_scale(swarm_lab: Lab, reader: SwarmReader) -> None:
    dashboard = SwarmDashboard(swarm_lab, SERVICE, auto_refresh=False)
    state = dashboard.refresh()
    assert state.distributions[SERVICE].total == REPLICAS
    assert state.quorum is not None and state.quorum.has_quorum
    assert dashboard.replicas.value == REPLICAS
    assert bytes(dashboard.image.value).startswith(b"\x89PNG")
    try:
        service = dashboard.scale(9, timeout=120)
        assert service is not None and service.replicas_running == 9
        assert reader.replica_distribution(SERVICE).total == 9
    finally:
        dashboard.scale(REPLICAS, timeout=120)
    assert dashboard.refresh().distributions[SERVICE].total == REPLICAS


def test_every_node_answers_requests_on_its_host_port(swarm_lab: Lab) -> None:
    sampler = RequestSampler(swarm_lab, HELLO_PORT, 30, service="hello")
    sample = sampler.refresh()
    assert sample.answered == 30 and not sample.unanswered
    assert sorted(sample.replicas.values()) == NAMES
    assert sample.per_node == {name: 10 for name in NAMES}
    assert "30 answered" in repr(sample)


def test_drained_node_runs_nothing_and_is_marked(swarm_lab: Lab, reader: SwarmReader) -> None:
    dashboard = SwarmDashboard(swarm_lab, SERVICE, auto_refresh=False)
    dashboard.refresh()
    dashboard.set_availability("node-3", "drain")
    try:
        dist = distribution_when(reader, lambda d: d["node-3"] == 0 and d.total == REPLICAS)
        assert dist.marks["node-3"] == "drain"
        state = dashboard.refresh()
        assert state.distributions[SERVICE]["node-3"] == 0
        fig = replica_map(state.counts, state.nodes)
        (ax,) = fig.axes
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert "node-3 (drain)" in labels
        assert any(p.get_gid() == "mark:node-3" for p in ax.patches)
        assert dashboard._rows["node-3"][0].value == "drain"
    finally:
        dashboard.set_availability("node-3", "active")
    node_3 = next(n for n in reader.nodes() if n.hostname == "node-3")
    assert node_3.availability == "active"


def test_new_leader_when_the_leader_is_powered_off(swarm_lab: Lab, reader: SwarmReader) -> None:
    reader.docker(["node", "promote", "node-3"])
    wait_for(lambda: reader.quorum().reachable == 3, 60, "three reachable managers")
    old = leader_or_none(reader)
    assert old is not None
    dashboard = SwarmDashboard(swarm_lab, SERVICE, auto_refresh=False)
    timeline = FaultTimeline(swarm_lab, SERVICE, interval=2, desired=REPLICAS).start()
    try:
        timeline.mark(f"{old.hostname} powered off")
        power(swarm_lab, "halt", old.hostname)
        halted = time.monotonic()

        def new_leader() -> SwarmNode | None:
            leader = leader_or_none(reader)
            return leader if leader is not None and leader.hostname != old.hostname else None

        leader = wait_for(new_leader, 60, "a new leader")
        assert isinstance(leader, SwarmNode)
        print(f"new leader {leader.hostname} {time.monotonic() - halted:.0f} s after the halt")
        state = dashboard.refresh()  # the dashboard still reads, through another manager
        assert state.quorum is not None
        assert state.quorum.leader == leader.hostname
        assert (state.quorum.managers, state.quorum.has_quorum) == (3, True)
        assert state.distributions[SERVICE].service == SERVICE
        assert dashboard.reader.last_manager != old.hostname
        samples = timeline.refresh()  # one more sample, now that the new leader leads
        timeline.stop()
        leaders = [s.leader for s in samples if s.leader]
        assert leaders[0] == old.hostname and leaders[-1] == leader.hostname, samples
        assert [s.event for s in samples if s.event] == [f"{old.hostname} powered off"]
    finally:
        timeline.stop()
        power(swarm_lab, "start", old.hostname)
        wait_for(lambda: all(n.status == "ready" for n in reader.nodes()), 120, "all nodes ready")
        swarm_restored(swarm_lab)
    # The demotion in swarm_restored takes a moment to show in `docker node ls`.
    wait_for(
        lambda: (reader.quorum().managers, reader.quorum().reachable) == (2, 2),
        60,
        "two reachable managers again",
    )
    distribution_when(reader, lambda d: d.total == REPLICAS)
