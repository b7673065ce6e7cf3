"""What paramiko and Fabric raise becomes the kit's errors at the SSH edge.

A real SSH server on loopback (paramiko's server side) refuses logins, channels and
files, and a relay in front of it can freeze as a hung node does; what they cannot
provoke (a full disk's errno, a command without an exit status) comes from a
stand-in connection that raises or answers as paramiko and Fabric do.
"""

from __future__ import annotations

import shlex

import paramiko
import pytest

from tests.unit.fakes import (
    CheckedFakeConnection,
    FreezingProxy,
    LoopbackSSHServer,
    closed_port,
    disk_full,
    loopback_node,
    trusted_node,
    write_client_key,
)
from workshop.errors import (
    CommandFailed,
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


def test_a_refused_key_is_an_auth_failure_naming_user_key_and_fix(key_file, tmp_path):
    with LoopbackSSHServer(login=False) as server:
        node = trusted_node(server.port, key_file, tmp_path)
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


def test_a_connection_of_its_own_is_classified_the_same_way(key_file, tmp_path):
    with LoopbackSSHServer(login=False) as server, pytest.raises(SSHAuthFailed) as info:
        connect(trusted_node(server.port, key_file, tmp_path))
    assert "the node did not accept the key" in str(info.value)
    with LoopbackSSHServer() as server:
        conn = connect(trusted_node(server.port, key_file, tmp_path))
        assert conn.is_connected
        conn.close()


def test_a_missing_key_file_is_named(tmp_path):
    missing = str(tmp_path / "no_such_key")
    with LoopbackSSHServer() as server:
        result = Remote().run_one(trusted_node(server.port, missing, tmp_path), "true")
    assert result.unreachable and "refused the SSH login" in result.error
    assert f"the key file {missing} cannot be used ([Errno 2] No such file" in result.error


def test_authentication_exception_before_any_handshake_is_still_an_auth_failure():
    refused = paramiko.AuthenticationException("Authentication failed.")
    remote = Remote(connection=CheckedFakeConnection.factory(on_open=refused))
    with pytest.raises(SSHAuthFailed) as info:
        remote.put_text(loopback_node(2222), "x", "/etc/x")
    assert "with the SSH agent's keys and ~/.ssh/id_*" in str(info.value)


def test_a_refused_channel_is_a_lost_connection_not_an_exception(key_file, tmp_path):
    with LoopbackSSHServer(channels=False) as server:
        result = Remote().run_one(trusted_node(server.port, key_file, tmp_path), "true")
    assert result.unreachable and result.rc is None
    assert result.error.startswith("connection lost (ssh lab@127.0.0.1:")
    assert "Administratively prohibited" in result.error


def test_a_connection_dropped_mid_command_has_no_exit_code(key_file, tmp_path):
    with LoopbackSSHServer(on_exec="drop") as server:
        result = Remote().run_one(trusted_node(server.port, key_file, tmp_path), "sleep 60")
    assert result.rc is None and not result.unreachable
    assert "connection lost while the command ran" in result.error
    with pytest.raises(CommandFailed) as info:
        result.raise_for_failure()
    assert "no exit code" in str(info.value) and "connection lost" in str(info.value)
    (line,) = server.commands
    assert shlex.split(line)[:3] == ["sh", "-c", "sleep 60\nexit $?"]


@pytest.mark.parametrize(
    ("connected", "said"),
    [
        (False, "connection lost while the command ran"),
        (True, "the command ended without an exit status"),
    ],
)
def test_a_command_without_exit_status_is_never_a_bare_exit_code(connected, said):
    made: list[CheckedFakeConnection] = []
    remote = Remote(connection=CheckedFakeConnection.factory(made, exited=-1))
    remote.run_one(loopback_node(2222), "true")  # opens the connection
    made[0].run = lambda *args, **kwargs: (  # type: ignore[method-assign]
        setattr(made[0], "is_connected", connected) or made[0].answer
    )
    result = remote.run_one(loopback_node(2222), "apt-get install -y docker.io")
    assert result.rc is None and result.failed
    assert result.error.startswith(said) and "ssh lab@127.0.0.1:2222" in result.error


@pytest.fixture
def frozen(key_file, tmp_path):
    """A remote whose connection to node-1 is open, and node-1 frozen under it."""
    remote = Remote(connect_timeout=1)
    with LoopbackSSHServer() as server, FreezingProxy(server.port) as proxy:
        node = trusted_node(proxy.port, key_file, tmp_path)
        assert remote.run_one(node, "true").succeeded
        proxy.freeze()
        yield remote, node


def test_a_frozen_node_on_a_reused_connection_is_reported_not_waited_for(frozen):
    remote, node = frozen
    result = remote.run_one(node, "true", timeout=3)
    assert result.failed and result.rc is None
    assert result.error.startswith("connection lost: node-1 stopped answering (nothing in 1 s")


def test_an_upload_to_a_frozen_node_is_reported_not_waited_for(frozen):
    remote, node = frozen
    with pytest.raises(UploadFailed) as info:
        remote.put_text(node, "x", "/srv/app.conf")
    assert str(info.value).startswith("writing /srv/app.conf on node-1 failed: the node stopped")


def test_a_file_the_node_refuses_names_node_path_and_the_usual_cause(key_file, tmp_path):
    with LoopbackSSHServer() as server, pytest.raises(UploadFailed) as info:
        Remote().put_text(trusted_node(server.port, key_file, tmp_path), "x", "/srv/app.conf")
    error = info.value
    assert (error.node, error.path, error.reason) == ("node-1", "/srv/app.conf", "Failure")
    assert str(error).startswith("writing /srv/app.conf on node-1 failed: Failure.")
    assert "full disk" in str(error) and "df -h /srv" in str(error)


def test_an_upload_as_root_goes_through_stdin_with_no_temporary_path(key_file, tmp_path):
    with LoopbackSSHServer() as server:
        node = trusted_node(server.port, key_file, tmp_path)
        Remote().put_text(node, "x", "/etc/app.conf", sudo=True, mode="0600")
    (line,) = server.commands
    argv = shlex.split(line)
    assert argv[:5] == ["sudo", "-n", "--", "sh", "-c"]
    assert "/tmp" not in line and "mktemp -- /etc/.app.conf.workshop-XXXXXX" in argv[5]
    assert 'chmod 0600 "$tmp"' in argv[5] and 'mv -fT -- "$tmp" /etc/app.conf' in argv[5]


def test_an_upload_as_root_sends_the_text_on_stdin_and_says_why_it_failed():
    made: list[CheckedFakeConnection] = []
    refused = "mv: cannot overwrite directory '/etc/app.conf' with non-directory\n"
    remote = Remote(connection=CheckedFakeConnection.factory(made, exited=1, stderr=refused))
    with pytest.raises(UploadFailed) as info:
        remote.put_text(loopback_node(2222), "key: value\n", "/etc/app.conf", sudo=True)
    assert made[0].stdins == ["key: value\n"]
    assert str(info.value).startswith(f"writing /etc/app.conf on node-1 failed: {refused.strip()}")
    assert "Nothing was changed" in str(info.value)


def test_a_bad_mode_is_refused_before_anything_runs():
    made: list[CheckedFakeConnection] = []
    remote = Remote(connection=CheckedFakeConnection.factory(made))
    with pytest.raises(ValueError, match="file mode '644; rm -rf /'"):
        remote.put_text(loopback_node(2222), "x", "/etc/app.conf", sudo=True, mode="644; rm -rf /")
    assert made == []


def test_a_full_disk_says_so():
    made: list[CheckedFakeConnection] = []
    remote = Remote(connection=CheckedFakeConnection.factory(made, on_put=disk_full()))
    with pytest.raises(UploadFailed) as info:
        remote.put_text(loopback_node(2222), "x", "/etc/app.conf")
    assert "No space left on device" in str(info.value)
    assert "disk is full" in str(info.value) and "df -h /etc" in str(info.value)
    assert made[0].sftp_timeout is not None and made[0].commands == []
