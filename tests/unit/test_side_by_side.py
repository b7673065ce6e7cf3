"""`dashboard.side_by_side`: a command's output next to a plot, in one HTML row."""

from __future__ import annotations

import base64
import re

import matplotlib
import pytest

from workshop import UsageError, dashboard
from workshop.swarm import SwarmNode

matplotlib.use("Agg")

#: What `docker service ps helloworld ... | awk 'NR > 1 {print $4}' | sort | uniq -c`
#: printed on node-1 of the lab with 30 replicas.
COUNTED = "     10 node-1\n     10 node-2\n     10 node-3\n"
TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"


def swarm_node(name: str, role: str) -> SwarmNode:
    return SwarmNode(
        id=f"id-{name}",
        hostname=name,
        role=role,
        status="ready",
        availability="active",
        manager_status="",
        engine_version="20.10.24",
        address="192.168.56.11",
    )


@pytest.fixture
def plot() -> matplotlib.figure.Figure:
    nodes = [swarm_node("node-1", "manager"), swarm_node("node-2", "manager")]
    nodes.append(swarm_node("node-3", "worker"))
    counts = {"helloworld": {"node-1": 10, "node-2": 10, "node-3": 10}}
    return dashboard.replica_map(counts, nodes)


def test_text_and_figure_are_one_row_in_order(plot: matplotlib.figure.Figure) -> None:
    shown = dashboard.side_by_side(COUNTED, plot, titles=("$ uniq -c", "dashboard"))
    page = shown._repr_html_()
    assert page.count("display:flex") == 1
    assert page.index("10 node-3") < page.index("data:image/png;base64,")
    assert page.index("$ uniq -c") < page.index("dashboard</div>")
    encoded = re.search(r"base64,([A-Za-z0-9+/=]+)'", page)
    assert encoded is not None
    png = base64.b64decode(encoded.group(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_text_is_escaped_and_secrets_are_masked() -> None:
    shown = dashboard.side_by_side(f"<b>{TOKEN}</b>", titles=(f"join {TOKEN}",))
    page = shown._repr_html_()
    assert "<b>" not in page and "&lt;b&gt;" in page
    assert TOKEN not in page and TOKEN not in repr(shown)
    assert "SWMTKN-1-3pu6****" in page


def test_plain_text_repr_names_each_panel(plot: matplotlib.figure.Figure) -> None:
    text = repr(dashboard.side_by_side(COUNTED, plot, titles=("shell",)))
    assert text.splitlines()[0] == "--- shell"
    assert "10 node-2" in text
    assert "--- panel 2\n(a figure: shown in Jupyter)" in text


@pytest.mark.parametrize(
    ("panels", "titles", "words"),
    [
        ((), (), "at least one panel"),
        ((42,), (), "not int"),
        (("a",), ("one", "two"), "2 titles for 1 panels"),
    ],
)
def test_bad_input_says_what_to_pass(
    panels: tuple[object, ...], titles: tuple[str, ...], words: str
) -> None:
    with pytest.raises(UsageError, match=words):
        dashboard.side_by_side(*panels, titles=titles)  # type: ignore[arg-type]
