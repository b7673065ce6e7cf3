"""The `workshop` command: up, status, ssh, trust, run, provision, doctor, down, grade."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from workshop.cli_grade import add_grade
from workshop.cli_snapshot import add_snapshot_parser, down_snapshots
from workshop.errors import NodeUnreachable, ProviderError, UsageError, WorkshopError
from workshop.facade import Lab
from workshop.lab import Node, VagrantSource, find_project
from workshop.lab.hostkeys import (
    add_host_key,
    describe_key,
    key_status,
    known_hosts_file,
    known_hosts_name,
    load_known_hosts,
    recorded_key_types,
    scan_host_key,
)

__all__ = ["main"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _lab_to_power() -> Lab:
    """The lab `up` acts on: the one :meth:`Lab.connect` gives.

    With ``WORKSHOP_INVENTORY`` set that is the inventory of real hosts, whose source
    refuses to create them, never the folder's Vagrant lab. A Vagrant lab's machines
    are not read first: `up` reads them itself.
    """
    if os.environ.get("WORKSHOP_INVENTORY"):
        return Lab.connect()
    return Lab.from_vagrant(find_project(), discover=False)


def _cmd_up(args: argparse.Namespace) -> int:
    lab = _lab_to_power()
    if args.replace:
        if not isinstance(lab.source, VagrantSource):
            raise UsageError(
                "--replace replaces a lab this folder makes with Vagrant; with "
                "WORKSHOP_INVENTORY set the lab is real hosts, which `up` never creates"
            )
        lab.source.replace = True
    lab.up(progress=_say if args.verbose else _brief)
    print(repr(lab))
    return 0


def _brief(line: str) -> None:
    """Progress worth a line without --verbose: Vagrant's ==> steps and the kit's own."""
    text = line.strip()
    if text.startswith("==>") or text.startswith(
        ("Node image", "Removing", "Building", "Making", "Importing")
    ):
        _say(text)


def _cmd_status(args: argparse.Namespace) -> int:
    lab = Lab.connect().ensure_nodes()
    print(repr(lab))
    reach = lab.run("true", timeout=10)
    bad = [r for r in reach if r.failed]
    for result in bad:
        print(f"{result.node}: {result.error or f'exit {result.rc}'}")
    print(f"{len(reach) - len(bad)} of {len(reach)} nodes answer over SSH.")
    return 0 if not bad else 1


def _ssh_command(node: Node, command: Sequence[str]) -> list[str]:
    """The local ``ssh`` command line that opens a shell on ``node`` (or runs ``command``).

    No field of the node can become an option of ``ssh``: the user and the port are
    the arguments of ``-l`` and ``-p``, and the host comes after ``--``, after which
    OpenSSH reads no more options (without it, it reads them after the host too).

    The host key is checked as the kit checks it: against the node's known_hosts file
    only, under its alias for a lab node (whose address and port change), and a key
    that is not there is refused, never added (``workshop trust`` adds one).

    Args:
        node: The node.
        command: A command to run there instead of a shell (may be empty).
    """
    ssh = node.ssh
    cmd = ["ssh", "-p", str(ssh.port)]
    if ssh.user:
        cmd += ["-l", ssh.user]
    for key in ssh.identity_files:
        cmd += ["-i", key]
    if ssh.identity_files:
        cmd += ["-o", "IdentitiesOnly=yes"]
    cmd += ["-o", f"UserKnownHostsFile={_ssh_path(known_hosts_file(ssh))}"]
    cmd += ["-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes"]
    if ssh.host_key_alias:
        cmd += ["-o", f"HostKeyAlias={ssh.host_key_alias}"]
    return [*cmd, "--", ssh.host, *command]


def _ssh_path(path: object) -> str:
    """A path as one value of an ssh option: ``%`` escaped, quoted if it has spaces."""
    text = str(path).replace("%", "%%")
    if '"' in text:
        raise UsageError(f"ssh cannot take the path {path} (it holds a '\"'): move the file")
    return f'"{text}"' if any(ch.isspace() for ch in text) else text


def _cmd_ssh(args: argparse.Namespace) -> int:
    lab = Lab.connect().ensure_nodes()
    node = lab.node(args.node)
    cmd = _ssh_command(node, args.command)
    try:
        os.execvp("ssh", cmd)
    except OSError as exc:
        hint = "Install an OpenSSH client (`apt install openssh-client` on Debian/Ubuntu)."
        raise ProviderError(cmd, None, str(exc), hint=hint) from exc
    return 0  # not reached


def _cmd_trust(args: argparse.Namespace) -> int:
    lab = Lab.connect().ensure_nodes()
    nodes = [lab.node(name) for name in args.nodes]  # an unknown name: before any contact
    source = lab.source
    if isinstance(source, VagrantSource):
        return _record_lab_keys(source, nodes)
    trusted = [_trust_host(node, yes=args.yes) for node in nodes]
    return 0 if all(trusted) else 1


def _record_lab_keys(source: VagrantSource, nodes: Sequence[Node]) -> int:
    """Read the lab's own machines' keys again, through the engine or Vagrant."""
    stopped = [node.name for node in nodes if not node.running]
    running = [node.name for node in nodes if node.running]
    source.host_keys.record(running, progress=_say)
    recorded = load_known_hosts(source.host_keys.path)
    for name in running:
        keys = sorted(describe_key(key) for key in (recorded.lookup(name) or {}).values())
        print(f"{name}: recorded in {source.host_keys.path}: {', '.join(keys)}")
    for name in stopped:
        print(f"{name}: not running, nothing recorded: {source.start_advice(name)}")
    return 1 if stopped else 0


#: How a user can check a fingerprint before trusting it.
_CHECK_ADVICE = (
    "Check it before you say yes: compare it with the fingerprint your provider shows "
    "for this host (its web console or boot log), or with `ssh-keygen -lf "
    "/etc/ssh/ssh_host_ed25519_key.pub` typed on the host's own console; or reach the host "
    "once with plain `ssh` or `ssh-keyscan` from a network you trust and compare."
)


def _trust_host(node: Node, *, yes: bool) -> bool:
    """Show the key ``node`` presents and add it to its known_hosts if the user agrees."""
    path, name = known_hosts_file(node.ssh), known_hosts_name(node.ssh)
    try:
        key = scan_host_key(node, prefer=recorded_key_types(path, name))
    except NodeUnreachable as exc:
        _say(f"workshop trust: {exc}")
        return False
    status, fingerprint = key_status(path, name, key), describe_key(key)
    if status == "known":
        print(f"{node.name}: the key of {name}, {fingerprint}, is trusted already ({path}).")
        return True
    if status == "changed":
        forget = shlex.join(["ssh-keygen", "-R", name, "-f", str(path)])
        _say(
            f"workshop trust: REFUSED: {node.name} ({node.ssh}) presents the host key "
            f"{fingerprint}, but {path} records another key for {name}. The host may have "
            "been reinstalled or its address given to another machine, or someone is in the "
            "middle. Ask the host's owner or provider for its fingerprint; only if it is this "
            f"one, remove the old key with `{forget}` and run `workshop trust {node.name}` again."
        )
        return False
    print(f"{node.name}: {node.ssh} presents the host key {fingerprint}, not in {path}.")
    if not yes:
        print(_CHECK_ADVICE)
        if not _confirm(f"Trust this key for {name} and add it to {path}?"):
            print(f"{node.name}: not trusted; nothing was written.")
            return False
    add_host_key(path, name, key)
    print(f"{node.name}: trusted: {name} {fingerprint} added to {path}.")
    return True


def _confirm(question: str) -> bool:
    """Ask on the terminal; only ``y`` or ``yes`` is a yes (no answer is a no)."""
    _say(f"{question} [y/N] ")
    answer = sys.stdin.readline()
    if not answer:
        _say("No answer (no terminal?): check the fingerprint, then run again with --yes.")
    return answer.strip().lower() in ("y", "yes")


def _cmd_run(args: argparse.Namespace) -> int:
    lab = Lab.connect().ensure_nodes()
    on = args.on or "all"
    target: str | list[str] = on.split(",") if "," in on else on
    results = lab.run(" ".join(args.command), on=target, sudo=args.sudo, timeout=args.timeout)
    print(results.text(full=args.full or len(results) == 1))
    return 0 if not results.failed else 1


def _cmd_doctor(args: argparse.Namespace) -> int:
    from workshop.doctor import run_doctor
    from workshop.settings import LabSettings

    project = find_project()
    report = run_doctor(project, LabSettings.load(project))
    print(report)
    return 0 if report.ok else 1


def _cmd_provision(args: argparse.Namespace) -> int:
    from workshop.steps.states import STATE_NAMES, state_named

    # An unknown state is refused before anything is contacted.
    until = state_named(args.until or STATE_NAMES[-1]).name
    report = Lab.connect().require(until, progress=_say if args.verbose else _state_lines)
    print(report)
    if args.verbose:
        for step in report.steps:
            print(step)
    return 0


def _state_lines(line: str) -> None:
    """Progress worth a line without --verbose: all but the convergence polls."""
    if ": waiting:" not in line:
        _say(line)


def _cmd_down(args: argparse.Namespace) -> int:
    if os.environ.get("WORKSHOP_INVENTORY"):
        return _down_hosts(args)
    lab = Lab.from_vagrant(find_project(), discover=False)
    lab.destroy(progress=_say if args.verbose else _brief, keep_cache=args.keep_cache)
    if args.keep_cache:
        print(
            "The lab is gone: no machine of it is left. Its package cache stays (container, "
            "volume and network), so the next `up` downloads nothing again."
        )
    else:
        print("The lab is gone: no machine, container, volume or network of it is left.")
    if note := down_snapshots(lab.source, remove=args.snapshots):
        print(note)
    return 0


def _down_hosts(args: argparse.Namespace) -> int:
    """`down` on an inventory: take the kit's work off the hosts, never the hosts."""
    from workshop.steps.teardown import teardown

    if args.keep_cache:
        raise UsageError("--keep-cache is for this folder's lab; real hosts have no lab cache")
    result = teardown(Lab.connect(), progress=_say if args.verbose else _teardown_lines)
    print(result)
    if result.changed:
        print(
            "The kit's work is off the hosts; they keep running, with Docker, GlusterFS "
            "and nftables still installed."
        )
    else:
        print("Nothing of the kit was left on the hosts.")
    return 0


def _teardown_lines(line: str) -> None:
    """Progress worth a line without --verbose: what is removed, not the waits."""
    if "waiting" not in line:
        _say(line)


def _add_up(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("up", help="build the node image if needed and start every node")
    up.add_argument("-v", "--verbose", action="store_true", help="show every line of progress")
    up.add_argument(
        "--replace",
        action="store_true",
        help="destroy a lab of the same name that another folder (or an older kit) made, "
        "its volumes included, instead of refusing",
    )
    up.set_defaults(func=_cmd_up)


def _add_down(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    down = sub.add_parser(
        "down",
        help="destroy the lab, leaving nothing behind (with WORKSHOP_INVENTORY: take the "
        "kit's work off the hosts, which keep running)",
    )
    down.add_argument("-v", "--verbose", action="store_true", help="show every line of progress")
    down.add_argument(
        "--keep-cache",
        action="store_true",
        help="keep the lab's package cache for the next `up` (node containers only)",
    )
    down.add_argument("--snapshots", action="store_true", help="remove its snapshots too")
    down.set_defaults(func=_cmd_down)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="workshop", description="Drive the Swarm Workshop lab.")
    sub = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")

    _add_up(sub)

    sub.add_parser("status", help="the nodes, their states, and whether they answer").set_defaults(
        func=_cmd_status
    )

    ssh = sub.add_parser("ssh", help="open a shell on a node (or run a command there)")
    ssh.add_argument("node", help="node name, e.g. node-2")
    ssh.add_argument(
        "command", nargs=argparse.REMAINDER, help="a command to run instead of a shell"
    )
    ssh.set_defaults(func=_cmd_ssh)

    trust = sub.add_parser(
        "trust", help="check and record the SSH host keys of nodes (asks before trusting a host)"
    )
    trust.add_argument("nodes", nargs="+", metavar="NODE", help="node names, e.g. node-1")
    trust.add_argument(
        "--yes", action="store_true", help="trust an unknown key without asking (check it first)"
    )
    trust.set_defaults(func=_cmd_trust)

    run = sub.add_parser("run", help="run a shell command on nodes in parallel")
    run.add_argument("command", nargs="+", help="the command line (quote it)")
    run.add_argument("--on", help="all (default), managers, workers, a node, or node-1,node-3")
    run.add_argument("--sudo", action="store_true", help="run as root")
    run.add_argument(
        "--full", action="store_true", help="show every node's whole output (default: one node's)"
    )
    run.add_argument("--timeout", type=float, default=120.0, help="seconds per node (default 120)")
    run.set_defaults(func=_cmd_run)

    sub.add_parser(
        "doctor", help="check this host and say how to fix what is missing"
    ).set_defaults(func=_cmd_doctor)

    provision = sub.add_parser(
        "provision", help="bring the lab to a state: docker, swarm, ... demoapp (the default)"
    )
    provision.add_argument(
        "--until",
        metavar="STATE",
        help="nodes, docker, swarm, firewall, gluster, registry or demoapp (default: demoapp)",
    )
    provision.add_argument("-v", "--verbose", action="store_true", help="show every line")
    provision.set_defaults(func=_cmd_provision)

    _add_down(sub)
    add_grade(sub)
    add_snapshot_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `workshop` command.

    A failure is one message, ``workshop <subcommand>: <what and what to do>``, with
    exit code 2 for bad input (as argparse), 1 otherwise, and 130 for Ctrl-C. Errors
    other than the kit's are bugs: they keep their traceback.
    """
    args = build_parser().parse_args(argv)
    name = f"workshop {args.subcommand}"
    try:
        return int(args.func(args))
    except WorkshopError as exc:
        _say(f"{name}: {exc}")
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        _say(f"{name}: interrupted")
        return 130
    except BrokenPipeError:
        # Whoever read the output stopped (`workshop status | head -1`): say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
