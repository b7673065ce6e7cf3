"""The `workshop` command: up, status, ssh, run, provision, doctor, down, grade."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from workshop.errors import ProviderError, UsageError, WorkshopError
from workshop.facade import Lab
from workshop.lab import Node, find_project

__all__ = ["main"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _lab_to_power() -> Lab:
    """The lab `up` and `down` act on: the one :meth:`Lab.connect` gives.

    With ``WORKSHOP_INVENTORY`` set that is the inventory of real hosts, whose source
    refuses to create or remove them, never the folder's Vagrant lab. A Vagrant lab's
    machines are not read first: `up` and `down` read them themselves.
    """
    if os.environ.get("WORKSHOP_INVENTORY"):
        return Lab.connect()
    return Lab.from_vagrant(find_project(), discover=False)


def _cmd_up(args: argparse.Namespace) -> int:
    lab = _lab_to_power()
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


def _ssh_command(node: Node, command: Sequence[str], *, lab_host_keys: bool) -> list[str]:
    """The local ``ssh`` command line that opens a shell on ``node`` (or runs ``command``).

    No field of the node can become an option of ``ssh``: the user and the port are
    the arguments of ``-l`` and ``-p``, and the host comes after ``--``, after which
    OpenSSH reads no more options (without it, it reads them after the host too).

    Args:
        node: The node.
        command: A command to run there instead of a shell (may be empty).
        lab_host_keys: The node is a lab machine made by the kit, whose host key
            changes whenever it is recreated: do not check or record it.
    """
    ssh = node.ssh
    cmd = ["ssh", "-p", str(ssh.port)]
    if ssh.user:
        cmd += ["-l", ssh.user]
    for key in ssh.identity_files:
        cmd += ["-i", key]
    if ssh.identity_files:
        cmd += ["-o", "IdentitiesOnly=yes"]
    if lab_host_keys:
        cmd += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        cmd += ["-o", "LogLevel=ERROR"]
    return [*cmd, "--", ssh.host, *command]


def _cmd_ssh(args: argparse.Namespace) -> int:
    lab = Lab.connect().ensure_nodes()
    node = lab.node(args.node)
    cmd = _ssh_command(node, args.command, lab_host_keys=lab.source.kind == "vagrant")
    try:
        os.execvp("ssh", cmd)
    except OSError as exc:
        hint = "Install an OpenSSH client (`apt install openssh-client` on Debian/Ubuntu)."
        raise ProviderError(cmd, None, str(exc), hint=hint) from exc
    return 0  # not reached


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
    lab = _lab_to_power()
    lab.destroy(progress=_say if args.verbose else _brief)
    print("The lab is gone: no machine, container, volume or network of it is left.")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    import workshop.grading as grading

    if args.class_file:
        learners, named = grading.load_class(args.class_file)
        labs = grading.lab_names(args.labs or named)  # unknown labs refused before any contact
        rows = grading.grade_class(learners, labs, jobs=args.jobs)
        print(grading.class_json(rows) if args.json else grading.class_table(rows))
        return 0 if all(not r.error and r.labs_passed == r.labs for r in rows) else 1
    labs = grading.lab_names(args.labs)
    lab = Lab.connect().ensure_nodes()
    grades = grading.grade_lab(lab, labs)
    print(grading.gradebook_json(grades) if args.json else grading.grade_table(grades))
    return 0 if all(g.passed for g in grades) else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="workshop", description="Drive the Swarm Workshop lab.")
    sub = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="build the node image if needed and start every node")
    up.add_argument("-v", "--verbose", action="store_true", help="show every line of progress")
    up.set_defaults(func=_cmd_up)

    sub.add_parser("status", help="the nodes, their states, and whether they answer").set_defaults(
        func=_cmd_status
    )

    ssh = sub.add_parser("ssh", help="open a shell on a node (or run a command there)")
    ssh.add_argument("node", help="node name, e.g. node-2")
    ssh.add_argument(
        "command", nargs=argparse.REMAINDER, help="a command to run instead of a shell"
    )
    ssh.set_defaults(func=_cmd_ssh)

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

    down = sub.add_parser("down", help="destroy the lab, leaving nothing behind")
    down.add_argument("-v", "--verbose", action="store_true", help="show every line of progress")
    down.set_defaults(func=_cmd_down)

    grade = sub.add_parser("grade", help="grade the labs (labs/) on this lab, or a class's labs")
    grade.add_argument("labs", nargs="*", metavar="LAB", help="labs to grade, e.g. 03 05 (all)")
    grade.add_argument("--json", action="store_true", help="print JSON, for a gradebook")
    grade.add_argument(
        "--class", dest="class_file", metavar="FILE", help="grade every learner of a class file"
    )
    grade.add_argument("--jobs", type=int, default=4, help="learners graded at once (default 4)")
    grade.set_defaults(func=_cmd_grade)
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
