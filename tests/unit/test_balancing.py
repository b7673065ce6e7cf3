"""Chapter 08: the proxy's upstream generator (upstream.sh) and the balancing checks.

The generator is the shell script the web image runs next to nginx; it is run here
as it is, with ``sh``, on answers recorded from a lab's ``lb`` stack
(``tests/data/balancing``). The checks read recorded ``nginx -T``, ``docker service
ls`` and request answers through a fake lab.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.unit.fakes import FakeRemote, FakeSource, Handler, on
from workshop import Lab, checks
from workshop.checks.balancing import Upstream, parse_upstream
from workshop.lab import Node
from workshop.lab.node import SSHEndpoint

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "workshop" / "images" / "web" / "upstream.sh"
DATA = ROOT / "tests" / "data" / "balancing"
NAMES = ("node-1", "node-2", "node-3")
#: The addresses of tasks.hello in the recorded `getent ahostsv4` answer, in numeric order.
RECORDED = ["10.0.5.9", "10.0.5.10", "10.0.5.11"]


def upstream_sh(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["sh", str(SCRIPT), *args], input=stdin, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def recorded(name: str) -> str:
    return (DATA / name).read_text()


# --- upstream.sh ---------------------------------------------------------------------


def test_addresses_of_a_getent_answer_once_each_in_numeric_order() -> None:
    answer = recorded("getent-ahostsv4-tasks-hello.txt")
    assert upstream_sh("addresses", stdin=answer).split() == RECORDED


def test_render_gives_a_least_conn_block_with_one_server_per_task() -> None:
    text = upstream_sh("render", "hello", *RECORDED)
    assert parse_upstream(text, "hello") == Upstream(
        "hello", "least_conn", tuple(f"{a}:80" for a in RECORDED)
    )
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server")]
    assert [s[2:] for s in servers] == [["max_fails=2", "fail_timeout=5s;"]] * 3
    assert "    zone hello 64k;" in text.splitlines()


def test_render_without_tasks_keeps_the_block_valid_with_a_server_marked_down() -> None:
    text = upstream_sh("render", "hello")
    assert parse_upstream(text, "hello") == Upstream("hello", "least_conn", ())
    assert re.search(r"^\s+server \S+ down;$", text, re.MULTILINE)


@pytest.fixture
def fake_container(tmp_path: Path) -> dict[str, Path]:
    """PATH with a `getent` that answers from a file and an `nginx` that logs its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    answer, calls = tmp_path / "getent.txt", tmp_path / "nginx-calls.txt"
    (bin_dir / "getent").write_text(f'#!/bin/sh\ncat "{answer}"\n')
    (bin_dir / "nginx").write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    pidfile = tmp_path / "nginx.pid"
    return {"bin": bin_dir, "answer": answer, "calls": calls, "pid": pidfile}


def test_sync_rewrites_and_reloads_only_when_the_tasks_change(
    fake_container: dict[str, Path], tmp_path: Path
) -> None:
    env = {
        "PATH": f"{fake_container['bin']}:/usr/bin:/bin",
        "NGINX_PIDFILE": str(fake_container["pid"]),
    }
    conf = tmp_path / "upstream-hello.conf"
    answer = recorded("getent-ahostsv4-tasks-hello.txt")
    fake_container["answer"].write_text(answer)

    def sync() -> list[str]:
        upstream_sh("sync", "hello", str(conf), env=env)
        calls = fake_container["calls"]
        return calls.read_text().splitlines() if calls.exists() else []

    assert sync() == []  # nginx not started yet: the file is written, nothing reloaded
    first = parse_upstream(conf.read_text(), "hello")
    assert first is not None and len(first.servers) == 3
    fake_container["pid"].write_text("1\n")
    assert sync() == []  # same tasks: no reload
    fake_container["answer"].write_text(answer + "10.0.5.12       STREAM tasks.hello\n")
    assert sync() == ["-s reload"]
    second = parse_upstream(conf.read_text(), "hello")
    assert second is not None and second.servers[-1] == "10.0.5.12:80"


# --- parse_upstream on nginx -T ------------------------------------------------------


def test_parse_upstream_reads_the_block_nginx_loaded() -> None:
    three = parse_upstream(recorded("nginx-T-lb-proxy-3.txt"), "hello")
    six = parse_upstream(recorded("nginx-T-lb-proxy-6.txt"), "hello")
    assert three is not None and six is not None
    assert three.method == six.method == "least_conn"
    assert three.servers == tuple(f"{a}:80" for a in RECORDED)
    assert len(six.servers) == 6 and set(three.servers) < set(six.servers)
    assert parse_upstream(recorded("nginx-T-lb-proxy-3.txt"), "app") is None


def test_parse_upstream_defaults_to_round_robin_and_skips_backups() -> None:
    config = "upstream app {\n  server a:80; # first\n  server b:80 backup;\n}\n"
    assert parse_upstream(config, "app") == Upstream("app", "round_robin", ("a:80",))


# --- checks --------------------------------------------------------------------------


def make_lab(*handlers: Handler) -> Lab:
    nodes = [
        Node(name, "manager" if i < 2 else "worker", f"192.168.72.1{i + 1}", SSHEndpoint("h", 22))
        for i, name in enumerate(NAMES)
    ]
    lab = Lab(FakeSource(nodes))
    lab.remote = FakeRemote(handlers)  # type: ignore[assignment]
    return lab


def proxy_lab(service_ls: str, configs: dict[str, str]) -> Lab:
    per_node = [on(r"nginx -T", recorded(configs[name]), nodes=[name]) for name in configs]
    return make_lab(on(r"docker service ls", recorded(service_ls)), *per_node)


def test_proxy_follows_when_every_proxy_lists_every_task() -> None:
    lab = proxy_lab("service-ls-lb-6.jsonl", dict.fromkeys(NAMES, "nginx-T-lb-proxy-6.txt"))
    result = checks.proxy_follows(lab, "lb_proxy", "lb_hello")
    assert result.passed, result
    assert "least_conn over the 6 tasks of lb_hello, on node-1, node-2, node-3" in result.message


def test_proxy_follows_fails_while_a_proxy_lags_behind() -> None:
    configs = {"node-1": "nginx-T-lb-proxy-6.txt", "node-2": "nginx-T-lb-proxy-3.txt"}
    lab = proxy_lab("service-ls-lb-6.jsonl", configs)
    result = checks.proxy_follows(lab, "lb_proxy", "lb_hello")
    assert not result.passed
    assert result.message == "lb_hello runs 6 tasks; node-2: least_conn with 3 servers"
    assert "nginx -T" in result.hint
    probes = lab.remote.matching(r"nginx -T")  # type: ignore[attr-defined]
    assert probes and "label=com.docker.swarm.service.name=lb_proxy" in probes[0]


def test_proxy_follows_without_proxy_or_backend() -> None:
    no_proxy = checks.proxy_follows(proxy_lab("service-ls-lb-3.jsonl", {}), "lb_proxy", "lb_hello")
    assert not no_proxy.passed and "no container of lb_proxy" in no_proxy.message
    lab = proxy_lab("service-ls-lb-3.jsonl", {"node-1": "nginx-T-lb-proxy-3.txt"})
    missing = checks.proxy_follows(lab, "lb_proxy", "web")
    assert not missing.passed and "there is no service 'web'" in missing.message


def sampled_lab(loop_answer: str) -> Lab:
    hostnames = [
        on(r"docker ps -q", recorded(f"hello-hostnames-{name}.txt"), nodes=[name]) for name in NAMES
    ]
    return make_lab(on(r"^for a in ", loop_answer, nodes=["node-1"]), *hostnames)


def test_requests_spread_over_every_task() -> None:
    answers = recorded("request-loop-8000.txt")
    result = checks.requests_spread(sampled_lab(answers), 8000, "lb_hello", 3)
    assert result.passed, result
    per_host = Counter(line.split()[1] for line in answers.splitlines())
    counts = ", ".join(str(per_host[host]) for host in sorted(per_host))
    assert result.message == f"30 requests, answered by 3 tasks ({counts})"


def test_requests_spread_fails_on_unanswered_requests_or_too_few_tasks() -> None:
    lines = recorded("request-loop-8000.txt").splitlines()
    unanswered = "\n".join(
        f"{line.split()[0]} !" if i < 4 else line for i, line in enumerate(lines)
    )
    result = checks.requests_spread(sampled_lab(unanswered), 8000, "lb_hello", 3)
    assert not result.passed and result.message.startswith("4 of 30 requests got no answer")
    lab = sampled_lab(recorded("request-loop-8000.txt"))
    too_few = checks.requests_spread(lab, 8000, "lb_hello", 6)
    assert not too_few.passed and "answered by 3 host names" in too_few.message


def test_proxy_follows_waits_for_the_backend_to_converge() -> None:
    scaling = recorded("service-ls-lb-6.jsonl").replace('"Replicas":"6/6"', '"Replicas":"4/6"')
    lab = make_lab(
        on(r"docker service ls", scaling), on(r"nginx -T", recorded("nginx-T-lb-proxy-3.txt"))
    )
    result = checks.proxy_follows(lab, "lb_proxy", "lb_hello")
    assert not result.passed and result.message == "lb_hello runs 4 of 6 tasks"
