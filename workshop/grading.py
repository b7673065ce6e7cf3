"""Grading the labs (``labs/``): one lab, or a classroom of learners' labs at once.

``workshop grade`` runs the labs' graded checks (:data:`workshop.checks.LAB_CHECKS`,
the Python functions the lab notebooks call) against a lab and prints one row per
part: lab, check, PASS/FAIL, hint. ``workshop grade --class class.yml`` grades many
learners' labs in parallel (a bounded pool) and prints one row per learner; a lab
that cannot be reached is a row that says why.

A class file (YAML)::

    labs: ["03", "04"]          # optional: the labs to grade (default: all)
    learners:
      - name: ada
        inventory: ada/inventory.yml      # real hosts: an inventory, relative to this file
      - name: grace
        folder: /home/grace/swarm-workshop   # a Vagrant lab folder ...
        lab: wsgrace                         # ... its lab name and subnet (optional)
        subnet: 192.168.80
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from workshop.checks import LAB_CHECKS, CheckResult
from workshop.errors import UsageError, WorkshopError
from workshop.facade import Lab
from workshop.lab import VagrantSource
from workshop.remote import RemoteLab
from workshop.settings import LabSettings
from workshop.steps.report import text_table

__all__ = [
    "ClassRow",
    "GradeRow",
    "Learner",
    "class_json",
    "class_table",
    "grade_class",
    "grade_lab",
    "grade_table",
    "gradebook_json",
    "lab_names",
    "load_class",
]

LabCheck = Callable[[RemoteLab], CheckResult]
MAX_JOBS = 8


@dataclass(frozen=True)
class GradeRow:
    """One part of one lab: ``lab``, the part's name, whether it passed, what was seen."""

    lab: str
    check: str
    passed: bool
    message: str
    hint: str = ""


def lab_names(wanted: Sequence[str], known: Iterable[str] = LAB_CHECKS) -> list[str]:
    """The labs to grade, in course order (all when none is named).

    ``3``, ``03``, ``lab03``, ``lab_03`` and ``labs/03-...ipynb`` name the same lab.

    Raises:
        UsageError: A name is no lab; the message lists the known ones.
    """
    names = list(known)
    if not wanted:
        return names
    chosen = []
    for raw in wanted:
        key = Path(raw).name.lower().removeprefix("lab").lstrip("_-").split("-")[0]
        key = key.zfill(2) if key.isdigit() else key
        if key not in names:
            raise UsageError.choice("lab", raw, names)
        if key not in chosen:
            chosen.append(key)
    return [name for name in names if name in chosen]


def grade_lab(
    lab: RemoteLab, labs: Sequence[str], checks: Mapping[str, LabCheck] = LAB_CHECKS
) -> list[GradeRow]:
    """Run the named labs' checks on ``lab``: one row per part of each."""
    rows = []
    for name in labs:
        result = checks[name](lab)
        for part in result.details or (result,):
            rows.append(GradeRow(name, part.name, part.passed, part.message, part.hint))
    return rows


def grade_table(rows: Sequence[GradeRow]) -> str:
    """The grade of one lab: lab, check, PASS/FAIL, and the hint (or what was seen)."""
    body = [
        (r.lab, r.check, "PASS" if r.passed else "FAIL", r.message if r.passed else r.hint)
        for r in rows
    ]
    passed = sum(r.passed for r in rows)
    table = text_table(("lab", "check", "result", "hint"), body)
    return f"{table}\n{passed} of {len(rows)} checks passed."


def gradebook_json(rows: Sequence[GradeRow]) -> str:
    """The grade as JSON, for a gradebook: every part with its message and hint."""
    return json.dumps({"checks": [asdict(r) for r in rows]}, indent=2)


# --- a classroom ------------------------------------------------------------------
@dataclass(frozen=True)
class Learner:
    """A learner's lab: an inventory of real hosts, or a Vagrant lab folder."""

    name: str
    inventory: Path | None = None
    folder: Path | None = None
    lab: str = ""
    subnet: str = ""

    def connect(self) -> Lab:
        """The learner's lab (reads its machines; contacts none)."""
        if self.inventory is not None:
            return Lab.from_inventory(self.inventory)
        assert self.folder is not None
        env = dict(os.environ)
        env.pop("WORKSHOP_INVENTORY", None)
        env.update(
            {k: v for k, v in (("WORKSHOP_LAB", self.lab), ("WORKSHOP_SUBNET", self.subnet)) if v}
        )
        return Lab(VagrantSource(self.folder, LabSettings.load(self.folder, env)))


def _learner(entry: object, index: int, base: Path, where: str) -> Learner:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UsageError(f"{where}: learner {index} needs a name (a mapping with `name:`)")
    name = entry["name"]
    if ("inventory" in entry) == ("folder" in entry):
        raise UsageError(f"{where}: learner {name!r} needs one of `inventory:` or `folder:`")
    path = base / str(entry.get("inventory") or entry.get("folder"))
    if not path.exists():
        raise UsageError(f"{where}: learner {name!r}: {path} does not exist")
    if "inventory" in entry:
        return Learner(name, inventory=path)
    lab, subnet = str(entry.get("lab", "")), str(entry.get("subnet", ""))
    return Learner(name, folder=path, lab=lab, subnet=subnet)


def load_class(path: str | Path) -> tuple[list[Learner], list[str]]:
    """The learners of a class file, and the labs it names (empty: all).

    Raises:
        UsageError: The file is missing, not YAML, or a learner is malformed.
    """
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the class file {file}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{file} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("learners"), list):
        raise UsageError(f"{file}: expected a mapping with a `learners:` list")
    learners = [_learner(e, i, file.parent, str(file)) for i, e in enumerate(data["learners"], 1)]
    names = [learner.name for learner in learners]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"{file}: learners named twice: {', '.join(twice)}")
    labs = [str(lab) for lab in data.get("labs") or []]
    return learners, labs


@dataclass(frozen=True)
class ClassRow:
    """One learner: labs passed, and the first failing check with its hint (or the error)."""

    learner: str
    labs_passed: int
    labs: int
    failing: str = ""
    hint: str = ""
    error: str = ""


def _unanswered(lab: RemoteLab) -> str:
    """Why the lab cannot be graded (its nodes do not all answer), or ""."""
    lab.ensure_nodes()
    silent = [r for r in lab.run("true", timeout=15) if r.failed]
    return "; ".join(f"{r.node}: {r.error or f'exit {r.rc}'}" for r in silent)


def _grade_learner(
    learner: Learner,
    labs: Sequence[str],
    checks: Mapping[str, LabCheck],
    connect: Callable[[Learner], RemoteLab] | None,
) -> ClassRow:
    try:
        lab = connect(learner) if connect else learner.connect()
        try:
            error = _unanswered(lab)
            rows = [] if error else grade_lab(lab, labs, checks)
        finally:
            lab.close()
    except WorkshopError as exc:
        error = str(exc).splitlines()[0]
    if error:
        return ClassRow(learner.name, 0, len(labs), error=error)
    failed = [r for r in rows if not r.passed]
    passed = sum(1 for name in labs if not any(r.lab == name for r in failed))
    first = failed[0] if failed else None
    if first is None:
        return ClassRow(learner.name, passed, len(labs))
    return ClassRow(learner.name, passed, len(labs), f"{first.lab}: {first.check}", first.hint)


def grade_class(
    learners: Sequence[Learner],
    labs: Sequence[str],
    *,
    jobs: int = 4,
    checks: Mapping[str, LabCheck] = LAB_CHECKS,
    connect: Callable[[Learner], RemoteLab] | None = None,
) -> list[ClassRow]:
    """Grade every learner's lab, ``jobs`` at a time; one row each, in the file's order.

    A lab that cannot be reached (no machines, a node that does not answer) is a row
    with the error; the others are graded all the same. ``connect`` makes a learner's
    lab (default: :meth:`Learner.connect`).
    """
    workers = max(1, min(jobs, MAX_JOBS, len(learners) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda one: _grade_learner(one, labs, checks, connect), learners))


def class_table(rows: Sequence[ClassRow]) -> str:
    """One row per learner: labs passed, first failing check and its hint (or the error)."""
    body = [
        (
            r.learner,
            "-" if r.error else f"{r.labs_passed}/{r.labs}",
            "unreachable" if r.error else r.failing or "all passed",
            r.error or r.hint,
        )
        for r in rows
    ]
    return text_table(("learner", "labs passed", "first failing check", "hint"), body)


def class_json(rows: Sequence[ClassRow]) -> str:
    """The classroom as JSON, one record per learner."""
    return json.dumps({"learners": [asdict(r) for r in rows]}, indent=2)
