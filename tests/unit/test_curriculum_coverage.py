"""Every curriculum item of the chapters is taught by cells of its notebook.

``COVERAGE`` maps each item of CURRICULUM sections 00-10 and 99 to what its chapter must
contain: commands and calls in code cells (run against the lab) and terms in the
prose. A chapter that loses one fails here, naming the item. Run this file as a
script to print which cells cover each item (counted from 1, prose cells included,
as JupyterLab shows them):

    python tests/unit/test_curriculum_coverage.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Item(NamedTuple):
    """One curriculum item: where it is taught, and what shows it is."""

    chapter: str
    item: str
    code: tuple[str, ...] = ()
    prose: tuple[str, ...] = ()


COVERAGE = [
    Item(
        "00-welcome",
        "topology: node-1 and node-2 managers (node-1 first leader), node-3 worker; addresses",
        code=("lab\n", "dashboard.topology(lab)", "hostname -I"),
        prose=("first *leader*", "**node-3** is a *worker*"),
    ),
    Item(
        "00-welcome",
        "a shell on a node: `workshop ssh node-2`",
        code=('"ssh", "node-2"',),
        prose=("workshop ssh node-2",),
    ),
    Item(
        "00-welcome",
        "`workshop doctor`: engine, provider, kernel features (ip_vs, vxlan, fuse)",
        code=("checks.host_ready(lab)",),
        prose=("workshop doctor", "provider", "`vxlan`", "`fuse`", "`ip_vs`"),
    ),
    Item(
        "01-swarm-concepts",
        "node roles: managers, workers, managers run tasks unless drained, one leader",
        code=("lab.managers", "lab.workers"),
        prose=("**Managers**", "**Workers**", "*drain*", "**leader**"),
    ),
    Item(
        "01-swarm-concepts",
        "Raft: leader, quorum floor(N/2)+1, tolerance floor((N-1)/2), even counts; table and gauge",
        code=("swarm.quorum_table(7)", "dashboard.quorum_gauge(", "swarm.fault_tolerance(5)"),
        prose=("**Raft**", "floor(N/2) + 1", "floor((N-1)/2)", "**even**"),
    ),
    Item(
        "01-swarm-concepts",
        "ports: 2377/tcp, 7946/tcp+udp, 4789/udp",
        prose=("| 2377 | TCP |", "| 7946 | TCP and UDP |", "| 4789 | UDP |"),
    ),
    Item(
        "01-swarm-concepts",
        "networks a swarm creates: ingress (overlay), docker_gwbridge (bridge)",
        prose=("**`ingress`**, an *overlay*", "**`docker_gwbridge`**, a *bridge*"),
    ),
    Item(
        "01-swarm-concepts",
        "stacks, services, tasks, replicas",
        code=("stacks/helloworld/stack.yml",),
        prose=("A **service**", "a **task**", "**replicas**", "A **stack**"),
    ),
    Item(
        "01-swarm-concepts",
        "how Raft elects a leader (heartbeats, candidate, votes) and what more managers cost "
        "(every write waits for a quorum)",
        code=("swarm.quorum_needed(managers)", "swarm.quorum_needed(3)"),
        prose=(
            "## How a leader is elected",
            "**heartbeats**",
            "**candidate**",
            "**votes**",
            "## What more managers cost",
            "every write waits for a",
        ),
    ),
    Item(
        "02-install-docker",
        "apt install on all nodes at once",
        code=(
            "steps.apt_cache(lab",
            "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io",
            "lab.run(install, sudo=True",
            "steps.install_docker(lab",
        ),
        prose=(
            "apt-get install -y docker.io",
            "on every node at once",
            "already the newest version",
        ),
    ),
    Item("02-install-docker", "`systemctl status docker`", code=("systemctl status docker",)),
    Item("02-install-docker", "`docker info`", code=("docker info --format", '"docker info"')),
    Item(
        "03-create-the-swarm",
        "`docker swarm init --advertise-addr <node-1 address>` on node-1",
        code=("docker swarm init --advertise-addr", "steps.swarm_init(lab"),
    ),
    Item(
        "03-create-the-swarm",
        "join tokens (masked), node-2 joins as manager, node-3 as worker, `docker node ls`",
        code=(
            'steps.join_token(lab, "worker")',
            'steps.join_token(lab, "manager")',
            "docker swarm join-token worker",
            "docker swarm join --token",
            "steps.swarm_join(lab",
            "docker node ls",
        ),
        prose=("**Leader**", "**Reachable**", "This node joined a swarm as a manager."),
    ),
    Item(
        "03-create-the-swarm",
        "firewall rules for the swarm ports, limited to the lab subnet",
        code=("steps.firewall(lab", "steps.firewall_rules(lab", "2377|7946|4789"),
        prose=("for the lab network only",),
    ),
    Item(
        "03-create-the-swarm",
        "`docker network ls` shows ingress and docker_gwbridge",
        code=("docker network ls", "checks.swarm_networks(lab)"),
    ),
    Item(
        "04-services-and-scaling",
        "`service create --replicas 5`, `service ls`, `service ps`, scale to 10, 20, 30",
        code=(
            "docker service create --replicas 5 --name helloworld",
            "docker service ls",
            "docker service ps helloworld",
            "docker service scale helloworld=10",
            "checks.terminal_text(",
            'service_scale(lab, "helloworld", 20',
            'service_scale(lab, "helloworld", 30',
        ),
    ),
    Item(
        "04-services-and-scaling",
        "replicas per node: the `service ps | awk | sort | uniq -c` pipeline beside the plot",
        code=(
            "awk 'NR > 1 {print $4}' | sort | uniq -c",
            "dashboard.replica_map(",
            "dashboard.side_by_side(counted, plot",
        ),
    ),
    Item(
        "04-services-and-scaling",
        "replicated versus global services (`--mode global`: one task per node)",
        code=("--mode global", "checks.global_service(lab"),
        prose=("**replicated**", "**global**"),
    ),
    Item(
        "04-services-and-scaling",
        "`docker service inspect`",
        code=("docker service inspect --pretty", "docker service inspect --format"),
    ),
    Item(
        "04-services-and-scaling",
        "`docker ps` on a node shows the containers behind its tasks",
        code=(
            "docker ps --filter name=helloworld",
            "docker service ps helloworld --filter node=node-3",
            "dashboard.side_by_side(ps",
        ),
        prose=("## `docker ps` on a node", "`<service>.<slot>.<task id>`"),
    ),
    Item(
        "05-shared-storage",
        "why: a local volume exists per node",
        code=("docker volume create notes",),
    ),
    Item(
        "05-shared-storage",
        "Gluster terms: brick; distributed, replicated, distributed-replicated volumes",
        prose=("**brick**", "**distributed**", "**replicated**", "**distributed-replicated**"),
    ),
    Item(
        "05-shared-storage",
        "glusterfs-server, gluster-1..3 names, peer probe, pool list, replica 3 volume, "
        "start, status, `mount -t glusterfs` on every node",
        code=(
            "apt-get -q install -y glusterfs-server",
            "gluster-{i}",
            "gluster peer probe",
            "gluster pool list",
            "gluster volume create swarm-data replica",
            "gluster volume start swarm-data",
            "gluster volume status swarm-data",
            "mount -t glusterfs",
        ),
    ),
    Item(
        "05-shared-storage",
        "write on node-1, read on node-2; a node down, still read; self-heal when it returns",
        code=(
            "hello from node-1",
            'cat /mnt/swarm-data/hello.txt", on="node-2"',
            'lab.halt("node-3")',
            "gluster volume heal swarm-data info",
            'lab.start("node-3")',
            "checks.gluster_healed(lab)",
        ),
    ),
    Item(
        "05-shared-storage",
        "client quorum: with replica 3 two bricks take writes, one surviving brick is read-only",
        code=(
            "cluster.quorum-type",
            'faults.stop_brick(lab, "node-2")',
            'faults.stop_brick(lab, "node-3")',
            "date > /mnt/swarm-data/one-brick.txt",
        ),
        prose=("**client quorum**", "`cluster.quorum-type auto`", "**read-only**"),
    ),
    Item(
        "05-shared-storage",
        "a storage node is a single point of failure; storage in its own cluster; "
        "databases off Gluster",
        prose=("**single point of failure**", "cluster of its own", "Keep databases off"),
    ),
    Item(
        "06-sharing-images",
        "images live in each node's store; a rescheduled task needs its image on its node",
        code=(
            "docker build -t 127.0.0.1:5000/workshop/greeting:local",
            'lab.run(f"docker image ls {repo}", sudo=True)',
            "--constraint node.hostname==node-2",
            "--no-resolve-image --detach 127.0.0.1:5000/workshop/greeting:local",
            "docker service ps --no-trunc greeting",
        ),
        prose=("own image store", "**Docker Hub**", "docker.io/library/greeting", "**Rejected**"),
    ),
    Item(
        "06-sharing-images",
        "a registry service in the swarm; build, tag, push; every node pulls",
        code=(
            "stacks/registry/stack.yml",
            "steps.registry(lab",
            "docker stack ps registry",
            "docker tag {repo}:local {name}",
            "docker push",
            'lab.run(f"docker pull {name} | tail -n 2", sudo=True)',
        ),
        prose=("**registry**", "`mode: global`", "`mode: host`"),
    ),
    Item(
        "06-sharing-images",
        "still pullable when one node is down",
        code=('lab.halt("node-3")', 'on=["node-1", "node-2"]', 'lab.start("node-3")'),
    ),
    Item(
        "06-sharing-images",
        "the registry's security model in the lab, and what changes on real hosts",
        code=(':5000/v2/_catalog", on="node-3"', "InsecureRegistryCIDRs"),
        prose=("**No authentication.**", "**Plain HTTP, no TLS.**", "**TLS**", "**Digests**"),
    ),
    Item(
        "07-deploy-a-stack",
        "demoapp: nginx + php-fpm, config and code on the Gluster volume; "
        "`stack deploy -c ... demoapp`, `stack services`, `stack ps`",
        code=(
            "stacks/demoapp",
            "docker stack deploy -c {shared}/stacks/demoapp.yml demoapp",
            "docker stack services demoapp",
            "docker stack ps demoapp",
        ),
        prose=("`fastcgi_pass $app:9000`", "PHP-FPM", "`mode: ingress`"),
    ),
    Item(
        "07-deploy-a-stack",
        "troubleshooting: 0/1, `service logs`, `service ps --no-trunc`, `journalctl -u docker`; "
        "`stack rm`",
        code=(
            "docker stack services broken",
            "docker service ps --no-trunc broken_app",
            "docker service logs --tail 5 broken_web",
            "journalctl -u docker --since",
            "docker stack rm broken",
        ),
        prose=("**0/1**",),
    ),
    Item(
        "07-deploy-a-stack",
        "fill the volume from a one-off container (`docker run --mount type=bind ...`)",
        code=("docker run --rm -i", "--mount type=bind,source=/mnt/swarm-data/demoapp/html"),
    ),
    Item(
        "07-deploy-a-stack",
        "edit the code on one node, every replica serves the change",
        code=("sed -i '{title}'", 'checks.page_served(lab, 8080, "edited on node-2")'),
    ),
    Item(
        "07-deploy-a-stack",
        "scale the app service to 3: one task per node",
        code=("docker service scale --detach demoapp_app=3", "docker service ps demoapp_app"),
        prose=("one each",),
    ),
    Item(
        "08-load-balancing",
        "routing mesh: any node accepts a published port and forwards to a task; VIPs; "
        "service DNS names; `tasks.<name>`",
        code=(
            "--publish-add published=8081,target=80 lb_hello",
            "dashboard.sample_requests(lab, 8081",
            "getent hosts hello tasks.hello",
            "NetworksAttachments",
        ),
        prose=("**routing mesh**", "**virtual IP**", "**DNS round robin**", "`tasks.hello`"),
    ),
    Item(
        "08-load-balancing",
        "`docker service inspect -f '{{.Endpoint.VirtualIPs}}'`",
        code=("docker service inspect -f '{{.Spec.Name}}: {{.Endpoint.VirtualIPs}}'",),
    ),
    Item(
        "08-load-balancing",
        "request sampler: many requests, histogram of hostnames that answered",
        code=(
            "dashboard.RequestSampler(lab, 8000",
            "dashboard.request_histogram(",
            "dashboard.replica_map(hello",
        ),
    ),
    Item(
        "08-load-balancing",
        "without ip_vs (doctor says so): host-mode ports, `endpoint_mode: dnsrr`, a front "
        "proxy (nginx least_conn) over `tasks.<service>` that follows scaling without restarts; "
        "its config (`least_conn`, `max_fails`); the mesh's algorithm cannot be configured",
        code=(
            "checks.host_ready(lab)",
            "steps.publish_mode(lab)",
            '"ENDPOINT_MODE": ENDPOINT',
            "nginx -T",
            "docker service scale --detach lb_hello=6",
            'checks.proxy_follows(lab, "lb_proxy", "lb_hello")',
            "docker service ps lb_proxy",
        ),
        prose=(
            "**host mode**",
            "`endpoint_mode: dnsrr`",
            "`least_conn`",
            "`max_fails=2 fail_timeout=5s`",
            "No `docker` option changes that algorithm",
            "A reload is not a restart",
        ),
    ),
    Item(
        "09-fault-tolerance",
        "a container removed by hand (`docker rm -f`) is replaced; `service ps` shows the "
        "`\\_ Shutdown` history row",
        code=(
            "docker rm -f $(docker ps -q",
            'checks.task_replaced(lab, "helloworld", "node-3")',
            'lab.run("docker service ps helloworld"',
        ),
        prose=("marked `\\_`", "desired state `Shutdown`", "`Failed`"),
    ),
    Item(
        "09-fault-tolerance",
        "drain a node: its tasks move; `active` again, then scale to repopulate it; pause",
        code=(
            "docker node update --availability drain node-3",
            "grep node-3 | wc -l",
            "docker node update --availability active node-3",
            "docker service update --force",
            "docker node update --availability pause node-3",
            'steps.service_scale(lab, "helloworld", 30',
        ),
        prose=("**created**", "does not rebalance by itself", "Scaling up is the other way"),
    ),
    Item(
        "09-fault-tolerance",
        "two managers: power off one, the other reports no elected leader; tasks are not "
        "rescheduled; power it back on",
        code=(
            "with faults.power_off(lab, leader):",
            "checks.no_leader(lab, on=other)",
            'checks.tasks_kept(lab, "helloworld", on=others',
        ),
        prose=(
            "tolerate **zero** failures",
            "raft: no elected cluster leader",
            "nothing was",
            "powered on again",
        ),
    ),
    Item(
        "09-fault-tolerance",
        "a third manager; power off the leader: a new leader, replicas started on the "
        "remaining nodes (timeline plot)",
        code=(
            "docker node promote node-3",
            "dashboard.FaultTimeline(lab",
            "checks.failover(lab",
            "timeline.stop()",
        ),
        prose=("floor((3-1)/2) = 1", "`Unreachable`", "`Down`"),
    ),
    Item(
        "09-fault-tolerance",
        "leave the lab as it was: all nodes on, roles as the chapter found them",
        code=(
            "checks.lab_snapshot(lab)",
            "steps.swarm_roles(lab",
            "checks.lab_as_found(lab, found)",
        ),
        prose=("docker node demote node-3",),
    ),
    Item(
        "10-multi-service-apps",
        "overlay networks (front-tier, back-tier) created on a manager, refused on a worker; "
        "services attach only to what they need; `--attachable`",
        code=(
            'lab.run("docker network create -d overlay front-tier", on="node-3"',
            'create = "docker network create -d overlay"',
            "--attachable back-tier",
            "docker run --rm --network front-tier",
            'checks.overlay_network(lab, "back-tier", attachable=True)',
        ),
        prose=("**overlay** network", "created on a manager", "`--attachable`"),
    ),
    Item(
        "10-multi-service-apps",
        "a web service scaled behind a proxy, Redis on the back tier; the replicas find it by "
        "service name from any node; the proxy cannot reach it",
        code=(
            'steps.stack_deploy(lab, "tiers"',
            "docker service scale --detach tiers_counter=3",
            "curl -s localhost:8010",
            "getent hosts redis",
            'checks.resolves(lab, "tiers_counter", "redis")',
            'checks.cannot_resolve(lab, "tiers_proxy", "redis")',
        ),
        prose=("finds Redis by its service name", "## The proxy cannot reach Redis"),
    ),
    Item(
        "10-multi-service-apps",
        "a message-passing pair of services (request/reply) across nodes",
        code=(
            'steps.stack_deploy(lab, "reqrep"',
            "docker service logs --tail 4 reqrep_requester",
            "checks.replies_across_nodes(lab)",
        ),
        prose=("**replier** on the worker", "**requester** on a manager"),
    ),
    Item(
        "10-multi-service-apps",
        "bridge networks (one host, DNS by container name) versus overlay (many hosts)",
        code=(
            "docker network create bridge-demo",
            "ask pong",
            'lab.run(f"docker run --rm --network bridge-demo {image} ask pong", on="node-2"',
        ),
        prose=("**bridge** network", "**by container name**", "`local`, this host only"),
    ),
    Item(
        "10-multi-service-apps",
        "an overlay network reaches a node only when a task of it lands there",
        code=(
            'lab.run("docker network ls --filter driver=overlay", sudo=True)',
            'lab.run("docker network ls --filter driver=overlay", on="node-3"',
        ),
        prose=("gets an overlay network only when a task",),
    ),
    Item(
        "10-multi-service-apps",
        "Redis with append-only persistence on a pinned node, its data in a volume there",
        code=(
            "docker node update --label-add redis=true node-3",
            "appendonly.aof.1.incr.aof",
            "docker service update --force --quiet tiers_redis",
            'checks.service_pinned(lab, "tiers_redis", "node-3")',
            "docker volume rm tiers_redis-data",
        ),
        prose=("`--appendonly yes`", "**placement constraint**", "*append-only file*"),
    ),
    Item(
        "10-multi-service-apps",
        "databases on a swarm: Galera replicates itself, not on Gluster; finding it by name; "
        "user uploads in an object store",
        prose=(
            "**Galera**",
            "must **not** keep its data",
            "`tasks.<service>`",
            "**User uploads**",
            "**object store**",
        ),
    ),
    Item(
        "10-multi-service-apps",
        "history: before swarm mode (Docker 1.12), an external key-value store and docker-machine",
        prose=(
            "Docker 1.12",
            "*classic Swarm*",
            "**Consul**",
            "**etcd**",
            "**ZooKeeper**",
            "**docker-machine**",
            "**registrator**",
        ),
    ),
    Item(
        "99-clean-up",
        "`docker stack rm`, `docker swarm leave`, `workshop down`",
        code=(
            "docker stack rm {' '.join(names)}",
            'lab.run("docker swarm leave", on="node-3"',
            "docker node demote node-2",
            "docker swarm leave --force",
            "checks.swarm_left(lab)",
        ),
        prose=("workshop down",),
    ),
]


def cells(chapter: str) -> list[tuple[str, str]]:
    """(cell type, source) of each cell of a chapter."""
    notebook = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    return [(cell["cell_type"], "".join(cell["source"]) + "\n") for cell in notebook["cells"]]


def where(item: Item) -> dict[str, list[int]]:
    """Each needle of the item -> indexes of the cells (of the right type) that hold it."""
    found: dict[str, list[int]] = {}
    chapter = cells(item.chapter)
    for kind, needles in (("code", item.code), ("markdown", item.prose)):
        for needle in needles:
            found[needle] = [
                index
                for index, (cell_type, source) in enumerate(chapter)
                if cell_type == kind and needle in source
            ]
    return found


def test_every_curriculum_chapter_has_items() -> None:
    chapters = {item.chapter for item in COVERAGE}
    on_disk = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")}
    assert chapters == on_disk


@pytest.mark.parametrize("item", COVERAGE, ids=[f"{i.chapter}: {i.item[:40]}" for i in COVERAGE])
def test_item_is_taught(item: Item) -> None:
    missing = [needle for needle, indexes in where(item).items() if not indexes]
    assert not missing, f"{item.chapter} no longer teaches {item.item!r}: missing {missing}"


if __name__ == "__main__":
    for entry in COVERAGE:
        indexes = sorted({i + 1 for found in where(entry).values() for i in found})
        print(f"{entry.chapter}.ipynb cells {', '.join(map(str, indexes))}: {entry.item}")
