"""Chapter 06: the lab registry answers on every node, and images reach every node.

The registry is asked the way the registry step asks it (its ``/v2/<name>/tags/list``
answers on ``127.0.0.1:5000`` of each node); a node's image store through ``docker
image inspect`` (:func:`~workshop.steps.registry.nodes_lacking`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.remote import RemoteLab
from workshop.steps.registry import PUSHED_IMAGES, nodes_lacking, registry_tags
from workshop.steps.stack import REGISTRY

__all__ = ["image_on_nodes", "registry_gaps", "registry_ready"]


def registry_gaps(served: Mapping[str, Mapping[str, set[str]]], tag: str = "latest") -> list[str]:
    """``node (image, ...)`` for each node whose registry does not serve an image at ``tag``.

    Args:
        served: Node -> image -> the tags its registry serves (:func:`registry_tags`).
        tag: The tag every lab image must have.
    """
    gaps = []
    for node, images in served.items():
        missing = [name for name in PUSHED_IMAGES if tag not in images.get(name, set())]
        if missing:
            gaps.append(f"{node} ({', '.join(missing)})")
    return gaps


def registry_ready(lab: RemoteLab) -> CheckResult:
    """The registry answers on every running node and serves the lab's images."""
    images = ", ".join(f"workshop/{name}" for name in PUSHED_IMAGES)
    name = f"the registry at {REGISTRY} serves {images} on every node"
    hint = (
        "`docker stack ps registry`, then `curl -s http://127.0.0.1:5000/v2/_catalog` on the "
        "node; the kit's way: lab.require('registry')"
    )

    def probe() -> CheckResult:
        running = [n.name for n in lab.nodes if n.running]
        gaps = registry_gaps(registry_tags(lab, running))
        if gaps:
            return CheckResult(name, False, f"not served on {', '.join(gaps)}", hint)
        return CheckResult(name, True, f"served on {name_list(running)}")

    return guarded(name, hint, probe)


def image_on_nodes(lab: RemoteLab, image: str, on: str | Iterable[str] = "all") -> CheckResult:
    """Every node of ``on`` has ``image`` (a name with its tag) in its local image store."""
    nodes = [n.name for n in lab.select(on if isinstance(on, str) else list(on))]
    name = f"{image} is in the image store of {name_list(nodes)}"
    hint = f"`docker pull {image}` on each node, then `docker image ls`"

    def probe() -> CheckResult:
        lacking = nodes_lacking(lab, nodes, [image])
        if lacking:
            return CheckResult(name, False, f"missing on {name_list(lacking)}", hint)
        return CheckResult(name, True, f"present on {name_list(nodes)}")

    return guarded(name, hint, probe)
