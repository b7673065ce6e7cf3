"""Bad input to the steps is refused before the cluster is touched.

The lab here is a real :class:`Lab` whose SSH fan-out is replaced by a fake that
answers read-only commands from a table and records every command it is given.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.unit.fakes import FakeSource, RecordedReader
from workshop import Lab
from workshop.errors import UsageError
from workshop.lab import Node, Results, RunResult, SSHEndpoint
from workshop.steps import service, states
from workshop.steps.docker import install_docker
from workshop.steps.gluster import gluster_volume
from workshop.steps.service import service_scale
from workshop.steps.stack import publish_mode, stack_deploy
from workshop.steps.swarm import JoinToken, join_token

SERVICES = "".join(
    json.dumps({"ID": name[:12], "Image": "web", "Mode": mode, "Name": name, "Replicas": replicas})
    + "\n"
    for name, mode, replicas in (
        ("demoapp_web", "global", "3/3"),
        ("demoapp_app", "replicated", "1/1"),
        ("registry_registry", "global", "3/3"),
    )
)
SWARM_INFO = {"LocalNodeState": "active", "NodeID": "id1", "ControlAvailable": True}
MUTATING = re.compile(
    r"docker (service scale|stack deploy|stack rm|swarm (init|join|leave))|apt-get"
)


class FakeRemote:
    """Answers commands from (pattern, stdout) rules; remembers what it ran."""

    def __init__(self, rules: list[tuple[str, str]]) -> None:
        self.rules = rules
        self.commands: list[str] = []

    def run(self, nodes, command, *, sudo=False, timeout=0.0, stdin=None) -> Results:
        self.commands.append(command)
        out = next((text for pattern, text in self.rules if pattern in command), "")
        now = time.time()
        return Results(RunResult(n.name, command, 0, out, "", 0.01, now, now) for n in nodes)

    def close(self) -> None:
        pass

    def mutations(self) -> list[str]:
        return [c for c in self.commands if MUTATING.search(c)]


def make_lab(rules: list[tuple[str, str]] | None = None) -> tuple[Lab, FakeRemote]:
    nodes = [
        Node(f"node-{i}", role, f"192.0.2.{10 + i}", SSHEndpoint(f"192.0.2.{10 + i}"))
        for i, role in ((1, "manager"), (2, "manager"), (3, "worker"))
    ]
    lab = Lab(FakeSource(), nodes)
    remote = FakeRemote(
        rules
        if rules is not None
        else [
            ("{{json .Swarm}}", json.dumps(SWARM_INFO)),
            ("docker service ls", SERVICES),
            ("ip_vs", "no"),
        ]
    )
    lab.remote = remote  # type: ignore[assignment]
    return lab, remote


@pytest.mark.parametrize("replicas", [-1, "-1", "abc", "", "2.5", 2.5, True, None])
def test_service_scale_refuses_bad_replica_counts_without_touching_the_lab(replicas):
    lab, remote = make_lab()
    with pytest.raises(UsageError, match="whole number from 0 up"):
        service_scale(lab, "demoapp_app", replicas)
    assert remote.commands == []


def test_service_scale_of_an_unknown_service_lists_the_services():
    lab, remote = make_lab()
    with pytest.raises(UsageError) as info:
        service_scale(lab, "nope", 3)
    message = str(info.value)
    assert "'nope'" in message
    assert "demoapp_app" in message and "registry_registry" in message
    assert remote.mutations() == []


def test_service_scale_of_a_global_service_is_refused():
    lab, remote = make_lab()
    with pytest.raises(UsageError, match="global"):
        service_scale(lab, "demoapp_web", 2)
    assert remote.mutations() == []


def test_service_scale_to_the_current_count_is_no_change():
    lab, remote = make_lab()
    result = service_scale(lab, "demoapp_app", "1")
    assert not result.changed and "no change" in str(result)
    assert remote.mutations() == []


def test_stack_deploy_of_a_missing_stack_names_the_shipped_ones(tmp_path: Path):
    lab, remote = make_lab()
    with pytest.raises(UsageError) as info:
        stack_deploy(lab, "nosuchstack")
    assert "demoapp" in str(info.value) and "helloworld" in str(info.value)
    with pytest.raises(UsageError, match="does not exist"):
        stack_deploy(lab, tmp_path / "missing.yml")
    assert remote.commands == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("services: [oops", "not valid YAML"),
        ("- just\n- a list\n", "services:"),
        ("version: '3.8'\n", "services:"),
        ("services: {}\n", "no services"),
        ("services:\n  web:\n    ports: [80]\n", "needs an 'image:'"),
    ],
)
def test_stack_deploy_of_a_malformed_file_says_what_is_wrong(tmp_path: Path, text, problem):
    path = tmp_path / "broken.yml"
    path.write_text(text)
    lab, remote = make_lab()
    with pytest.raises(UsageError, match=re.escape(problem)):
        stack_deploy(lab, path)
    assert remote.commands == []


def test_stack_deploy_refuses_bad_options_before_touching_the_lab():
    lab, remote = make_lab()
    with pytest.raises(UsageError, match="publish mode"):
        stack_deploy(lab, "helloworld", publish="mesh")
    with pytest.raises(UsageError, match="resolve_image"):
        stack_deploy(lab, "helloworld", resolve_image="sometimes")
    with pytest.raises(UsageError, match="stack name"):
        stack_deploy(lab, "helloworld", name="Bad Name")
    assert remote.commands == []


def test_require_of_an_unknown_state_lists_the_valid_ones_and_does_nothing():
    lab, remote = make_lab()
    with pytest.raises(UsageError) as info:
        lab.require("docker", "unknown")
    for name in states.STATE_NAMES:
        assert name in str(info.value)
    with pytest.raises(UsageError, match="at least one"):
        lab.require()
    assert remote.commands == []


def test_install_docker_from_an_unknown_source_is_refused():
    lab, remote = make_lab()
    with pytest.raises(UsageError, match="docker-ce"):
        install_docker(lab, source="snap")
    assert remote.commands == []


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"volume": "bad name"}, "volume name"), ({"mount": "relative/dir"}, "absolute path")],
)
def test_gluster_volume_refuses_bad_names(kwargs, problem):
    lab, remote = make_lab()
    with pytest.raises(UsageError, match=problem):
        gluster_volume(lab, **kwargs)
    assert remote.commands == []


def test_join_token_is_masked_everywhere():
    secret = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"
    lab, _ = make_lab([("{{json .Swarm}}", json.dumps(SWARM_INFO))])
    reader = RecordedReader(lab, answers={"swarm join-token": secret + "\n"})
    token = join_token(lab, "worker", reader=reader)
    assert isinstance(token, JoinToken) and token.secret == secret
    for shown in (str(token), repr(token), f"{token}"):
        assert "1awxwuwd3z9j1z3puu7rcgdbx" not in shown and "SWMTKN-1-3pu6" in shown
    with pytest.raises(UsageError, match="manager, worker"):
        join_token(lab, "boss")


def test_publish_mode_follows_ip_vs():
    lab, _ = make_lab([("ip_vs", "no")])
    assert publish_mode(lab) == "host"
    lab, _ = make_lab([("ip_vs", "yes")])
    assert publish_mode(lab) == "ingress"


def test_scale_command_is_built_from_a_list():
    lab, remote = make_lab()
    service.service_scale(lab, "demoapp_app", 3, wait=False)
    assert "docker service scale --detach demoapp_app=3" in remote.commands


def test_cli_provision_refuses_an_unknown_state_before_contacting_anything(capsys, monkeypatch):
    from workshop import cli

    def no_lab(*args, **kwargs):
        raise AssertionError("the lab must not be contacted")

    monkeypatch.setattr(cli.Lab, "connect", no_lab)
    monkeypatch.setattr(cli.Lab, "from_vagrant", no_lab)
    assert cli.main(["provision", "--until", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "'bogus'" in err and "nodes, docker, swarm, firewall, gluster, registry, demoapp" in err
    args = cli.build_parser().parse_args(["provision", "--until", "gluster"])
    assert args.until == "gluster"


def test_load_image_of_an_unknown_image_lists_the_lab_images():
    from workshop.steps import load_image

    lab, remote = make_lab()
    with pytest.raises(UsageError) as info:
        load_image(lab, "nginx")
    assert "web" in str(info.value) and "node" not in str(info.value).split("choose")[-1]
    assert remote.commands == []
