"""`workshop grade`: grade the labs in `labs/` on this lab, or every learner of a class."""

from __future__ import annotations

import argparse

from workshop.facade import Lab


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


def add_grade(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `grade` subcommand to the `workshop` command."""
    grade = sub.add_parser("grade", help="grade the labs (labs/) on this lab, or a class's labs")
    grade.add_argument("labs", nargs="*", metavar="LAB", help="labs to grade, e.g. 03 05 (all)")
    grade.add_argument("--json", action="store_true", help="print JSON, for a gradebook")
    grade.add_argument(
        "--class",
        "--inventory",
        dest="class_file",
        metavar="FILE",
        help="grade every learner of a class file (see labs/README.md)",
    )
    grade.add_argument("--jobs", type=int, default=4, help="learners graded at once (default 4)")
    grade.set_defaults(func=_cmd_grade)
