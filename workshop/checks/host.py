"""Chapter 00: is the machine that hosts the lab ready (``workshop doctor``)?

The doctor looks at the machine whose engine or hypervisor runs the lab's
machines. A lab whose settings are ``None`` is made of real hosts that the kit
neither creates nor runs: the doctor has nothing to say about them, and the check
says so instead of judging the wrong machine.
"""

from __future__ import annotations

from workshop.checks.result import CheckResult, check_all, guarded
from workshop.doctor import DoctorReport, run_doctor
from workshop.lab import find_project
from workshop.remote import RemoteLab

__all__ = ["doctor_result", "host_ready"]

NAME = "this host is ready (workshop doctor)"


def host_ready(lab: RemoteLab) -> CheckResult:
    """What ``workshop doctor`` says about this machine, one line per finding.

    Warnings (a missing ``ip_vs`` module, say) pass: the kit has a fallback for
    them, given in the line. Only a FAIL fails. For a lab of real hosts (no
    settings) the check passes and says that it does not apply.
    """
    settings = lab.settings
    if settings is None:
        message = (
            f"does not apply: this lab's machines are real hosts (from its {lab.source.kind}), "
            "not made on this machine; checks.nodes_answer(lab) tells whether they answer"
        )
        return CheckResult(NAME, True, message)
    return guarded(
        NAME,
        "run `workshop doctor` in a terminal, in the workshop's folder",
        lambda: doctor_result(run_doctor(find_project(), settings)),
    )


def doctor_result(report: DoctorReport) -> CheckResult:
    """The doctor's report as a check: one detail per finding, warnings pass."""
    details = []
    for finding in report.checks:
        message = f"{finding.status}: {finding.detail}"
        if finding.status == "warn" and finding.fix:
            message += f"; {finding.fix}"
        details.append(CheckResult(finding.name, finding.status != "fail", message, finding.fix))
    combined = check_all(NAME, details)
    warnings = [c.name for c in report.checks if c.status == "warn"]
    if combined.passed and warnings:
        message = f"{combined.message}; warnings: {', '.join(warnings)}"
        return CheckResult(combined.name, True, message, "", combined.details)
    return combined
