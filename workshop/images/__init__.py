"""Images the lab is made of: the node box and the stack images, built locally."""

from __future__ import annotations

from workshop.images.build import (
    BASE_IMAGE,
    NODE_IMAGE,
    ImageBuild,
    build_image,
    ensure_base,
    ensure_node_image,
    image_inputs_digest,
    tag_inputs_digest,
)
from workshop.images.engine import START_ENGINE, engine_client, engine_errors

__all__ = [
    "BASE_IMAGE",
    "NODE_IMAGE",
    "START_ENGINE",
    "ImageBuild",
    "build_image",
    "engine_client",
    "engine_errors",
    "ensure_base",
    "ensure_node_image",
    "image_inputs_digest",
    "tag_inputs_digest",
]
