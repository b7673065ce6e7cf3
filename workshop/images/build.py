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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from workshop.errors import EngineError, ProviderError, UsageError
from workshop.images.engine import engine_client, engine_errors
from workshop.progress import Progress
from workshop.progress import quiet as _quiet

IMAGES_DIR = Path(__file__).resolve().parent
BASE_IMAGE = "workshop/debian:bookworm"
NODE_IMAGE = "workshop/node:bookworm"
INPUTS_LABEL = "workshop.inputs"
SUITE = "bookworm"

_DEBOOTSTRAP_HINT = (
    "Making the Debian base needs root (or password-less sudo), debootstrap "
    "(`make setup` installs it) and about 1 GB free under /var/tmp."
)


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
    """A client whose calls may take as long as a build does."""
    return engine_client(timeout=600)


def _label(client: docker.DockerClient, tag: str) -> str | None:
    """The inputs digest an image carries; None when there is no such image."""
    with engine_errors(f"reading the image {tag}"):
        try:
            image = client.images.get(tag)
        except docker.errors.ImageNotFound:
            return None
    labels: dict[str, str] = image.labels or {}
    return labels.get(INPUTS_LABEL, "")


def _run(cmd: list[str], progress: Progress, timeout: float = 300) -> None:
    progress(f"$ {shlex.join(cmd)}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProviderError(cmd, None, str(exc), hint=_DEBOOTSTRAP_HINT) from exc
    if proc.returncode != 0:
        raise ProviderError(cmd, proc.returncode, proc.stderr, hint=_DEBOOTSTRAP_HINT)


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
    try:
        root = Path(tempfile.mkdtemp(prefix="workshop-debootstrap-", dir="/var/tmp"))
    except OSError as exc:
        raise ProviderError("mktemp -d /var/tmp", None, str(exc), hint=_DEBOOTSTRAP_HINT) from exc
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
        _import_root(client, root)
    finally:
        subprocess.run(_as_root(["rm", "-rf", str(root)]), check=False)


def _import_root(client: docker.DockerClient, root: Path) -> None:
    """`tar -c ROOT | docker import - BASE_IMAGE`, through the engine's API."""
    tar = subprocess.Popen(_as_root(["tar", "-C", str(root), "-c", "."]), stdout=subprocess.PIPE)
    assert tar.stdout is not None
    try:
        with engine_errors(f"importing the Debian root as {BASE_IMAGE}"):
            client.api.import_image_from_stream(tar.stdout, repository=BASE_IMAGE)
    finally:
        tar.stdout.close()
        rc = tar.wait()
    if rc != 0:
        raise ProviderError(command="tar -c | docker import", rc=rc, stderr="")


def ensure_base(progress: Progress = _quiet) -> ImageBuild:
    """Make sure the Debian base image exists: pulled where possible, else debootstrapped."""
    client = _client()
    if _label(client, BASE_IMAGE) is not None:
        return ImageBuild(BASE_IMAGE, "", built=False)
    progress(f"Pulling debian:{SUITE}")
    with engine_errors(f"pulling debian:{SUITE}"):
        try:
            client.images.pull("debian", tag=SUITE).tag(BASE_IMAGE)
            pulled = True
        except docker.errors.APIError as exc:  # no registry answers: offline is fine
            progress(f"No registry answers ({str(exc).splitlines()[0][:120]}); using debootstrap")
            pulled = False
    if not pulled:
        _debootstrap_base(client, progress)
    return ImageBuild(BASE_IMAGE, "", built=True)


def _build_log(stream: Iterator[dict[str, object]], tag: str, progress: Progress) -> None:
    for chunk in stream:
        if "error" in chunk:
            raise EngineError(
                f"building {tag}",
                f"the build stopped: {chunk['error']}",
                hint="The build's progress lines (`workshop up -v`) show the step that failed.",
            )
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
        raise UsageError.choice("image", name, choices)
    client = _client()
    with engine_errors(f"reading the base image {BASE_IMAGE}"):
        base = client.images.get(BASE_IMAGE).id
    digest = image_inputs_digest(context, base)
    if not force and _label(client, tag) == digest:
        return ImageBuild(tag, digest, built=False)
    progress(f"Building {tag} from {context.relative_to(IMAGES_DIR.parent.parent)}")
    with engine_errors(f"building {tag}"):
        stream = client.api.build(
            path=str(context),
            tag=tag,
            buildargs={"BASE": BASE_IMAGE},
            labels={INPUTS_LABEL: digest, "workshop.image": name},
            rm=True,
            forcerm=True,
            decode=True,
        )
        _build_log(stream, tag, progress)
    return ImageBuild(tag, digest, built=True)


def ensure_node_image(progress: Progress = _quiet) -> ImageBuild:
    """The node box for Vagrant's docker provider, built only when its inputs changed."""
    ensure_base(progress)
    return build_image("node", NODE_IMAGE, progress)


def tag_inputs_digest(build: ImageBuild, repository: str, tag: str | None = None) -> str:
    """Tag a built image ``<repository>:<tag>`` too (default tag: its inputs digest).

    Returns:
        The new name, ``<repository>:<tag>``.

    Raises:
        EngineError: The engine could not tag it.
    """
    tag = tag or build.digest
    with engine_errors(f"tagging {build.tag} as {repository}:{tag}"):
        engine_client().images.get(build.tag).tag(repository, tag)
    return f"{repository}:{tag}"
