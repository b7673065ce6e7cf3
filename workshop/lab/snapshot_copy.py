"""Copying a node's volumes on the engine, in throwaway containers, and running per node.

A snapshot's volumes are copies of the node's (``save``), copied back (``restore``),
by a container of the node's image that mounts both, with no network: nothing is
fetched. A Ctrl-C may leave such a container behind; it carries
:data:`WORKER_LABEL` and the lab's ``workshop.lab`` label, so the next save or
restore (or `workshop up`, which clears the lab's leftovers) removes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

import docker
import docker.errors

from workshop.errors import NotReady

__all__ = [
    "COPY_TIMEOUT",
    "WORKER_LABEL",
    "copy_volumes",
    "parallel",
    "remove_workers",
    "volume_sources",
]

#: Seconds one node's volumes may take to be copied.
COPY_TIMEOUT = 900
#: Containers that copy volumes carry it (a Ctrl-C may leave one: the next run removes it).
WORKER_LABEL = "workshop.snapshot.worker"
T = TypeVar("T")

# For each /from/N, /to/N pair: empty the target, copy with owners, modes, times,
# hard links and extended attributes (Gluster keeps its ids in trusted.* xattrs: a
# failure to copy one is an error), then print the bytes copied.
_COPY = (
    'set -e; total=0; for from in /from/*; do to="/to/${from##*/}"; '
    'find "$to" -mindepth 1 -delete; cp -a --preserve=xattr "$from/." "$to/"; '
    'total=$((total + $(du -sb "$to" | cut -f1))); done; echo "$total"'
)


def parallel(names: Sequence[str], work: Callable[[str], T]) -> dict[str, T]:
    """``work(name)`` for every name at once; the first failure is raised once all ended."""
    with ThreadPoolExecutor(max_workers=max(len(names), 1)) as pool:
        futures = {name: pool.submit(work, name) for name in names}
        return {name: future.result() for name, future in futures.items()}


def remove_workers(client: docker.DockerClient, lab: str) -> None:
    for worker in client.containers.list(all=True, filters={"label": f"{WORKER_LABEL}={lab}"}):
        with suppress(docker.errors.NotFound):
            worker.remove(force=True)


def copy_volumes(
    client: docker.DockerClient, lab: str, image: str, pairs: Sequence[tuple[str, str]]
) -> int:
    """Copy volume contents ``(from, to)`` in a throwaway container; the bytes copied."""
    mounts = {}
    for index, (src, dst) in enumerate(pairs):
        mounts[src] = {"bind": f"/from/{index}", "mode": "ro"}
        mounts[dst] = {"bind": f"/to/{index}", "mode": "rw"}
    worker = client.containers.run(
        image,
        ["sh", "-c", _COPY],
        entrypoint=[],
        detach=True,
        network_mode="none",
        cap_add=["SYS_ADMIN"],  # trusted.* extended attributes (Gluster's)
        volumes=mounts,
        labels={WORKER_LABEL: lab, "workshop.lab": lab},
    )
    try:
        status = worker.wait(timeout=COPY_TIMEOUT)
        output = worker.logs().decode("utf-8", "replace").strip()
    finally:
        with suppress(docker.errors.NotFound):
            worker.remove(force=True)
    if status.get("StatusCode") != 0:
        raise NotReady(f"copying volumes {', '.join(s for s, _ in pairs)} failed: {output[-400:]}")
    return int(output.splitlines()[-1]) if output else 0


def volume_sources(container: Any) -> list[str]:
    mounts = container.attrs.get("Mounts") or []
    return [m["Name"] for m in mounts if m.get("Type") == "volume" and m.get("Name")]
