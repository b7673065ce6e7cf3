"""The exception tree: one root, precise kinds, helpful and masked messages."""

from __future__ import annotations

import pickle

import pytest

from workshop.errors import (
    CommandFailed,
    LabNotFound,
    NodeUnreachable,
    NotConverged,
    ProviderError,
    UnknownNode,
    UsageError,
    WorkshopError,
    tail,
)

TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"


def all_errors() -> list[WorkshopError]:
    return [
        WorkshopError("plain"),
        UsageError("bad"),
        UnknownNode("node-7", ["node-1", "node-2"]),
        NodeUnreachable("node-3", "192.168.56.13", "timed out", failed_nodes=["node-2", "node-3"]),
        CommandFailed(["docker", "swarm", "init"], "node-1", 1, "out", "err", hint="Try again."),
        NotConverged("web has 1 of 3 replicas", timeout=120, last_seen="1/3"),
        LabNotFound("no lab named 'workshop'"),
        ProviderError(["vagrant", "up"], 1, "boom", hint="Run `workshop doctor`."),
    ]


@pytest.mark.parametrize("error", all_errors(), ids=lambda e: type(e).__name__)
def test_one_root_and_pickle_round_trip(error):
    assert isinstance(error, WorkshopError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


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


def test_secrets_are_masked_in_messages_reprs_and_attributes():
    errors = [
        CommandFailed(
            ["docker", "swarm", "join", "--token", TOKEN, "10.0.0.1"], "n", 1, TOKEN, TOKEN
        ),
        NodeUnreachable("n", None, f"died while joining with {TOKEN}"),
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
