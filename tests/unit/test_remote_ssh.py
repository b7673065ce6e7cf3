"""What paramiko and Fabric raise becomes the kit's errors at the SSH edge.

A real SSH server on loopback (paramiko's server side) refuses logins, channels and
files; what it cannot provoke (a changed host key, a full disk's errno) comes from a
stand-in connection that raises paramiko's and the OS's own exceptions.
"""

from __future__ import annotations

import paramiko
import pytest

from tests.unit.fakes import (
    FakeConnection,
    LoopbackSSHServer,
    closed_port,
    disk_full,
    loopback_node,
    rsa_key,
    write_client_key,
)
from workshop.errors import (
    CommandFailed,
    HostKeyRejected,
    NodeUnreachable,
    SSHAuthFailed,
    UploadFailed,
)
from workshop.remote.ssh import Remote, connect


@pytest.fixture
def key_file(tmp_path):
    return write_client_key(tmp_path)


def test_no_answer_is_unreachable_in_a_result_and_raised_by_an_upload(key_file):
    node = loopback_node(closed_port(), key_file)
    remote = Remote(connect_timeout=2)
    result = remote.run_one(node, "true")
    assert result.unreachable and result.rc is None
    assert result.error.startswith("no SSH answer (ssh lab@127.0.0.1:")
    with pytest.raises(NodeUnreachable) as info:
        remote.put_text(node, "x", "/etc/x")
    assert type(info.value) is NodeUnreachable
    assert "`workshop status`" in str(info.value)


def test_a_refused_key_is_an_auth_failure_naming_user_key_and_fix(key_file):
    with LoopbackSSHServer(login=False) as server:
        node = loopback_node(server.port, key_file)
        remote = Remote(connect_timeout=5)
        with pytest.raises(SSHAuthFailed) as info:
            remote.put_text(node, "x", "/etc/x")
        result = remote.run_one(node, "true")
    message = str(info.value)
    assert "refused the SSH login" in message and "lab@127.0.0.1" in message
    assert f"with key {key_file}: the node did not accept the key." in message
    assert "authorized_keys" in message
    assert isinstance(info.value, NodeUnreachable)
    assert result.unreachable and "refused the SSH login" in result.error
    assert key_file in result.error and "authorized_keys" in result.error
    assert "no SSH answer" not in result.error
    assert server.commands == []


def test_a_connection_of_its_own_is_classified_the_same_way(key_file):
    with LoopbackSSHServer(login=False) as server, pytest.raises(SSHAuthFailed) as info:
        connect(loopback_node(server.port, key_file))
    assert "the node did not accept the key" in str(info.value)
    with LoopbackSSHServer() as server:
        conn = connect(loopback_node(server.port, key_file))
        assert conn.is_connected
        conn.close()


def test_a_missing_key_file_is_named(tmp_path):
    missing = str(tmp_path / "no_such_key")
    with LoopbackSSHServer() as server:
        result = Remote().run_one(loopback_node(server.port, missing), "true")
    assert result.unreachable and "refused the SSH login" in result.error
    assert f"the key file {missing} cannot be used ([Errno 2] No such file" in result.error


def test_authentication_exception_before_any_handshake_is_still_an_auth_failure():
    refused = paramiko.AuthenticationException("Authentication failed.")
    remote = Remote(connection=FakeConnection.factory(on_open=refused))
    with pytest.raises(SSHAuthFailed) as info:
        remote.put_text(loopback_node(2222), "x", "/etc/x")
    assert "with the SSH agent's keys and ~/.ssh/id_*" in str(info.value)


def test_a_changed_host_key_says_so_and_how_to_forget_the_old_one():
    changed = paramiko.BadHostKeyException("127.0.0.1", rsa_key(), paramiko.RSAKey.generate(1024))
    remote = Remote(connection=FakeConnection.factory(on_open=changed, answered=True))
    node = loopback_node(2222)
    with pytest.raises(HostKeyRejected) as info:
        remote.put_text(node, "x", "/etc/x")
    assert "host key" in str(info.value) and "ssh-keygen -R" in str(info.value)
    result = remote.run_one(node, "true")
    assert result.unreachable and "ssh-keygen -R" in result.error


def test_a_refused_channel_is_a_lost_connection_not_an_exception(key_file):
    with LoopbackSSHServer(channels=False) as server:
        result = Remote().run_one(loopback_node(server.port, key_file), "true")
    assert result.unreachable and result.rc is None
    assert result.error.startswith("connection lost (ssh lab@127.0.0.1:")
    assert "Administratively prohibited" in result.error


def test_a_connection_dropped_mid_command_has_no_exit_code(key_file):
    with LoopbackSSHServer(on_exec="drop") as server:
        result = Remote().run_one(loopback_node(server.port, key_file), "sleep 60")
    assert result.rc is None and not result.unreachable
    assert "connection lost while the command ran" in result.error
    with pytest.raises(CommandFailed) as info:
        result.raise_for_failure()
    assert "no exit code" in str(info.value) and "connection lost" in str(info.value)
    assert server.commands == ["sleep 60"]


def test_a_file_the_node_refuses_names_node_path_and_the_usual_cause(key_file):
    with LoopbackSSHServer() as server, pytest.raises(UploadFailed) as info:
        Remote().put_text(loopback_node(server.port, key_file), "x", "/srv/app.conf")
    error = info.value
    assert (error.node, error.path, error.reason) == ("node-1", "/srv/app.conf", "Failure")
    assert str(error).startswith("writing /srv/app.conf on node-1 failed: Failure.")
    assert "full disk" in str(error) and "df -h /srv" in str(error)


def test_a_failed_upload_as_root_removes_its_temporary_file(key_file):
    with LoopbackSSHServer() as server:
        node = loopback_node(server.port, key_file)
        with pytest.raises(UploadFailed) as info:
            Remote().put_text(node, "x", "/etc/app.conf", sudo=True)
    tmp = info.value.path
    assert tmp.startswith("/tmp/.workshop-upload-app.conf-")
    assert server.commands == [f"rm -f {tmp}"]


def test_a_full_disk_says_so():
    made: list[FakeConnection] = []
    remote = Remote(connection=FakeConnection.factory(made, on_put=disk_full()))
    with pytest.raises(UploadFailed) as info:
        remote.put_text(loopback_node(2222), "x", "/etc/app.conf", sudo=True)
    assert "No space left on device" in str(info.value)
    assert "disk is full" in str(info.value) and "df -h /tmp" in str(info.value)
    assert [c.split()[:2] for c in made[0].commands] == [["rm", "-f"]]


def test_an_upload_as_root_removes_its_temporary_file_even_when_install_fails():
    made: list[FakeConnection] = []
    remote = Remote(connection=FakeConnection.factory(made))
    remote.put_text(loopback_node(2222), "x", "/etc/app.conf", sudo=True)
    (line,) = made[0].commands
    install, removal = line.split("; status=$?; ")
    assert "install -D -m 0644 /tmp/.workshop-upload-app.conf-" in install
    assert removal.startswith("rm -f /tmp/.workshop-upload-app.conf-")
