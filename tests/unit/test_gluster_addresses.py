"""Only IP addresses reach /etc/hosts on the nodes (and gluster's auth.allow).

An inventory's addresses are checked when it is read; the step that writes them as
root checks again, before it changes anything, whatever source the lab came from.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.fakes import RECORDED_NODES, recorded_lab, recording
from workshop.errors import UsageError
from workshop.steps.gluster import gluster_volume


@pytest.mark.parametrize(
    "address",
    ["192.168.60.13\n6.6.6.6 evil.example", "node-3.lab.example", "fe80::3%eth0\n6.6.6.6 x"],
)
def test_a_lab_address_that_is_not_an_ip_is_refused_before_anything_changes(address):
    nodes = [*RECORDED_NODES[:2], replace(RECORDED_NODES[2], address=address)]
    lab, remote = recorded_lab(recording("gluster-in-place"), nodes=nodes)
    with pytest.raises(UsageError) as caught:
        gluster_volume(lab)
    assert f"node-3's lab address {address!r} is not an IP address" in str(caught.value)
    assert "`address:`" in str(caught.value)
    assert remote.commands == [] and remote.files == []


def test_ip_addresses_are_taken():
    lab, remote = recorded_lab(recording("gluster-in-place"))
    assert not gluster_volume(lab).changed
    assert remote.files == []
