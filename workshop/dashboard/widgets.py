"""Live widgets of the swarm for JupyterLab (ipywidgets 8 around the pure plots).

- :class:`SwarmDashboard` (here): the replica map, refreshed on an interval, with a
  service selector, a replicas slider and Apply button, availability toggles and
  power buttons for every node.
- :class:`~workshop.dashboard.requests_widget.RequestSampler`: which container
  answered a burst of HTTP requests.
- :class:`~workshop.dashboard.quorum_widget.QuorumGauge`: how many managers are
  reachable, and the leader.

Each widget reads through a :class:`~workshop.swarm.SwarmReader`, so it keeps
working while the leader is down; a dashboard refresh is one round trip to one
manager (:func:`~workshop.dashboard.control.read_state`). ``refresh()`` reads,
redraws the same figure in place when the picture changed, and returns the data
drawn (tests call it directly); buttons run their work on a background thread.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from workshop.dashboard.canvas import FigureImage
from workshop.dashboard.control import (
    AVAILABILITIES,
    DashboardState,
    check_availability,
    check_replicas,
    check_service,
    read_state,
    scale_service,
    set_availability,
    wait_for_replicas,
)
from workshop.dashboard.live import DashboardLab, LiveWidget
from workshop.dashboard.plots import replica_map
from workshop.dashboard.quorum_widget import QuorumGauge
from workshop.dashboard.requests_widget import RequestSampler
from workshop.errors import UnknownNode, UsageError
from workshop.lab.results import node_sort_key
from workshop.swarm.models import Service
from workshop.swarm.read import SwarmReader

__all__ = ["QuorumGauge", "RequestSampler", "SwarmDashboard"]

ALL_SERVICES = "(all services)"
SLIDER_MAX = 30


class SwarmDashboard(LiveWidget):
    """Replica map of the swarm, with controls to scale, drain and power nodes.

    Args:
        lab: The lab.
        service: Show only this service (``None``: every service, stacked).
        interval: Seconds between automatic refreshes.
        auto_refresh: Start refreshing at once (the first read is in the background).
        reader: Read through this reader instead of a new one.

    Raises:
        UsageError: For a bad ``service`` or ``interval`` (an unknown service name is
            reported by the first refresh, in the widget).
    """

    css_class = "workshop-dashboard"

    def __init__(
        self,
        lab: DashboardLab,
        service: str | None = None,
        interval: float = 5.0,
        *,
        auto_refresh: bool = True,
        reader: SwarmReader | None = None,
    ) -> None:
        if service is not None and (not isinstance(service, str) or not service):
            raise UsageError(f"service must be a service name or None, got {service!r}")
        super().__init__(interval, auto_refresh)
        self.lab = lab
        self.reader = reader or SwarmReader(lab)
        self.service = service
        self.state: DashboardState | None = None
        self._shown_desired: int | None = None
        self._availability: dict[str, str] = {}
        self._rows: dict[str, tuple[widgets.ToggleButtons, widgets.HTML]] = {}
        self.title = widgets.HTML(value="<b>Swarm</b> (reading…)")
        self.canvas = FigureImage("workshop-replica-map")
        self.image = self.canvas.image
        self.selector = widgets.Dropdown(
            options=[ALL_SERVICES] + ([service] if service else []),
            value=service or ALL_SERVICES,
            description="service",
        )
        self.selector.observe(self._on_select, names="value")
        self.replicas = widgets.IntSlider(
            value=0,
            min=0,
            max=SLIDER_MAX,
            description="replicas",
            disabled=service is None,
            continuous_update=False,
        )
        self.apply_button = widgets.Button(
            description="Apply",
            icon="check",
            button_style="primary",
            disabled=service is None,
            tooltip="docker service scale SERVICE=REPLICAS",
        )
        self.apply_button.on_click(lambda _: self._apply())
        self.nodes_box = widgets.VBox()
        self.nodes_box.add_class("workshop-nodes")
        controls = widgets.HBox(
            [self.selector, self.replicas, self.apply_button, self.auto, self.refresh_button]
        )
        self._layout(self.title, controls, self.image, self.nodes_box)

    # --- reading ----------------------------------------------------------------
    def refresh(self) -> DashboardState:
        """Read the swarm (one round trip), redraw if it changed, and return what was drawn.

        Raises:
            UsageError: If the selected service does not exist (shown in the widget too).
            SwarmUnavailable: If no manager answers (shown in the widget too).
        """
        with self._refresh_lock:
            try:
                state = read_state(self.reader, self.service)
            except Exception as exc:
                self.show_error(exc)
                raise
            self.state = state
            self._draw(state)
            self._refreshed(state.took)
            return state

    def redraw(self) -> bool:
        """Draw the last state again, even if unchanged (``False`` if nothing read yet)."""
        with self._refresh_lock:
            return self.canvas.redraw()

    def _draw(self, state: DashboardState) -> None:
        quorum = state.quorum
        leader = quorum.leader if quorum and quorum.leader else "none"
        summary = quorum.summary if quorum else "no managers"
        title = f"Tasks per node: {state.service or 'all services'}"
        counts = state.counts
        drawn = [(node.hostname, node.marks) for node in state.nodes]  # what the map shows
        self.canvas.show(
            (title, counts, drawn),
            lambda figure: replica_map(counts, state.nodes, title=title, figure=figure),
        )
        self._sync_selector(state)
        self._sync_nodes(state)
        self.title.value = (
            f"<b>Swarm</b>: {len(state.nodes)} nodes, leader <b>{leader}</b>, {summary}"
        )

    def _sync_selector(self, state: DashboardState) -> None:
        options = [ALL_SERVICES, *state.service_names]
        if list(self.selector.options) != options:
            self.selector.unobserve(self._on_select, names="value")
            self.selector.options = options
            self.selector.value = self.service if self.service in options else ALL_SERVICES
            self.selector.observe(self._on_select, names="value")
        found = state.find(self.service) if self.service else None
        desired = found.replicas_desired if found else None
        self.replicas.disabled = self.apply_button.disabled = found is None
        untouched = self._shown_desired is None or self.replicas.value == self._shown_desired
        if desired is not None and untouched:
            self.replicas.max = max(SLIDER_MAX, desired * 2)
            self.replicas.value = desired
        self._shown_desired = desired

    def _sync_nodes(self, state: DashboardState) -> None:
        hosts = sorted((n.hostname for n in state.nodes), key=node_sort_key)
        for node in state.nodes:
            self._availability[node.hostname] = node.availability
        if list(self._rows) != hosts:
            self._rows = {host: self._node_row(host) for host in hosts}
            rows = []
            for host in hosts:
                toggle, label = self._rows[host]
                rows.append(widgets.HBox([label, toggle, *self._power_buttons(host)]))
            self.nodes_box.children = rows
        for node in state.nodes:
            toggle, label = self._rows[node.hostname]
            toggle.value = node.availability
            role = node.manager_status or node.role
            marks = f" <b style='color:#c62828'>({', '.join(node.marks)})</b>" if node.marks else ""
            label.value = f"<code>{node.hostname}</code> {role}{marks}"

    def _node_row(self, host: str) -> tuple[widgets.ToggleButtons, widgets.HTML]:
        toggle = widgets.ToggleButtons(
            options=list(AVAILABILITIES),
            value=self._availability.get(host, "active"),
            tooltips=[f"docker node update --availability {a} {host}" for a in AVAILABILITIES],
            style={"button_width": "60px"},
        )
        toggle.observe(lambda change, h=host: self._on_toggle(h, change["new"]), names="value")
        label = widgets.HTML(layout=widgets.Layout(width="220px"))
        return toggle, label

    def _power_buttons(self, host: str) -> list[widgets.Button]:
        off = widgets.Button(
            description="power off",
            icon="power-off",
            tooltip=f"lab.halt({host!r})",
            layout=widgets.Layout(width="100px"),
        )
        on = widgets.Button(
            description="power on",
            icon="play",
            tooltip=f"lab.start({host!r})",
            layout=widgets.Layout(width="100px"),
        )
        off.on_click(
            lambda _: self.run_in_background(
                f"power off {host}", lambda: self.power_off(host), then_refresh=True
            )
        )
        on.on_click(
            lambda _: self.run_in_background(
                f"power on {host}", lambda: self.power_on(host), then_refresh=True
            )
        )
        return [off, on]

    # --- events -----------------------------------------------------------------
    def _on_select(self, change: dict[str, Any]) -> None:
        self.service = None if change["new"] == ALL_SERVICES else change["new"]
        self._shown_desired = None
        self.replicas.value = 0
        self.run_in_background("refresh", self.refresh)

    def _on_toggle(self, host: str, availability: str) -> None:
        if self._availability.get(host) == availability:
            return  # the widget follows the swarm; nothing to do
        self.run_in_background(
            f"{availability} {host}",
            lambda: self.set_availability(host, availability),
            then_refresh=True,
        )

    def _apply(self) -> None:
        service, replicas = self.service, self.replicas.value
        self.run_in_background(
            f"scale {service}={replicas}", lambda: self.scale(replicas, service), then_refresh=True
        )

    # --- actions (also callable from code; they block) ------------------------------
    def _known_services(self) -> list[str]:
        state = self.state or read_state(self.reader)
        return state.service_names

    def scale(
        self,
        replicas: int,
        service: str | None = None,
        *,
        wait: bool = True,
        timeout: float = 120.0,
    ) -> Service | None:
        """Scale a service (default: the selected one), showing progress.

        Raises:
            UsageError: For a bad replica count or an unknown service (checked first).
            NotConverged: If ``wait`` and the tasks did not all start in time.
        """
        check_replicas(replicas)
        name = check_service(service or self.service, self._known_services())
        scale_service(self.reader, name, replicas)
        self._shown_desired = replicas
        if not wait:
            return None
        return wait_for_replicas(
            self.reader, name, replicas, timeout=timeout, progress=self.set_progress
        )

    def _check_node(self, node: str, names: list[str]) -> str:
        if node not in names:
            raise UnknownNode(node, names)
        return node

    def set_availability(self, node: str, availability: str) -> None:
        """``docker node update --availability`` (active, pause or drain)."""
        check_availability(availability)
        names = (
            [n.hostname for n in self.state.nodes]
            if self.state
            else [n.name for n in self.lab.nodes]
        )
        set_availability(self.reader, self._check_node(node, names), availability)
        self._availability[node] = availability

    def power_off(self, node: str) -> None:
        """Power a node off through the lab (as pulling its plug would)."""
        self.lab.halt(self._check_node(node, [n.name for n in self.lab.nodes]))

    def power_on(self, node: str) -> None:
        """Power a node on again through the lab."""
        self.lab.start(self._check_node(node, [n.name for n in self.lab.nodes]))

    def __repr__(self) -> str:
        auto = "on" if self.running else "off"
        head = (
            f"SwarmDashboard(service={self.service!r}, interval={self.interval:g} s, "
            f"auto-refresh {auto})"
        )
        body = repr(self.state) if self.state else "(not read yet: call refresh())"
        error = f"\nLast error: {self.last_error}" if self.last_error else ""
        return f"{head}\n{body}{error}"
