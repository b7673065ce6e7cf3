"""Chapter 06: the lab's images, in a registry every node reaches.

The images (``web``: nginx, ``app``: PHP-FPM, ``registry``: Debian's
docker-registry) are built on this machine from the same Debian base as the node
image; no Docker Hub is needed. The registry runs on every node (a global service
in the node's own network namespace, listening on its loopback only: each node
pulls from its own ``127.0.0.1:5000``, and nothing outside the node reaches it;
deletes are switched off) and stores images on the shared GlusterFS volume: pulls
keep working while any one node is powered off. The registry image itself is sent
to each node over SSH; the others are sent to one manager and pushed.

Each image is tagged with the digest of its build inputs, so a changed Dockerfile
means a new tag, and an unchanged one means no work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from workshop.errors import EngineError, NotReady, UsageError
from workshop.images import (
    BASE_IMAGE,
    ImageBuild,
    build_image,
    engine_client,
    engine_errors,
    ensure_base,
    image_inputs_digest,
    tag_inputs_digest,
)
from workshop.images.build import IMAGES_DIR
from workshop.lab import Node
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import check_nodes, run_checked
from workshop.steps.gluster import MOUNT, gluster_ok
from workshop.steps.recorder import StepRecorder, headlines
from workshop.steps.report import StepResult
from workshop.steps.stack import REGISTRY, stack_deploy
from workshop.steps.swarm import active_manager
from workshop.steps.transfer import send_images

__all__ = [
    "PUSHED_IMAGES",
    "build_lab_images",
    "listen_probe",
    "load_image",
    "nodes_lacking",
    "open_listeners",
    "parse_tags_lists",
    "registry",
    "registry_ok",
    "registry_open_on",
    "registry_serves",
    "registry_tags",
]

#: Images pushed to the lab registry for stacks to use.
PUSHED_IMAGES = ("web", "app")
REGISTRY_IMAGE = "registry"
READY_TIMEOUT = 90.0


def lab_image(name: str, tag: str) -> str:
    """The name a lab image has on the nodes: ``127.0.0.1:5000/workshop/<name>:<tag>``.

    A swarm task's engine asks the image's registry for it before it starts (and uses
    its own copy when that fails). With the lab registry's address in the name, that
    question goes to the node itself, never out of the lab to Docker Hub, also for an
    image that was loaded without a registry.
    """
    return f"{REGISTRY}/workshop/{name}:{tag}"


def build_lab_images(progress: Progress = quiet) -> dict[str, ImageBuild]:
    """Build (or reuse) the lab's images here; each also tagged with its inputs digest.

    Returns:
        Image name -> the build, whose ``digest`` is the tag used in the lab.

    Raises:
        ProviderError: This machine's Docker engine failed.
    """
    ensure_base(progress)
    builds = {}
    for name in (REGISTRY_IMAGE, *PUSHED_IMAGES):
        build = build_image(name, f"workshop/{name}:latest", progress)
        tag_inputs_digest(build, f"workshop/{name}")
        builds[name] = build
    tag_inputs_digest(builds[REGISTRY_IMAGE], f"{REGISTRY}/workshop/{REGISTRY_IMAGE}")
    return builds


def tags_probe(names: Sequence[str]) -> str:
    """Ask the node's registry for the tag list of each image (one curl, one JSON each)."""
    urls = [f"http://{REGISTRY}/v2/workshop/{name}/tags/list" for name in names]
    return shell_line(sh("curl", "-sf", "--max-time", "10", *urls), "||", "true")


def parse_tags_lists(text: str) -> dict[str, set[str]]:
    """Image -> its tags, from the registry's ``/v2/<name>/tags/list`` answers.

    The answers follow each other (one per image the registry knows; an unknown
    image, or a registry that does not answer, adds nothing). Names lose their
    ``workshop/`` prefix: ``web``, ``app``.
    """
    decoder = json.JSONDecoder()
    tags: dict[str, set[str]] = {}
    position = 0
    while (position := _skip_space(text, position)) < len(text):
        try:
            answer, position = decoder.raw_decode(text, position)
        except ValueError:
            break
        if isinstance(answer, dict) and isinstance(answer.get("name"), str):
            tags[answer["name"].removeprefix("workshop/")] = set(answer.get("tags") or ())
    return tags


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def registry_tags(lab: RemoteLab, on: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """Node -> image -> the tags its registry (``127.0.0.1:5000``) serves."""
    answers = check_nodes(lab, tags_probe(PUSHED_IMAGES), on)
    return {node: parse_tags_lists(text) for node, text in answers.items()}


def _missing_tags(served: Mapping[str, set[str]], wanted: Mapping[str, str]) -> list[str]:
    """Images whose wanted tag (image -> tag) the registry does not serve."""
    return [name for name, tag in wanted.items() if tag not in served.get(name, set())]


def registry_up_probe(max_time: int = 5) -> str:
    """A shell line printing ``up`` when the node's registry answers, else ``down``."""
    return shell_line(
        sh("curl", "-sf", "--max-time", str(max_time), f"http://{REGISTRY}/v2/"),
        ">/dev/null",
        "&&",
        sh("echo", "up"),
        "||",
        sh("echo", "down"),
    )


def open_listeners(ss_output: str) -> list[str]:
    """The addresses port 5000 listens on that are not loopback (``ss -Hltn`` lines)."""
    local = [line.split()[3] for line in ss_output.splitlines() if len(line.split()) >= 4]
    return [address for address in local if not address.startswith("127.0.0.1:")]


def listen_probe() -> str:
    """A shell line listing the sockets that listen on the registry's port (``ss``)."""
    return shell_line(sh("ss", "-Hltn", f"sport = :{REGISTRY.rpartition(':')[2]}"), "||", "true")


def registry_open_on(lab: RemoteLab) -> list[str]:
    """Running nodes where the registry's port listens beyond loopback (an older setup)."""
    answers = check_nodes(lab, listen_probe(), [n.name for n in lab.nodes if n.running])
    return [node for node, text in answers.items() if open_listeners(text)]


def _wait_registries(lab: RemoteLab, nodes: list[str]) -> None:
    """Wait until every node's registry answers on loopback, and on loopback only."""
    probe = shell_line(registry_up_probe(), ";", listen_probe())
    poll_until(
        lambda: check_nodes(lab, probe, nodes),
        lambda answers: all(
            text.splitlines()[:1] == ["up"] and not open_listeners(text)
            for text in answers.values()
        ),
        timeout=READY_TIMEOUT,
        what=f"the registry at {REGISTRY} (and on loopback only) on every node",
    )


def nodes_lacking(lab: RemoteLab, nodes: Sequence[str], tags: Sequence[str]) -> list[str]:
    """The nodes of ``nodes`` that lack one of the image ``tags`` (one round trip)."""
    probe = shell_line(
        sh("docker", "image", "inspect", "--format", "{{json .RepoTags}}", *tags),
        "2>/dev/null",
        "||",
        "true",
    )
    lacking = []
    for node, text in check_nodes(lab, probe, nodes).items():
        present = {tag for line in text.splitlines() if line for tag in json.loads(line)}
        if not set(tags) <= present:
            lacking.append(node)
    return lacking


def load_image(
    lab: RemoteLab, name: str, *, on: str | Iterable[str] = "all", progress: Progress = quiet
) -> StepResult:
    """Build a lab image here and load it on nodes that lack it (no registry needed).

    The real command: ``docker save 127.0.0.1:5000/workshop/web:latest | ssh node-1
    docker load``. Each node gets ``127.0.0.1:5000/workshop/<name>:latest`` (the name
    tasks use, see :func:`lab_image`) and ``:<inputs digest>``, and the same under
    ``workshop/<name>``.

    Args:
        lab: The lab.
        name: An image of ``workshop/images/`` (``web``, ``app``, ``registry``).
        on: Which nodes ("all", "managers", "workers", a name or a list of names).
        progress: Called with a line of text now and then.

    Raises:
        UsageError: No such image (nothing is changed).
        ProviderError: This machine's Docker engine failed.
    """
    choices = sorted(p.name for p in IMAGES_DIR.iterdir() if (p / "Dockerfile").is_file())
    if name not in choices or name == "node":
        raise UsageError.choice("image", name, [c for c in choices if c != "node"])
    nodes = {n.name: n for n in lab.select(on) if n.running}
    rec = StepRecorder(f"load_image {name}", progress)
    ensure_base(headlines(progress))
    build = build_image(name, f"workshop/{name}:latest", headlines(progress))
    local = f"{REGISTRY}/workshop/{name}"
    tags = [
        build.tag,
        tag_inputs_digest(build, f"workshop/{name}"),
        tag_inputs_digest(build, local, "latest"),
        tag_inputs_digest(build, local),
    ]
    lacking = nodes_lacking(lab, list(nodes), tags)
    if lacking:
        rec.say(f"sending {build.tag} to {', '.join(lacking)}")
        send_images({nodes[n]: tags for n in lacking})
        rec.changed(lacking, f"loaded {build.tag} ({build.digest})")
    rec.unchanged(list(nodes), f"{build.tag} ({build.digest}) already there")
    return rec.result()


def _current_tags() -> dict[str, str] | None:
    """Pushed image -> the tag its current inputs get; None without a base image here."""
    try:
        with engine_errors("reading the base image"):
            base = engine_client(30).images.get(BASE_IMAGE).id
    except EngineError:
        return None
    return {name: image_inputs_digest(IMAGES_DIR / name, base) for name in PUSHED_IMAGES}


def registry_serves(lab: RemoteLab, wanted: Mapping[str, str]) -> bool:
    """Whether the registry of every running node serves each image at its tag.

    Args:
        lab: The lab.
        wanted: Image (``web``) -> the tag it must have.
    """
    running = [n.name for n in lab.nodes if n.running]
    served = registry_tags(lab, running)
    return not any(_missing_tags(images, wanted) for images in served.values())


def registry_ok(lab: RemoteLab) -> bool:
    """Whether every running node pulls the lab's current images from a closed registry."""
    wanted = _current_tags()
    return wanted is not None and registry_serves(lab, wanted) and not registry_open_on(lab)


def _plan_images(
    lab: RemoteLab, builds: Mapping[str, ImageBuild], manager: Node
) -> tuple[dict[Node, list[str]], list[str]]:
    """What each node must receive, and which images the registry lacks."""
    running = [n for n in lab.nodes if n.running]
    registry_tag = lab_image(REGISTRY_IMAGE, builds[REGISTRY_IMAGE].digest)
    plan: dict[Node, list[str]] = {n: [] for n in running}
    for name in nodes_lacking(lab, [n.name for n in running], [registry_tag]):
        plan[lab.node(name)].append(registry_tag)
    served = registry_tags(lab, [manager.name])[manager.name]
    missing = _missing_tags(served, {name: builds[name].digest for name in PUSHED_IMAGES})
    for name in missing:
        local = f"workshop/{name}:{builds[name].digest}"
        if nodes_lacking(lab, [manager.name], [local]):
            plan.setdefault(manager, []).append(local)
    return plan, missing


def push_image(lab: RemoteLab, manager: Node, name: str, tag: str) -> str:
    """Push ``workshop/<name>:<tag>`` (and as ``:latest``) from a manager; the repository."""
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
    return remote


def registry(lab: RemoteLab, *, progress: Progress = quiet) -> StepResult:
    """Run the lab registry on every node and push the lab's images to it.

    The real commands: ``docker save workshop/registry | ssh node docker load`` for
    the registry image, ``docker stack deploy -c registry.yml registry``, then on a
    manager ``docker tag workshop/web 127.0.0.1:5000/workshop/web`` and
    ``docker push 127.0.0.1:5000/workshop/web``.

    Raises:
        NotReady: The shared volume is not mounted everywhere (nothing changed).
        NotConverged: The registry did not answer on every node in time.
        ProviderError: This machine's Docker engine failed.
    """
    if not gluster_ok(lab):
        raise NotReady(
            "the registry keeps its images on the shared volume, which is not mounted on "
            "every node: run lab.require('gluster') first"
        )
    rec = StepRecorder("registry", progress)
    builds = build_lab_images(headlines(progress))
    names = [n.name for n in lab.nodes if n.running]
    manager = active_manager(lab)
    plan, missing = _plan_images(lab, builds, manager)
    if any(plan.values()):
        what = "; ".join(f"{n.name}: {', '.join(tags)}" for n, tags in plan.items() if tags)
        rec.say(f"sending images over SSH ({what})")
        send_images(plan)
        for node, tags in plan.items():
            if tags:
                rec.changed(node.name, f"loaded {', '.join(tags)}")
    run_checked(lab, sh("mkdir", "-p", f"{MOUNT}/{REGISTRY_IMAGE}"), [manager.name])
    registry_tag = lab_image(REGISTRY_IMAGE, builds[REGISTRY_IMAGE].digest)
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
        remote = push_image(lab, manager, name, builds[name].digest)
        rec.changed(manager.name, f"pushed {remote}:{builds[name].digest} (and :latest)")
    rec.unchanged(names, f"registry answers at {REGISTRY} with the current images")
    return rec.result()
