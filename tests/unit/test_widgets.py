"""Dashboard widgets against a fake lab that answers with docker output recorded on the lab."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pytest

from tests.unit.fakes import result
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
from workshop.lab.node import Node, SSHEndpoint
from workshop.lab.results import Results, RunResult
from workshop.swarm import SwarmUnavailable

matplotlib.use("Agg")

DATA = Path(__file__).resolve().parent.parent / "data" / "swarm"
PNG = b"\x89PNG"
SUBNET = "192.168.60"


def running_only(text: str) -> str:
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if json.loads(line)["DesiredState"] == "Running"
    )


class FakeLab:
    """Three nodes; managers answer docker reads from the real recordings.

    ``replicas`` (service -> desired) changes with ``docker service scale``;
    ``answer`` may be replaced to simulate failures.
    """

    def __init__(self, node_ls: str = "node-ls.jsonl") -> None:
        self.states = {"node-1": "running", "node-2": "running", "node-3": "running"}
        self.node_ls = node_ls
        self.replicas = {"hello": 3, "helloworld": 6}
        self.calls: list[tuple[str, str]] = []
        self.power: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.answer: Callable[[str, str], RunResult] = self.recorded

    @property
    def nodes(self) -> list[Node]:
        return [
            Node(
                name,
                "manager" if name != "node-3" else "worker",
                f"{SUBNET}.{10 + i}",
                SSHEndpoint("127.0.0.1", 2200 + i, "vagrant"),
                state,
            )
            for i, (name, state) in enumerate(sorted(self.states.items()), start=1)
        ]

    @property
    def managers(self) -> list[Node]:
        return [n for n in self.nodes if n.is_manager]

    def run(
        self, command: str, on: str = "all", *, sudo: bool = False, timeout: float = 60
    ) -> Results:
        names = list(self.states) if on == "all" else [on]
        if on != "all" and on not in self.states:
            raise UnknownNode(on, self.states)
        with self.lock:
            self.calls.append((on, command))
        return Results([self.answer(name, command) for name in names])

    def halt(self, name: str) -> FakeLab:
        self.power.append(("halt", name))
        self.states[name] = "stopped"
        return self

    def start(self, name: str) -> FakeLab:
        self.power.append(("start", name))
        self.states[name] = "running"
        return self

    @property
    def commands(self) -> list[str]:
        return [command for _, command in self.calls]

    def recorded(self, node: str, command: str) -> RunResult:
        if command.startswith("docker node ls"):
            return result(node, command, stdout=(DATA / self.node_ls).read_text())
        if command.startswith("docker node inspect"):
            return result(node, command, stdout=(DATA / "node-inspect.json").read_text())
        if command.startswith("docker service ls"):
            lines = []
            for line in (DATA / "service-ls.jsonl").read_text().splitlines():
                obj = json.loads(line)
                n = self.replicas[obj["Name"]]
                obj["Replicas"] = f"{n}/{n}"
                lines.append(json.dumps(obj))
            return result(node, command, stdout="\n".join(lines) + "\n")
        if command.startswith("docker service ps"):
            names = [w for w in command.split()[3:] if w in self.replicas]
            text = "".join((DATA / f"service-ps-{name}.jsonl").read_text() for name in names)
            return result(node, command, stdout=running_only(text))
        if command.startswith("docker service scale"):
            service, _, count = command.split()[-1].partition("=")
            self.replicas[service] = int(count)
            return result(node, command, stdout=f"{service} scaled to {count}\n")
        if command.startswith(("docker node update", "docker node promote")):
            return result(node, command, stdout=command.split()[-1] + "\n")
        if command.startswith("for a in"):
            return result(node, command, stdout=self.curl_output(command))
        if command.startswith("docker ps"):
            hosts = {"node-1": "c0ffee000001\n", "node-2": "c0ffee000002\n", "node-3": ""}
            return result(node, command, stdout=hosts[node])
        return result(node, command, rc=1, stderr=f"unexpected command {command}\n")

    @staticmethod
    def curl_output(command: str) -> str:
        addresses = command.split(";")[0].split()[3:]
        answer = {
            f"{SUBNET}.11": "c0ffee000001",
            f"{SUBNET}.12": "c0ffee000002",
            f"{SUBNET}.13": "!",
        }
        return "".join(f"{a} {answer[a]}\n" for a in addresses)


@pytest.fixture
def lab() -> FakeLab:
    return FakeLab()


def status_text(widget: object) -> str:
    return widget.status.value  # type: ignore[attr-defined,no-any-return]


def wait_idle(widget: SwarmDashboard | RequestSampler) -> None:
    widget.wait(10)
    assert not widget.busy


# --- SwarmDashboard ----------------------------------------------------------------


def test_dashboard_constructs_without_touching_the_lab(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    assert lab.calls == []
    assert "not read yet" in repr(dashboard)
    bundle = dashboard._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("SwarmDashboard(")
    assert "workshop-dashboard" in dashboard.view._dom_classes


def test_refresh_returns_what_it_drew(lab: FakeLab) -> None:
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


def test_selected_service_sets_the_slider(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    state = dashboard.refresh()
    assert list(state.distributions) == ["helloworld"]
    assert dashboard.replicas.value == 6 and not dashboard.replicas.disabled
    assert dashboard.selector.value == "helloworld"


def test_drained_node_is_marked(lab: FakeLab) -> None:
    lab.node_ls = "node-ls-faults.jsonl"
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    state = dashboard.refresh()
    assert state.distributions["helloworld"].marks["node-3"] == "drain"
    toggle, label = dashboard._rows["node-3"]
    assert toggle.value == "drain" and "drain" in label.value
    assert "(down)" in dashboard._rows["node-1"][1].value


def test_unknown_service_is_shown_in_the_widget(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, "nope", auto_refresh=False)
    with pytest.raises(UsageError, match="hello, helloworld"):
        dashboard.refresh()
    assert "workshop-error" in status_text(dashboard) and "nope" in status_text(dashboard)
    assert dashboard.refresh_quietly() is None
    assert isinstance(dashboard.last_error, UsageError)
    assert "Last error" in repr(dashboard)


@pytest.mark.parametrize("replicas", [-1, 101, 2.5, "3", True])
def test_bad_replicas_never_reach_the_cluster(lab: FakeLab, replicas: object) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    with pytest.raises(UsageError, match="replicas"):
        dashboard.scale(replicas)  # type: ignore[arg-type]
    assert lab.calls == []


def test_unknown_service_is_not_scaled(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    dashboard.refresh()
    with pytest.raises(UsageError, match="'web'"):
        dashboard.scale(3, "web")
    assert not any("scale" in c for c in lab.commands)


def test_scale_waits_for_the_replicas(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    dashboard.refresh()
    service = dashboard.scale(9)
    assert service is not None and service.replicas_running == 9
    assert "docker service scale --detach helloworld=9" in lab.commands
    assert dashboard.progress.value == 1.0


def test_apply_button_scales_in_the_background(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, "helloworld", auto_refresh=False)
    dashboard.refresh()
    dashboard.replicas.value = 4
    dashboard.apply_button.click()
    wait_idle(dashboard)
    assert "docker service scale --detach helloworld=4" in lab.commands
    assert dashboard.state is not None and dashboard.state.find("helloworld").replicas_desired == 4  # type: ignore[union-attr]
    assert dashboard.replicas.value == 4
    assert dashboard.progress.layout.visibility == "hidden"


def test_availability_toggle_runs_node_update(lab: FakeLab) -> None:
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


def test_refresh_moving_the_toggles_runs_nothing(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    dashboard.refresh()
    lab.node_ls = "node-ls-faults.jsonl"
    dashboard.refresh()
    assert dashboard._rows["node-3"][0].value == "drain"
    assert not dashboard.busy
    assert not any("node update" in c for c in lab.commands)


def test_power_buttons_halt_and_start_through_the_lab(lab: FakeLab) -> None:
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


def test_errors_of_background_actions_appear_in_the_widget(lab: FakeLab) -> None:
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


def test_no_manager_answering_is_shown_not_raised_by_the_timer(lab: FakeLab) -> None:
    lab.answer = lambda node, command: result(node, command, rc=None, error="timed out after 15 s")
    dashboard = SwarmDashboard(lab, auto_refresh=False)
    with pytest.raises(SwarmUnavailable):
        dashboard.refresh()
    assert "No manager could answer" in status_text(dashboard)
    assert dashboard.refresh_quietly() is None


def test_auto_refresh_runs_on_a_timer_and_stops(lab: FakeLab) -> None:
    dashboard = SwarmDashboard(lab, interval=0.5)
    assert dashboard.auto.value
    deadline = time.monotonic() + 10
    while dashboard.state is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dashboard.state is not None and dashboard.running
    dashboard.auto.value = False
    assert dashboard._timer is not None
    dashboard._timer.join(5)
    assert not dashboard.running
    count = len(lab.calls)
    time.sleep(0.8)
    assert len(lab.calls) == count
    dashboard.resume()
    assert dashboard.auto.value and dashboard.running
    dashboard.close()
    assert not dashboard.auto.value


def test_interval_is_checked(lab: FakeLab) -> None:
    with pytest.raises(UsageError, match="interval"):
        SwarmDashboard(lab, interval=0)


# --- RequestSampler ------------------------------------------------------------------


@pytest.mark.parametrize(("port", "requests"), [(0, 10), (70000, 10), (80, 0), (80, 5000)])
def test_sampler_checks_its_arguments_first(lab: FakeLab, port: int, requests: int) -> None:
    with pytest.raises(UsageError):
        RequestSampler(lab, port, requests)
    assert lab.calls == []


def test_sampler_counts_answers_per_container_and_node(lab: FakeLab) -> None:
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


def test_sampler_sends_from_a_running_node(lab: FakeLab) -> None:
    lab.states["node-1"] = "stopped"
    sample = sample_requests(lab, 8080, 3)
    assert sample.sender == "node-2"
    with pytest.raises(UnknownNode):
        sample_requests(lab, 8080, 3, sender="node-8")


def test_sampler_button_shows_errors(lab: FakeLab) -> None:
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


def test_quorum_gauge_refresh(lab: FakeLab) -> None:
    gauge = QuorumGauge(lab, auto_refresh=False)
    quorum = gauge.refresh()
    assert (quorum.managers, quorum.reachable, quorum.leader) == (2, 2, "node-1")
    assert gauge.image.value.tobytes().startswith(PNG)
    assert "Quorum: quorum OK" in repr(gauge)


def test_quorum_gauge_during_the_fault(lab: FakeLab) -> None:
    lab.node_ls = "node-ls-faults.jsonl"
    quorum = QuorumGauge(lab, auto_refresh=False).refresh()
    assert (quorum.managers, quorum.reachable, quorum.leader) == (3, 2, "node-3")


def test_fault_timeline_samples_and_marks(lab: FakeLab) -> None:
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


def test_fault_timeline_in_the_background(lab: FakeLab) -> None:
    timeline = FaultTimeline(lab, "helloworld", interval=0.5).start()
    time.sleep(1.2)
    samples = timeline.stop().timeline()
    assert len(samples) >= 2 and all(s.running == 6 for s in samples)


def test_record_timeline(lab: FakeLab) -> None:
    samples = record_timeline(lab, "helloworld", 0)
    assert len(samples) == 1 and samples[0].running == 6
    with pytest.raises(UsageError):
        record_timeline(lab, "helloworld", -1)


def test_stop_all_and_closing_stop_the_timers(lab: FakeLab) -> None:
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
def test_bad_service_argument(lab: FakeLab, service: object) -> None:
    with pytest.raises(UsageError, match="service"):
        SwarmDashboard(lab, service, auto_refresh=False)  # type: ignore[arg-type]
    assert lab.calls == []
