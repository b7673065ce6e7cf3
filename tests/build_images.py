"""Build every image the test labs share, once, before test runs that go in parallel.

`scripts/run-tests.sh` runs the chapters-alone tests beside the rest; both would
otherwise build the node image, the package cache and the lab's images at the same
moment on a fresh machine. Every build is cached by the digest of its inputs, so a
second call is quick.
"""

from __future__ import annotations

from workshop.images import build_image, ensure_node_image
from workshop.steps.apt import CACHE_IMAGE
from workshop.steps.registry import build_lab_images


def main() -> None:
    """Build the node image, the apt cache image and the images the registry serves."""
    print(f"node image: {ensure_node_image(print).tag}", flush=True)
    print(f"apt cache: {build_image('apt-cache', CACHE_IMAGE, print).tag}", flush=True)
    for name, build in build_lab_images(print).items():
        print(f"{name}: {build.tag} ({build.digest})", flush=True)


if __name__ == "__main__":
    main()
