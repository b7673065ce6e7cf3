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
)

__all__ = [
    "BASE_IMAGE",
    "NODE_IMAGE",
    "ImageBuild",
    "build_image",
    "ensure_base",
    "ensure_node_image",
    "image_inputs_digest",
]
