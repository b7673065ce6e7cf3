"""The exception tree, and the edges where third-party errors become the kit's.

Docker SDK errors are provoked for real: a client pointed at a socket that does not
exist, or at a loopback port that never answers. (SSH edges: test_remote_ssh.py.)
"""

from __future__ import annotations

import socket

import docker
import docker.errors
import pytest

from workshop.errors import (
    CommandFailed,
    EngineError,
    HostKeyRejected,
    LabNotFound,
    NodeUnreachable,
    NotConverged,
    ProviderError,
    SSHAuthFailed,
    UnknownNode,
    UploadFailed,
    UsageError,
    WorkshopError,
    head_and_tail,
    tail,
)
from workshop.images import START_ENGINE, build_image, engine_client, engine_errors, ensure_base
from workshop.images.build import _build_log
from workshop.lab.runtime import container_ids, lab_objects, remove_lab_objects

TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"


def all_errors() -> list[WorkshopError]:
    return [
        WorkshopError("plain"),
        UsageError("bad"),
        UnknownNode("node-7", ["node-1", "node-2"]),
        NodeUnreachable("node-3", "192.168.56.13", "timed out", failed_nodes=["node-2", "node-3"]),
        SSHAuthFailed("node-3", "192.168.56.13", "ssh vagrant@127.0.0.1:2222: refused"),
        HostKeyRejected("node-3", None, "ssh 127.0.0.1:2222: key changed"),
        UploadFailed("node-1", "/etc/x", "Failure", hint="Check `df -h /etc`."),
        CommandFailed(["docker", "swarm", "init"], "node-1", 1, "out", "err", hint="Try again."),
        NotConverged("web has 1 of 3 replicas", timeout=120, last_seen="1/3"),
        LabNotFound("no lab named 'workshop'"),
        EngineError("building x", "the engine refused", hint=START_ENGINE),
        ProviderError(["vagrant", "up"], 1, "boom", hint="Run `workshop doctor`."),
    ]


@pytest.mark.parametrize("error", all_errors(), ids=lambda e: type(e).__name__)
def test_one_root_and_one_sentence_per_message(error):
    assert isinstance(error, WorkshopError)
    assert ".." not in str(error)


def test_usage_errors_are_value_errors():
    assert isinstance(UsageError("x"), ValueError)
    unknown = UnknownNode("node-7", ["node-1", "node-2"])
    assert isinstance(unknown, UsageError)
    assert isinstance(unknown, KeyError)
    assert str(unknown) == "unknown node 'node-7'; the lab's nodes are: node-1, node-2"
    assert unknown.name == "node-7"
    assert unknown.valid == ["node-1", "node-2"]


def test_usage_error_for_a_bad_choice():
    error = UsageError.choice("provider", "vbox", ["docker", "virtualbox"])
    assert str(error) == "provider 'vbox' is not valid; choose one of: docker, virtualbox"


def test_node_unreachable_says_what_to_do():
    error = NodeUnreachable("node-3", "192.168.56.13", "connection refused")
    assert str(error) == (
        "node-3 (192.168.56.13) is unreachable: connection refused. Run `workshop status` "
        "to see the lab's nodes; `workshop up` starts stopped ones."
    )
    assert (error.node, error.address, error.reason) == (
        "node-3",
        "192.168.56.13",
        "connection refused",
    )
    assert str(NodeUnreachable("node-3", None, "x")).startswith("node-3 is unreachable: x.")


def test_command_failed_carries_everything():
    error = CommandFailed(["docker", "node", "ls"], "node-2", 1, "partial\n", "not a manager\n")
    message = str(error)
    assert message.splitlines()[0] == "`docker node ls` failed on node-2 with exit code 1."
    assert "stderr:\n    not a manager" in message
    assert "stdout:\n    partial" in message
    assert (error.command, error.node, error.rc) == ("docker node ls", "node-2", 1)
    assert "no exit code" in str(CommandFailed("sleep 99", "node-1", None))


def test_command_failed_trims_long_output():
    stderr = "\n".join(f"line {i}" for i in range(1, 101))
    message = str(CommandFailed("make", "node-1", 2, "", stderr))
    assert "[… 80 earlier lines omitted]" in message
    assert "line 80\n" not in message
    assert "line 81\n" in message and message.endswith("line 100")
    assert tail("a\nb\nc\n", 2) == "[… 1 earlier lines omitted]\nb\nc"
    assert tail("a\nb\n", 2) == "a\nb"


def test_a_host_command_error_keeps_the_cause_at_the_top_and_the_end():
    stderr = "Command: docker network inspect\nStderr: network x not found\n" + "\n".join(
        f"json {i}" for i in range(100)
    )
    message = str(ProviderError(["vagrant", "up"], 1, stderr))
    assert "Stderr: network x not found" in message and message.endswith("json 99")
    assert "[… 74 lines omitted]" in message and "json 50\n" not in message
    assert head_and_tail("a\nb\nc\nd\n", 1, 1) == "a\n[… 2 lines omitted]\nd"
    assert head_and_tail("a\nb\n", 1, 1) == "a\nb"


def test_secrets_are_masked_in_messages_reprs_and_attributes():
    errors = [
        CommandFailed(
            ["docker", "swarm", "join", "--token", TOKEN, "10.0.0.1"], "n", 1, TOKEN, TOKEN
        ),
        NodeUnreachable("n", None, f"died while joining with {TOKEN}"),
        UploadFailed("n", "/etc/x", f"refused {TOKEN}"),
        EngineError("joining", f"refused {TOKEN}", hint="Try again."),
        ProviderError(f"vagrant ssh -c 'echo {TOKEN}'", 1, TOKEN),
        NotConverged("join", last_seen=TOKEN),
        WorkshopError(TOKEN),
    ]
    for error in errors:
        shown = str(error) + repr(error) + repr(vars(error))
        assert "1awxwuwd" not in shown
        assert "SWMTKN-1-3pu6****…" in shown


def test_not_converged_and_provider_messages():
    error = NotConverged("web has 1 of 3 replicas running", timeout=120, last_seen="1/3")
    assert str(error) == "web has 1 of 3 replicas running (waited 120 s)\nLast seen:\n    1/3"
    provider = ProviderError(["vagrant", "up", "--provider=docker"], 1, "Docker is not running")
    assert str(provider) == (
        "`vagrant up --provider=docker` failed on this host with exit code 1.\n"
        "stderr:\n    Docker is not running"
    )


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    """DOCKER_HOST names a socket that does not exist; return its URL."""
    url = f"unix://{tmp_path}/no-engine.sock"
    monkeypatch.setenv("DOCKER_HOST", url)
    return url


def test_no_engine_says_where_it_looked_and_how_to_start_one(no_engine):
    with pytest.raises(EngineError) as info:
        engine_client()
    message = str(info.value)
    assert message.startswith(f"connecting to the Docker engine: the Docker engine at {no_engine}")
    assert "does not answer ([Errno 2] No such file or directory)" in message
    assert message.endswith(START_ENGINE)
    assert isinstance(info.value.__cause__, docker.errors.DockerException)


def test_an_engine_gone_between_calls_is_wrapped_too(no_engine):
    client = docker.DockerClient(base_url=no_engine, version="1.41")  # does not connect yet
    with pytest.raises(EngineError) as info, engine_errors("listing containers"):
        client.containers.list()
    assert str(info.value).startswith("listing containers: the Docker engine at ")
    assert info.value.hint == START_ENGINE
    assert type(info.value.__cause__).__module__.startswith("requests")


def test_an_engine_that_never_answers_times_out_with_advice():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        client = docker.DockerClient(base_url=url, version="1.41", timeout=1)
        with pytest.raises(EngineError) as info, engine_errors("listing images"):
            client.images.list()
    assert str(info.value).startswith("listing images: the Docker engine did not answer in time.")
    assert "`scripts/engine.sh status`" in str(info.value)


def test_an_engine_refusal_keeps_its_explanation_and_knows_a_full_disk():
    full = docker.errors.APIError(
        "500 Server Error", explanation="write /var/lib/docker/tmp/x: no space left on device"
    )
    with pytest.raises(EngineError) as info, engine_errors("pulling debian:bookworm"):
        raise full
    assert str(info.value).startswith(
        "pulling debian:bookworm: the Docker engine refused: write /var/lib/docker/tmp/x"
    )
    assert "`docker system prune`" in str(info.value)
    with pytest.raises(EngineError) as info, engine_errors("reading the image x"):
        raise docker.errors.ImageNotFound("No such image: x")
    assert "No such image: x" in str(info.value) and "`workshop doctor`" in str(info.value)


@pytest.mark.parametrize(
    "action",
    [
        lambda: lab_objects("edgesunit"),
        lambda: container_ids("edgesunit"),
        lambda: remove_lab_objects("edgesunit"),
        lambda: ensure_base(),
        lambda: build_image("web", "workshop/web:latest"),
    ],
    ids=["lab_objects", "container_ids", "remove_lab_objects", "ensure_base", "build_image"],
)
def test_engine_calls_of_the_kit_raise_its_error_when_no_engine_answers(no_engine, action):
    with pytest.raises(EngineError) as info:
        action()
    assert no_engine in str(info.value) and START_ENGINE in str(info.value)


def test_an_unknown_image_lists_the_images_before_any_engine_call(no_engine):
    with pytest.raises(UsageError) as info:
        build_image("nginx", "workshop/nginx:latest")
    assert "'nginx'" in str(info.value) and "web" in str(info.value)


def test_a_failed_build_step_says_where_to_see_the_log():
    failed = "The command '/bin/sh -c apt-get install -y nginx' returned a non-zero code: 100"
    stream = [{"stream": "Step 2/4 : RUN apt-get install -y nginx\n"}, {"error": failed}]
    seen: list[str] = []
    with pytest.raises(EngineError) as info:
        _build_log(iter(stream), "workshop/web:latest", seen.append)
    assert seen == ["Step 2/4 : RUN apt-get install -y nginx"]
    assert str(info.value).startswith(
        "building workshop/web:latest: the build stopped: The command"
    )
    assert "`workshop up -v`" in str(info.value)
