"""Stack definitions: the stacks shipped in ``workshop/stacks/``, or a file of your own.

A shipped stack is a folder ``workshop/stacks/<name>/`` with a ``stack.yml`` and,
optionally, a ``files/`` folder that is copied to the shared volume
(``/mnt/swarm-data/<name>/``) before the stack is deployed. Stack files may use
``${SHARED}``, ``${REGISTRY}`` and ``${PUBLISH_MODE}``, filled in at deploy time.
Everything here is checked on this machine, before the cluster is touched.

Images of the lab registry are named by tag in the files (``${REGISTRY}/workshop/
web:latest``, easy to read); :meth:`StackDefinition.pinned` gives the text that is
deployed, where each of them is named by its digest instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from workshop.errors import UsageError

__all__ = ["STACKS_DIR", "StackDefinition", "load_stack", "shipped_stacks"]

STACKS_DIR = Path(__file__).resolve().parents[1] / "stacks"
STACK_FILE = "stack.yml"
FILES_DIR = "files"
_STACK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}")
#: An ``image:`` line naming an image of the lab registry by its tag.
_LAB_IMAGE_LINE = re.compile(
    r"^(?P<key>[ \t]*image:[ \t]*)(?P<quote>[\"']?)(?P<registry>\$\{REGISTRY\}|127\.0\.0\.1:5000)/"
    r"(?P<name>[a-z0-9][a-z0-9._/-]*):(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127})(?P=quote)[ \t]*$",
    re.MULTILINE,
)


def shipped_stacks() -> list[str]:
    """Names of the stacks shipped with the kit."""
    if not STACKS_DIR.is_dir():
        return []
    return sorted(p.name for p in STACKS_DIR.iterdir() if (p / STACK_FILE).is_file())


@dataclass(frozen=True)
class StackDefinition:
    """A validated stack: its name, compose text, services and files for the shared volume.

    Attributes:
        name: The stack's name in the swarm.
        path: The stack file.
        text: The stack file's text.
        services: Service names as written in the file (without the stack prefix).
        files: Relative path -> content, to copy under ``<shared>/<name>/``.
    """

    name: str
    path: Path
    text: str
    services: tuple[str, ...]
    files: Mapping[str, bytes]

    @property
    def service_names(self) -> list[str]:
        """Service names in the swarm: ``<stack>_<service>``."""
        return [f"{self.name}_{service}" for service in self.services]

    @property
    def lab_images(self) -> list[str]:
        """The lab registry's images the file names by tag (``workshop/web:latest``), once each."""
        found = (f"{m['name']}:{m['tag']}" for m in _LAB_IMAGE_LINE.finditer(self.text))
        return list(dict.fromkeys(found))

    def pinned(self, digests: Mapping[str, str]) -> StackDefinition:
        """This stack with each lab image named by its digest, as it is deployed.

        ``image: ${REGISTRY}/workshop/web:latest`` becomes ``image:
        ${REGISTRY}/workshop/web@sha256:...``, with the tag it stood for in a comment.
        A task then runs exactly that image on every node, whatever is pushed as
        ``latest`` later. An image without a digest in ``digests`` keeps its tag.

        Args:
            digests: ``workshop/web:latest`` -> ``sha256:...``.
        """

        def pin(match: re.Match[str]) -> str:
            image = f"{match['name']}:{match['tag']}"
            digest = digests.get(image)
            if digest is None:
                return match.group(0)
            return f"{match['key']}{match['registry']}/{match['name']}@{digest}  # {image}"

        return replace(self, text=_LAB_IMAGE_LINE.sub(pin, self.text))

    def digest(self, env: Mapping[str, str]) -> str:
        """A digest of everything that goes into a deployment."""
        h = hashlib.sha256(self.text.encode())
        for rel, content in sorted(self.files.items()):
            h.update(rel.encode() + b"\0" + content + b"\0")
        for key, value in sorted(env.items()):
            h.update(f"{key}={value}\0".encode())
        return h.hexdigest()[:16]


def _check_name(name: str) -> str:
    if not _STACK_NAME.fullmatch(name):
        raise UsageError(
            f"stack name {name!r} is not valid: use a-z, 0-9, '-' and '_', starting with a "
            "letter or digit"
        )
    return name


def _parse(path: Path, text: str) -> tuple[str, ...]:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"stack file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise UsageError(
            f"stack file {path} must be a compose file with a 'services:' mapping "
            "(see workshop/stacks/helloworld/stack.yml)"
        )
    services = data["services"]
    if not services:
        raise UsageError(f"stack file {path} defines no services")
    for service, spec in services.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("image"), str):
            raise UsageError(f"stack file {path}: service {service!r} needs an 'image:'")
    return tuple(str(s) for s in services)


def load_stack(stack: str | Path, name: str | None = None) -> StackDefinition:
    """Find and check a stack: a shipped stack's name, or the path of a stack file.

    Args:
        stack: ``"demoapp"``, ``"helloworld"``, ``"lb"`` ... or a path to a compose file.
        name: The stack's name in the swarm (default: the shipped name, or the
            file's name without its extension).

    Returns:
        The validated definition.

    Raises:
        UsageError: No such stack or file, the file is not a compose file with
            services and images, or the name is not valid.
    """
    text_form = str(stack)
    shipped = shipped_stacks()
    if isinstance(stack, str) and text_form in shipped:
        folder = STACKS_DIR / text_form
        path = folder / STACK_FILE
        default_name = text_form
    else:
        path = Path(stack).expanduser()
        looks_like_path = (
            isinstance(stack, Path) or "/" in text_form or text_form.endswith((".yml", ".yaml"))
        )
        if not looks_like_path or not path.is_file():
            what = (
                f"stack file {text_form!r} does not exist"
                if looks_like_path
                else (f"unknown stack {text_form!r}")
            )
            raise UsageError(
                f"{what}; choose a shipped stack ({', '.join(shipped) or 'none'}) "
                "or give the path of a compose file"
            )
        folder = path.parent
        default_name = path.stem if path.stem != "stack" else path.parent.name
    stack_name = _check_name(name or default_name.lower())
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"stack file {path} cannot be read: {exc}") from exc
    services = _parse(path, text)
    files: dict[str, bytes] = {}
    files_dir = folder / FILES_DIR
    if files_dir.is_dir() and path.name == STACK_FILE:
        for item in sorted(files_dir.rglob("*")):
            if item.is_file() and "__pycache__" not in item.parts:
                files[item.relative_to(files_dir).as_posix()] = item.read_bytes()
    return StackDefinition(stack_name, path, text, services, files)
