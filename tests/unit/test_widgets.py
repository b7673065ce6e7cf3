"""Dashboard widgets against a fake lab that answers with docker output recorded on the lab."""

from __future__ import annotations

import threading

import matplotlib
import pytest

from tests.unit.fakes import FakeDashboardLab, is_snapshot, result
from workshop.dashboard import (
    FaultTimeline,
    QuorumGauge,
    RequestSampler,
    SwarmDashboard,
    record_timeline,
    sample_requests,
    stop_all,
)
from workshop.dashboard.sampling import request_loop
from workshop.errors import UnknownNode, UsageError
from workshop.progress import poll_until
from workshop.swarm import SwarmUnavailable

matplotlib.use("Agg")

PNG = b"\x89PNG"


@pytest.fixture
def lab() -> FakeDashboardLab:
    return FakeDashboardLab()


def status_text(widget: object) -> str:
    return widget.status.value  # type: ignore[attr-defined,no-any-return]


def wait_idle(widget: SwarmDashboard | RequestSampler) -> None:
    widget.wait(10)
    assert not widget.busy


# --- SwarmDashboard ----------------------------------------------------------------


def test_dashboard_constructs_without_touching_the_lab(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    assert lab.calls == []
    assert "not read yet" in repr(dashboard)
    bundle = dashboard._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("SwarmDashboard(")
    assert "workshop-dashboard" in dashboard.view._dom_classes


def test_first_display_reads_once(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    dashboard._repr_mimebundle_()
    dashboard._repr_mimebundle_()
    dashboard.wait(10)
    assert [on for on, _ in lab.calls] == ["node-1"]
    assert "reading" not in dashboard.title.value
    assert "helloworld: 6 tasks on 3 nodes" in repr(dashboard)


def test_buttons_show_busy_while_an_action_runs(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    dashboard.refresh()
    release = threading.Event()
    dashboard.run_in_background("slow action", lambda: release.wait(10))
    power_off = dashboard.nodes_box.children[2].children[2]
    busy_state = (dashboard.refresh_button.disabled, power_off.disabled)
    release.set()
    wait_idle(dashboard)
    assert busy_state == (True, True)
    assert not dashboard.refresh_button.disabled and not power_off.disabled
    assert dashboard.apply_button.disabled  # disabled before (no service chosen): stays so


def test_refresh_returns_what_it_drew(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    state = dashboard.refresh()
    assert set(state.distributions) == {"hello", "helloworld"}
    assert state.distributions["helloworld"].total == 6
    assert state.distributions["hello"].counts == {"node-1": 1, "node-2": 1, "node-3": 1}
    assert state.quorum is not None and state.quorum.leader == "node-1"
    assert dashboard.image.value.tobytes().startswith(PNG)
    assert list(dashboard.selector.options) == ["(all services)", "hello", "helloworld"]
    assert dashboard.replicas.disabled and dashboard.apply_button.disabled
    assert len(dashboard.nodes_box.children) == 3
    assert [t.value for t, _ in dashboard._rows.values()] == ["active"] * 3
    assert "leader <b>node-1</b>" in dashboard.title.value
    assert "updated" in status_text(dashboard)
    text = repr(dashboard)
    assert "helloworld: 6 tasks on 3 nodes" in text and "Leader: node-1" in text


def test_refresh_is_one_round_trip_to_one_manager(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    dashboard.refresh()
    dashboard.refresh()
    assert [on for on, _ in lab.calls] == ["node-1", "node-1"]
    assert all(is_snapshot(command) for command in lab.commands)


def test_figure_is_redrawn_in_place_only_when_the_picture_changes(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    image, children = dashboard.image, dashboard.view.children
    dashboard.refresh()
    figure, png = dashboard.canvas.figure, dashboard.image.value
    dashboard.refresh()  # the swarm did not change: nothing is drawn again
    assert dashboard.canvas.draws == 1 and dashboard.image.value == png
    lab.node_ls = "node-ls-faults.jsonl"  # node-1 down, node-3 drained: new marks
    dashboard.refresh()
    assert dashboard.canvas.draws == 2 and dashboard.image.value != png
    assert dashboard.canvas.figure is figure and dashboard.image is image
    assert dashboard.view.children == children
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["node-1 (down)", "node-2", "node-3 (drain)"]
    assert dashboard.redraw() and dashboard.canvas.draws == 3


def test_selected_service_sets_the_slider(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    state = dashboard.refresh()
    assert list(state.distributions) == ["helloworld"]
    assert dashboard.replicas.value == 6 and not dashboard.replicas.disabled
    assert dashboard.selector.value == "helloworld"


def test_drained_node_is_marked(lab: FakeDashboardLab) -> None:
    lab.node_ls = "node-ls-faults.jsonl"
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    state = dashboard.refresh()
    assert state.distributions["helloworld"].marks["node-3"] == "drain"
    toggle, label = dashboard._rows["node-3"]
    assert toggle.value == "drain" and "drain" in label.value
    assert "(down)" in dashboard._rows["node-1"][1].value


def test_unknown_service_is_shown_in_the_widget(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, "nope", auto_refresh=False)
    with pytest.raises(UsageError, match="hello, helloworld"):
        dashboard.refresh()
    assert "workshop-error" in status_text(dashboard) and "nope" in status_text(dashboard)
    assert dashboard.refresh_quietly() is None
    assert isinstance(dashboard.last_error, UsageError)
    assert "Last error" in repr(dashboard)


@pytest.mark.parametrize("replicas", [-1, 101, 2.5, "3", True])
def test_bad_replicas_never_reach_the_cluster(lab: FakeDashboardLab, replicas: object) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    with pytest.raises(UsageError, match="replicas"):
        dashboard.scale(replicas)  # type: ignore[arg-type]
    assert lab.calls == []


def test_unknown_service_is_not_scaled(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    dashboard.refresh()
    with pytest.raises(UsageError, match="'web'"):
        dashboard.scale(3, "web")
    assert not any("scale" in c for c in lab.commands)


def test_scale_waits_for_the_replicas(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    dashboard.refresh()
    service = dashboard.scale(9)
    assert service is not None and service.replicas_running == 9
    assert "docker service scale --detach helloworld=9" in lab.commands
    assert dashboard.progress.value == 1.0


def test_apply_button_scales_in_the_background(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    dashboard.refresh()
    dashboard.replicas.value = 4
    dashboard.apply_button.click()
    wait_idle(dashboard)
    assert "docker service scale --detach helloworld=4" in lab.commands
    assert dashboard.state is not None and dashboard.state.find("helloworld").replicas_desired == 4  # type: ignore[union-attr]
    assert dashboard.replicas.value == 4
    assert dashboard.progress.layout.visibility == "hidden"


def test_availability_toggle_runs_node_update(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    dashboard.refresh()
    toggle, _ = dashboard._rows["node-3"]
    toggle.value = "drain"
    wait_idle(dashboard)
    assert "docker node update --availability drain node-3" in lab.commands
    with pytest.raises(UsageError, match="availability"):
        dashboard.set_availability("node-3", "off")
    with pytest.raises(UnknownNode):
        dashboard.set_availability("node-9", "drain")


def test_refresh_moving_the_toggles_runs_nothing(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    dashboard.refresh()
    lab.node_ls = "node-ls-faults.jsonl"
    dashboard.refresh()
    assert dashboard._rows["node-3"][0].value == "drain"
    assert not dashboard.busy
    assert not any("node update" in c for c in lab.commands)


def test_power_buttons_halt_and_start_through_the_lab(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    dashboard.refresh()
    row = dashboard.nodes_box.children[2]
    power_off, power_on = row.children[2:]
    power_off.click()
    wait_idle(dashboard)
    power_on.click()
    wait_idle(dashboard)
    assert lab.power == [("halt", "node-3"), ("start", "node-3")]
    with pytest.raises(UnknownNode):
        dashboard.power_off("node-7")


def test_errors_of_background_actions_appear_in_the_widget(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    dashboard.refresh()
    recorded = lab.answer
    lab.answer = lambda node, command: (
        result(node, command, rc=1, stderr="Error: update out of sequence\n")
        if "scale" in command
        else recorded(node, command)
    )
    dashboard.replicas.value = 2
    dashboard.apply_button.click()
    wait_idle(dashboard)
    assert "CommandFailed" in status_text(dashboard)
    assert "update out of sequence" in status_text(dashboard)


def test_no_manager_answering_is_shown_not_raised_by_the_timer(lab: FakeDashboardLab) -> None:
    lab.answer = lambda node, command: result(node, command, rc=None, error="timed out after 15 s")
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    with pytest.raises(SwarmUnavailable):
        dashboard.refresh()
    assert "No manager could answer" in status_text(dashboard)
    assert dashboard.refresh_quietly() is None


def test_auto_refresh_runs_on_a_timer_and_stops(lab: FakeDashboardLab) -> None:
    dashboard = SwarmDashboard(lab, interval=0.5)
    assert dashboard.auto.value
    poll_until(lambda: dashboard.state, lambda state: state is not None, timeout=10, interval=0.05)
    assert dashboard.running
    dashboard.auto.value = False
    assert dashboard._timer is not None
    dashboard._timer.join(5)
    assert not dashboard.running
    dashboard.resume()
    assert dashboard.auto.value and dashboard.running
    dashboard.close()
    assert not dashboard.auto.value


def test_interval_is_checked(lab: FakeDashboardLab) -> None:
    with pytest.raises(UsageError, match="interval"):
        SwarmDashboard(lab, interval=0)


# --- RequestSampler ------------------------------------------------------------------


@pytest.mark.parametrize(("port", "requests"), [(0, 10), (70000, 10), (80, 0), (80, 5000)])
def test_sampler_checks_its_arguments_first(
    lab: FakeDashboardLab, port: int, requests: int
) -> None:
    with pytest.raises(UsageError):
        RequestSampler(lab, port, requests)
    assert lab.calls == []


def test_sampler_counts_answers_per_container_and_node(lab: FakeDashboardLab) -> None:
    sampler = RequestSampler(lab, 8080, 30, service="hello")
    assert lab.calls == [] and "no requests sent yet" in repr(sampler)
    sample = sampler.refresh()
    assert sample.requests == 30 and sample.sender == "node-1"
    assert sample.answers == {"c0ffee000001": 10, "c0ffee000002": 10}
    assert sample.unanswered == {"node-3": 10}
    assert sample.replicas == {"c0ffee000001": "node-1", "c0ffee000002": "node-2"}
    assert sample.per_node == {"node-1": 10, "node-2": 10}
    assert sampler.image.value.tobytes().startswith(PNG)
    assert "10 got no answer" in sampler.title.value
    assert "no answer from node-3: 10" in repr(sampler)
    ps = next(c for on, c in lab.calls if on == "all")
    assert "label=com.docker.swarm.service.name=hello" in ps


def test_sampler_sends_from_a_running_node(lab: FakeDashboardLab) -> None:
    lab.states["node-1"] = "stopped"
    sample = sample_requests(lab, 8080, 3)
    assert sample.sender == "node-2"
    with pytest.raises(UnknownNode):
        sample_requests(lab, 8080, 3, sender="node-8")


def test_sampler_button_shows_errors(lab: FakeDashboardLab) -> None:
    lab.answer = lambda node, command: result(node, command, rc=127, stderr="curl: not found\n")
    sampler = RequestSampler(lab, 8080)
    sampler.send_button.click()
    wait_idle(sampler)
    assert "curl: not found" in status_text(sampler)


def test_request_loop_quotes_and_asks_in_turn() -> None:
    loop = request_loop(["10.0.0.1", "10.0.0.2"], 8080, 2)
    assert loop.startswith("for a in 10.0.0.1 10.0.0.2; do ")
    assert "curl -s -m 2" in loop and "http://$a:8080/" in loop


# --- QuorumGauge and the timeline -----------------------------------------------------


def test_quorum_gauge_refresh(lab: FakeDashboardLab) -> None:
    gauge = QuorumGauge(lab, auto_refresh=False)
    quorum = gauge.refresh()
    assert (quorum.managers, quorum.reachable, quorum.leader) == (2, 2, "node-1")
    assert gauge.image.value.tobytes().startswith(PNG)
    assert "Quorum: quorum OK" in repr(gauge)


def test_quorum_gauge_during_the_fault(lab: FakeDashboardLab) -> None:
    lab.node_ls = "node-ls-faults.jsonl"
    quorum = QuorumGauge(lab, auto_refresh=False).refresh()
    assert (quorum.managers, quorum.reachable, quorum.leader) == (3, 2, "node-3")


def test_fault_timeline_samples_and_marks(lab: FakeDashboardLab) -> None:
    now = [100.0]
    timeline = FaultTimeline(lab, "helloworld", interval=1, desired=6, clock=lambda: now[0])
    timeline.sample()
    now[0] = 103.0
    timeline.mark("node-1 powered off")
    lab.answer = lambda node, command: result(node, command, rc=None, error="no SSH answer")
    now[0] = 105.0
    timeline.sample()
    samples = timeline.timeline()
    assert [(s.t, s.running, s.leader, s.event) for s in samples] == [
        (0.0, 6, "node-1", None),
        (3.0, 6, "node-1", "node-1 powered off"),
        (5.0, None, None, None),
    ]
    assert timeline.last_error is not None
    assert timeline._repr_png_().startswith(PNG)
    assert "<- node-1 powered off" in repr(timeline)


def test_fault_timeline_in_the_background(lab: FakeDashboardLab) -> None:
    timeline = FaultTimeline(lab, "helloworld", interval=0.5).start()
    poll_until(timeline.timeline, lambda samples: len(samples) >= 2, timeout=10, interval=0.05)
    samples = timeline.stop().timeline()
    assert all(s.running == 6 for s in samples)
    assert all(is_snapshot(command) for command in lab.commands)  # one round trip each


def test_record_timeline(lab: FakeDashboardLab) -> None:
    samples = record_timeline(lab, "helloworld", 0)
    assert len(samples) == 1 and samples[0].running == 6
    with pytest.raises(UsageError):
        record_timeline(lab, "helloworld", -1)


def test_stop_all_and_closing_stop_the_timers(lab: FakeDashboardLab) -> None:
    first = SwarmDashboard(lab, interval=0.5)
    second = QuorumGauge(lab, interval=0.5)
    assert first.running and second.running
    assert stop_all() >= 2
    for widget in (first, second):
        assert widget._timer is not None
        widget._timer.join(5)
        assert not widget.running
    third = SwarmDashboard(lab, interval=0.5)
    third.view.close()  # the notebook closed the widget: its timer ends by itself
    assert third._timer is not None
    third._timer.join(5)
    assert not third.running


@pytest.mark.parametrize("service", ["", 3])
def test_bad_service_argument(lab: FakeDashboardLab, service: object) -> None:
    with pytest.raises(UsageError, match="service"):
        SwarmDashboard(lab, service, auto_refresh=False)  # type: ignore[arg-type]
    assert lab.calls == []
