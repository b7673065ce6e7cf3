"""The Docker engine of this machine, as the steps use it (apt cache, lab images).

Every docker SDK error is turned into a :class:`~workshop.errors.ProviderError`
here, at the edge, naming what the step was doing and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors

from workshop.errors import ProviderError
from workshop.images import ImageBuild

__all__ = ["ENGINE_HINT", "docker_client", "host_docker", "tag_inputs_digest"]

ENGINE_HINT = (
    "Check that this machine's Docker engine runs (`docker info`); "
    "`scripts/engine.sh start` starts the kit's own."
)


@contextmanager
def host_docker(what: str, hint: str = ENGINE_HINT) -> Iterator[None]:
    """Turn docker SDK (and connection) errors inside the block into a ProviderError.

    Args:
        what: What the block does, e.g. ``"start the apt cache container"``.
        hint: What to do when it fails.

    Raises:
        ProviderError: The engine refused or could not be reached.
    """
    try:
        yield
    except (docker.errors.DockerException, OSError) as exc:
        raise ProviderError(f"docker: {what}", None, str(exc), hint=hint) from exc


def docker_client(timeout: int = 120) -> docker.DockerClient:
    """A client of this machine's engine.

    Raises:
        ProviderError: No engine answers.
    """
    with host_docker("connect to this machine's engine"):
        return docker.from_env(timeout=timeout)


def tag_inputs_digest(build: ImageBuild, repository: str) -> str:
    """Tag a built image ``<repository>:<inputs digest>`` too; return that tag.

    Raises:
        ProviderError: The engine could not tag it.
    """
    tag = f"{repository}:{build.digest}"
    with host_docker(f"tag {build.tag} as {tag}"):
        docker_client().images.get(build.tag).tag(repository, build.digest)
    return tag
