"""Chapter 10: the images of a chapter's stacks, pushed to the lab registry on demand.

The registry step (chapter 06) pushes the images every lab needs (``web``,
``app``). Images that only one chapter's stacks use (``redis``, ``counter`` and
``reqrep`` for chapter 10) are built and pushed when that chapter asks for them,
so ``lab.require("registry")`` takes no longer for them. Like the registry
step's images, each is built here FROM the lab's Debian base (no Docker Hub),
sent to one manager (``docker save | ssh node-1 docker load``), tagged and pushed
to the registry at ``127.0.0.1:5000``. The registry keeps images on the shared
volume, so every node then pulls them from its own registry instance.
"""

from __future__ import annotations

from collections.abc import Sequence

from workshop.errors import NotReady, UsageError
from workshop.images import ImageBuild, build_image, ensure_base, tag_inputs_digest
from workshop.images.build import IMAGES_DIR
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab
from workshop.steps.fanout import check_nodes
from workshop.steps.recorder import StepRecorder, headlines
from workshop.steps.registry import (
    nodes_lacking,
    parse_tags_lists,
    push_image,
    registry_up_probe,
    tags_probe,
)
from workshop.steps.report import StepResult
from workshop.steps.stack import REGISTRY
from workshop.steps.swarm import active_manager
from workshop.steps.transfer import send_images

__all__ = ["CHAPTER_IMAGES", "registry_answers", "stack_images", "unserved"]

#: The images of chapter 10's stacks (``tiers``, ``reqrep``).
CHAPTER_IMAGES = ("redis", "counter", "reqrep")
#: Images that are not for stacks: the node box itself.
NOT_FOR_STACKS = ("node",)


def _check_names(names: Sequence[str]) -> None:
    """Every name is an image folder of ``workshop/images`` meant for stacks."""
    choices = sorted(
        p.name
        for p in IMAGES_DIR.iterdir()
        if (p / "Dockerfile").is_file() and p.name not in NOT_FOR_STACKS
    )
    for name in names:
        if name not in choices:
            raise UsageError.choice("image", name, choices)


def registry_answers(lab: RemoteLab, node: str) -> bool:
    """Whether the registry answers at ``127.0.0.1:5000`` on ``node``."""
    return check_nodes(lab, registry_up_probe(10), [node])[node] == "up"


def unserved(tags_lists: str, wanted: dict[str, str]) -> list[str]:
    """Images (name -> tag) that the registry's tag lists do not show at that tag."""
    served = parse_tags_lists(tags_lists)
    return [name for name, tag in wanted.items() if tag not in served.get(name, set())]


def _build(names: Sequence[str], progress: Progress) -> dict[str, ImageBuild]:
    """Build (or reuse) each image here, also tagged with its inputs digest."""
    ensure_base(headlines(progress))
    builds = {}
    for name in names:
        build = build_image(name, f"workshop/{name}:latest", headlines(progress))
        tag_inputs_digest(build, f"workshop/{name}")
        builds[name] = build
    return builds


def stack_images(
    lab: RemoteLab, names: Sequence[str] = CHAPTER_IMAGES, *, progress: Progress = quiet
) -> StepResult:
    """Build images of ``workshop/images`` and push those the lab registry lacks.

    The real commands: ``docker build`` here, ``docker save workshop/redis | ssh
    node-1 docker load``, then on node-1 ``docker tag workshop/redis:<digest>
    127.0.0.1:5000/workshop/redis:latest`` and ``docker push``. An image the
    registry already serves at its current inputs digest is left alone.

    Args:
        lab: The lab.
        names: Image folders of ``workshop/images`` (default: chapter 10's).
        progress: Called with a line of text now and then.

    Raises:
        UsageError: No such image (nothing is changed).
        NotReady: No swarm, or the registry does not answer (run
            ``lab.require("registry")`` first).
        ProviderError: This machine's Docker engine failed.
    """
    _check_names(names)
    manager = active_manager(lab)
    if not registry_answers(lab, manager.name):
        raise NotReady(
            f"the lab registry does not answer at {REGISTRY} on {manager.name}: "
            'run lab.require("registry") first'
        )
    rec = StepRecorder(f"stack_images {' '.join(names)}", progress)
    builds = _build(names, progress)
    tags_lists = check_nodes(lab, tags_probe(names), [manager.name])[manager.name]
    missing = unserved(tags_lists, {name: builds[name].digest for name in names})
    local = [f"workshop/{name}:{builds[name].digest}" for name in missing]
    send = [tag for tag in local if nodes_lacking(lab, [manager.name], [tag])]
    if send:
        rec.say(f"sending {', '.join(send)} to {manager.name} over SSH")
        send_images({manager: send})
        rec.changed(manager.name, f"loaded {', '.join(send)}")
    for name in missing:
        rec.say(f"docker push {REGISTRY}/workshop/{name}:{builds[name].digest} (and :latest)")
        push_image(lab, manager, name, builds[name].digest)
    if missing:
        pushed = ", ".join(f"workshop/{name}:{builds[name].digest}" for name in missing)
        rec.changed(manager.name, f"pushed {pushed} (and :latest) to {REGISTRY}")
    served = ", ".join(f"workshop/{name}" for name in names)
    rec.unchanged(manager.name, f"the registry serves {served} at their current digests")
    return rec.result()
