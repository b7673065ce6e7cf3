"""Stacks are deployed with the lab registry's images pinned to digests (recorded answers).

``stack-digests.json``: the manifest digests node-1's registry gave for demoapp's
images and for chapter 07's ``broken`` stack (whose ``app:v2`` was never pushed).
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from tests.unit.fakes import (
    Handler,
    RecordedReader,
    SwarmRemote,
    on,
    recording,
    swarm_lab,
    swarm_recording,
)
from workshop.steps.stack import digests_probe, parse_digests, stack_deploy
from workshop.steps.stackfile import load_stack

WEB = "sha256:b0d4250de90fca21653f3725225366e8d6692fc009981e504d7644bd7c4c4b01"
APP = "sha256:84ba86750edaad7b330e97e562a8a74d8558701e89665185c1f6eb99ffc15ca8"


def _answer() -> str:
    (answer,) = recording("stack-digests")
    return str(answer["stdout"])


def test_the_registry_answers_a_digest_for_each_pushed_tag_and_none_for_a_missing_one() -> None:
    (answer,) = recording("stack-digests")
    images = ["workshop/web:latest", "workshop/app:latest", "workshop/app:v2"]
    assert answer["command"] == digests_probe(images)
    assert parse_digests(answer["stdout"]) == {
        "workshop/web:latest": WEB,
        "workshop/app:latest": APP,
    }
    assert parse_digests("workshop/web:latest 000 \n") == {}  # the registry did not answer


def test_a_pinned_stack_names_each_lab_image_by_digest_and_still_reads_as_yaml() -> None:
    demoapp = load_stack("demoapp")
    assert demoapp.lab_images == ["workshop/web:latest", "workshop/app:latest"]
    pinned = demoapp.pinned(parse_digests(_answer()))
    assert f"image: ${{REGISTRY}}/workshop/web@{WEB}  # workshop/web:latest" in pinned.text
    services = yaml.safe_load(pinned.text)["services"]
    assert services["app"]["image"] == f"${{REGISTRY}}/workshop/app@{APP}"
    assert pinned.services == demoapp.services and pinned.files == demoapp.files
    assert pinned.digest({}) != demoapp.digest({})  # a new digest means a new deploy


def test_an_image_the_registry_lacks_keeps_its_tag() -> None:
    broken = load_stack("broken").pinned(parse_digests(_answer()))
    images = {name: s["image"] for name, s in yaml.safe_load(broken.text)["services"].items()}
    assert images == {
        "app": "${REGISTRY}/workshop/app:v2",
        "web": f"${{REGISTRY}}/workshop/web@{WEB}",
    }


class _KeepingRemote(SwarmRemote):
    """Keeps the text of each file written, too."""

    def __init__(self, handlers: Sequence[Handler]) -> None:
        super().__init__(handlers)
        self.texts: dict[str, str] = {}

    def put_text(self, node, text, path, *, sudo=False, mode="0644") -> None:
        super().put_text(node, text, path, sudo=sudo, mode=mode)
        self.texts[path] = text


def test_stack_deploy_writes_the_pinned_file_and_never_resolves_images() -> None:
    handlers = [
        on("findmnt", swarm_recording("findmnt-shared-steps.txt")),
        on("ip_vs", swarm_recording("ipvs-probe-steps.txt")),
        on("manifests", _answer()),
    ]
    lab, _ = swarm_lab([])
    remote = _KeepingRemote(handlers)
    lab.remote = remote
    result = stack_deploy(lab, "helloworld", reader=RecordedReader(lab), wait=False)
    assert result.changed
    (deploy,) = remote.matching("docker stack deploy")
    assert "--resolve-image never" in deploy
    written = remote.texts["/mnt/swarm-data/stacks/helloworld.yml"]
    image = yaml.safe_load(written)["services"]["hello"]["image"]
    assert image == f"${{REGISTRY}}/workshop/web@{WEB}"
