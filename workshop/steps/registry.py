"""Chapter 06: the lab's images, in a registry every node reaches.

The images (``web``: nginx, ``app``: PHP-FPM, ``registry``: Debian's
docker-registry) are built on this machine from the same Debian base as the node
image; no Docker Hub is needed. The registry runs on every node (a global service
with a host-mode port, so each node pulls from its own ``127.0.0.1:5000``) and
stores images on the shared GlusterFS volume: pulls keep working while any one
node is powered off. The registry image itself is sent to each node over SSH; the
others are sent to one manager and pushed.

Each image is tagged with the digest of its build inputs, so a changed Dockerfile
means a new tag, and an unchanged one means no work.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from workshop.errors import NotConverged, UsageError
from workshop.images import ImageBuild
from workshop.lab import Node
from workshop.remote import RemoteLab
from workshop.steps.gluster import MOUNT, gluster_ok
from workshop.steps.report import StepResult
from workshop.steps.shell import (
    Progress,
    StepRecorder,
    check_nodes,
    headlines,
    quiet,
    run_checked,
    sh,
    shell_line,
)
from workshop.steps.stack import REGISTRY, stack_deploy
from workshop.steps.swarm import active_manager
from workshop.steps.transfer import send_images

__all__ = ["PUSHED_IMAGES", "build_lab_images", "load_image", "registry", "registry_ok"]

#: Images pushed to the lab registry for stacks to use.
PUSHED_IMAGES = ("web", "app")
REGISTRY_IMAGE = "registry"
READY_TIMEOUT = 90.0
_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def build_lab_images(progress: Progress = quiet) -> dict[str, ImageBuild]:
    """Build (or reuse) the lab's images here; each also tagged with its inputs digest.

    Returns:
        Image name -> the build, whose ``digest`` is the tag used in the lab.
    """
    import docker

    from workshop.images import build_image, ensure_base

    ensure_base(progress)
    client = docker.from_env(timeout=120)
    builds = {}
    for name in (REGISTRY_IMAGE, *PUSHED_IMAGES):
        build = build_image(name, f"workshop/{name}:latest", progress)
        client.images.get(build.tag).tag(f"workshop/{name}", build.digest)
        builds[name] = build
    return builds


def _manifest_probe(name: str, tag: str) -> str:
    url = f"http://{REGISTRY}/v2/workshop/{name}/manifests/{tag}"
    return shell_line(
        sh("curl", "-sfI", "--max-time", "10", "-H", f"Accept: {_MANIFEST}", url),
        ">/dev/null",
        "&&",
        sh("echo", "yes"),
        "||",
        sh("echo", "no"),
    )


def _wait_registries(lab: RemoteLab, nodes: list[str]) -> None:
    probe = shell_line(
        sh("curl", "-sf", "--max-time", "5", f"http://{REGISTRY}/v2/"),
        ">/dev/null",
        "&&",
        sh("echo", "up"),
        "||",
        sh("echo", "down"),
    )
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        answers = check_nodes(lab, probe, nodes)
        if all(a == "up" for a in answers.values()):
            return
        if time.monotonic() > deadline:
            raise NotConverged(
                f"the registry does not answer at {REGISTRY} on every node",
                timeout=READY_TIMEOUT,
                last_seen=str(answers),
            )
        time.sleep(1)


def _has_image(lab: RemoteLab, node: str, *tags: str) -> bool:
    """Whether a node has every one of the image tags."""
    probe = shell_line(
        sh("docker", "image", "inspect", *tags),
        ">/dev/null",
        "2>&1",
        "&&",
        "echo",
        "yes",
        "||",
        "echo",
        "no",
    )
    return check_nodes(lab, probe, [node])[node] == "yes"


def load_image(
    lab: RemoteLab, name: str, *, on: str | Iterable[str] = "all", progress: Progress = quiet
) -> StepResult:
    """Build a lab image here and load it on nodes that lack it (no registry needed).

    The real command: ``docker save workshop/web:latest | ssh node-1 docker load``.
    Each node gets ``workshop/<name>:latest`` and ``workshop/<name>:<inputs digest>``.

    Args:
        lab: The lab.
        name: An image of ``workshop/images/`` (``web``, ``app``, ``registry``).
        on: Which nodes ("all", "managers", "workers", a name or a list of names).
        progress: Called with a line of text now and then.

    Raises:
        UsageError: No such image (nothing is changed).
    """
    from workshop.images.build import IMAGES_DIR

    choices = sorted(p.name for p in IMAGES_DIR.iterdir() if (p / "Dockerfile").is_file())
    if name not in choices or name == "node":
        raise UsageError.choice("image", name, [c for c in choices if c != "node"])
    nodes = [n for n in lab.select(on) if n.running]
    rec = StepRecorder(f"load_image {name}", progress)
    from workshop.images import build_image, ensure_base

    ensure_base(headlines(progress))
    build = build_image(name, f"workshop/{name}:latest", headlines(progress))
    import docker

    docker.from_env(timeout=120).images.get(build.tag).tag(f"workshop/{name}", build.digest)
    tags = [build.tag, f"workshop/{name}:{build.digest}"]
    lacking = [n for n in nodes if not _has_image(lab, n.name, *tags)]
    if lacking:
        rec.say(f"sending {build.tag} to {', '.join(n.name for n in lacking)}")
        send_images({n: tags for n in lacking})
        rec.changed([n.name for n in lacking], f"loaded {build.tag} ({build.digest})")
    rec.unchanged([n.name for n in nodes], f"{build.tag} ({build.digest}) already there")
    return rec.result()


def registry_ok(lab: RemoteLab) -> bool:
    """Whether every running node pulls the lab's current images from its registry."""
    import docker

    from workshop.images.build import BASE_IMAGE, IMAGES_DIR, image_inputs_digest

    try:
        base = docker.from_env(timeout=30).images.get(BASE_IMAGE).id
    except docker.errors.DockerException:
        return False
    running = [n.name for n in lab.nodes if n.running]
    for name in PUSHED_IMAGES:
        tag = image_inputs_digest(IMAGES_DIR / name, base)
        if any(a != "yes" for a in check_nodes(lab, _manifest_probe(name, tag), running).values()):
            return False
    return True


def registry(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Run the lab registry on every node and push the lab's images to it.

    The real commands: ``docker save workshop/registry | ssh node docker load`` for
    the registry image, ``docker stack deploy -c registry.yml registry``, then on a
    manager ``docker tag workshop/web 127.0.0.1:5000/workshop/web`` and
    ``docker push 127.0.0.1:5000/workshop/web``.

    Raises:
        UsageError: The shared volume is not mounted everywhere (nothing changed).
        NotConverged: The registry did not answer on every node in time.
    """
    if not gluster_ok(lab):
        raise UsageError(
            "the registry keeps its images on the shared volume, which is not mounted on "
            "every node: run lab.require('gluster') first"
        )
    rec = StepRecorder("registry", progress)
    builds = build_lab_images(headlines(progress))
    running = [n for n in lab.nodes if n.running]
    names = [n.name for n in running]
    registry_tag = f"workshop/{REGISTRY_IMAGE}:{builds[REGISTRY_IMAGE].digest}"
    manager = active_manager(lab)
    lacking = [n.name for n in running if not _has_image(lab, n.name, registry_tag)]
    missing = [
        name
        for name in PUSHED_IMAGES
        if check_nodes(lab, _manifest_probe(name, builds[name].digest), [manager.name])[
            manager.name
        ]
        != "yes"
    ]
    plan: dict[Node, list[str]] = {n: [] for n in running}
    for node in running:
        if node.name in lacking:
            plan[node].append(registry_tag)
    for name in missing:
        local = f"workshop/{name}:{builds[name].digest}"
        if not _has_image(lab, manager.name, local):
            plan[manager].append(local)
    if any(plan.values()):
        what = "; ".join(f"{n.name}: {', '.join(tags)}" for n, tags in plan.items() if tags)
        rec.say(f"sending images over SSH ({what})")
        send_images(plan)
        for node, tags in plan.items():
            if tags:
                rec.changed(node.name, f"loaded {', '.join(tags)}")
    run_checked(lab, sh("mkdir", "-p", f"{MOUNT}/{REGISTRY_IMAGE}"), [manager.name])
    deployed = stack_deploy(
        lab,
        "registry",
        env={"REGISTRY_IMAGE": registry_tag},
        resolve_image="never",
        progress=progress,
    )
    for change in deployed.nodes:
        if change.changed:
            rec.changed(change.node, change.detail)
    _wait_registries(lab, names)
    for name in missing:
        tag = builds[name].digest
        remote = f"{REGISTRY}/workshop/{name}"
        push = shell_line(
            sh("docker", "tag", f"workshop/{name}:{tag}", f"{remote}:{tag}"),
            "&&",
            sh("docker", "tag", f"workshop/{name}:{tag}", f"{remote}:latest"),
            "&&",
            sh("docker", "push", f"{remote}:{tag}"),
            "&&",
            sh("docker", "push", f"{remote}:latest"),
        )
        run_checked(lab, push, [manager.name], timeout=600)
        rec.changed(manager.name, f"pushed {remote}:{tag} (and :latest)")
    rec.unchanged(names, f"registry answers at {REGISTRY} with the current images")
    return rec.result()
