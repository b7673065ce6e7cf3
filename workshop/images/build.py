"""Build the lab's images locally, cached by the digest of their inputs.

No registry is needed: the base is `debian:bookworm` where Docker Hub answers, and
otherwise a Debian root made by debootstrap and imported into Docker. Every image
carries the digest of its build inputs as a label; an image whose label matches is
reused as it is, so a build runs only after its Dockerfile or files change.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from workshop.errors import ProviderError

IMAGES_DIR = Path(__file__).resolve().parent
BASE_IMAGE = "workshop/debian:bookworm"
NODE_IMAGE = "workshop/node:bookworm"
INPUTS_LABEL = "workshop.inputs"
SUITE = "bookworm"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default progress sink: say nothing."""


@dataclass(frozen=True)
class ImageBuild:
    """What `ensure_*` did for one image."""

    tag: str
    digest: str
    built: bool

    def __str__(self) -> str:
        return f"{self.tag}: {'built' if self.built else 'up to date'} (inputs {self.digest})"


def image_inputs_digest(context: Path, *extra: str) -> str:
    """Digest of every file under `context` (names and bytes) plus `extra` strings."""
    h = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(context).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()[:16]


def _client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        raise ProviderError(
            command="docker info",
            rc=None,
            stderr=f"{exc}. Start an engine with `scripts/engine.sh start` or `make setup`.",
        ) from exc
    return client


def _label(client: docker.DockerClient, tag: str) -> str | None:
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels: dict[str, str] = image.labels or {}
    return labels.get(INPUTS_LABEL, "")


def _run(cmd: list[str], progress: Progress, **kwargs: object) -> None:
    progress(f"$ {shlex.join(cmd)}")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise ProviderError(command=shlex.join(cmd), rc=proc.returncode, stderr=proc.stderr)


def _as_root(cmd: list[str]) -> list[str]:
    return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]


def _debootstrap_base(client: docker.DockerClient, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise ProviderError(
            command="debootstrap",
            rc=None,
            stderr="debootstrap is not installed and Docker Hub cannot be reached. "
            "Run `make setup` (it installs debootstrap) and try again.",
        )
    root = Path(tempfile.mkdtemp(prefix="workshop-debootstrap-", dir="/var/tmp"))
    try:
        progress(f"Making a Debian {SUITE} root with debootstrap (about half a minute)")
        _run(
            _as_root(["debootstrap", "--variant=minbase", SUITE, str(root)]), progress, timeout=900
        )
        # Package lists and downloaded .debs are not needed in the image (every
        # Dockerfile runs apt-get update): leaving them out makes every image smaller.
        clean = [
            "sh",
            "-c",
            'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/archives/*.deb',
            "sh",
        ]
        _run(_as_root([*clean, str(root)]), progress)
        progress(f"Importing it into Docker as {BASE_IMAGE}")
        tar = subprocess.Popen(
            _as_root(["tar", "-C", str(root), "-c", "."]), stdout=subprocess.PIPE
        )
        assert tar.stdout is not None
        client.api.import_image_from_stream(tar.stdout, repository=BASE_IMAGE)
        if tar.wait() != 0:
            raise ProviderError(command="tar -c | docker import", rc=tar.returncode, stderr="")
    finally:
        subprocess.run(_as_root(["rm", "-rf", str(root)]), check=False)


def ensure_base(progress: Progress = _quiet) -> ImageBuild:
    """Make sure the Debian base image exists: pulled where possible, else debootstrapped."""
    client = _client()
    if _label(client, BASE_IMAGE) is not None:
        return ImageBuild(BASE_IMAGE, "", built=False)
    try:
        progress(f"Pulling debian:{SUITE}")
        image = client.images.pull("debian", tag=SUITE)
        image.tag(BASE_IMAGE)
    except docker.errors.APIError as exc:
        progress(f"No registry answers ({str(exc).splitlines()[0][:120]}); using debootstrap")
        _debootstrap_base(client, progress)
    return ImageBuild(BASE_IMAGE, "", built=True)


def _build_log(stream: Iterator[dict[str, object]], progress: Progress) -> None:
    for chunk in stream:
        if "error" in chunk:
            raise ProviderError(command="docker build", rc=None, stderr=str(chunk["error"]))
        line = str(chunk.get("stream", "")).rstrip()
        if line:
            progress(line)


def build_image(
    name: str, tag: str, progress: Progress = _quiet, force: bool = False
) -> ImageBuild:
    """Build `workshop/images/<name>` FROM the base image, unless already up to date."""
    context = IMAGES_DIR / name
    if not (context / "Dockerfile").is_file():
        choices = sorted(p.name for p in IMAGES_DIR.iterdir() if (p / "Dockerfile").is_file())
        raise ProviderError(
            command=f"build {name}",
            rc=None,
            stderr=f"No image named {name!r}; choose from {choices}.",
        )
    client = _client()
    base = client.images.get(BASE_IMAGE).id
    digest = image_inputs_digest(context, base)
    if not force and _label(client, tag) == digest:
        return ImageBuild(tag, digest, built=False)
    progress(f"Building {tag} from {context.relative_to(IMAGES_DIR.parent.parent)}")
    stream = client.api.build(
        path=str(context),
        tag=tag,
        buildargs={"BASE": BASE_IMAGE},
        labels={INPUTS_LABEL: digest, "workshop.image": name},
        rm=True,
        forcerm=True,
        decode=True,
    )
    _build_log(stream, progress)
    return ImageBuild(tag, digest, built=True)


def ensure_node_image(progress: Progress = _quiet) -> ImageBuild:
    """The node box for Vagrant's docker provider, built only when its inputs changed."""
    ensure_base(progress)
    return build_image("node", NODE_IMAGE, progress)
