"""The doctor's report, on this host (reads only; changes nothing)."""

from __future__ import annotations

from pathlib import Path

from workshop.doctor import Check, DoctorReport, kernel_feature, run_doctor
from workshop.settings import LabSettings

ROOT = Path(__file__).resolve().parents[2]


def test_kernel_feature_matches_proc_and_sys() -> None:
    ip_vs = kernel_feature("ip_vs", "/proc/net/ip_vs")
    loaded = Path("/proc/net/ip_vs").exists() or Path("/sys/module/ip_vs").exists()
    assert (ip_vs == "loaded") == loaded
    assert kernel_feature("surely_not_a_module_xyz") == "missing"


def test_report_has_every_check_and_a_fix_for_each_problem() -> None:
    report = run_doctor(ROOT, LabSettings())
    names = [c.name for c in report.checks]
    for wanted in (
        "docker engine",
        "vagrant",
        "provider",
        "node image",
        "kernel: ip_vs",
        "kernel: vxlan",
        "kernel: fuse",
        "free disk",
        "snapshots",
    ):
        assert wanted in names
    assert all(c.fix for c in report.checks if c.status != "ok")
    assert report.get("kernel: fuse").status == ("ok" if Path("/dev/fuse").exists() else "fail")


def test_report_text_and_html() -> None:
    report = DoctorReport((Check("a", "ok", "fine"), Check("b", "fail", "broken", "do X")))
    assert not report.ok
    text = str(report)
    assert "[FAIL] b: broken" in text and "fix: do X" in text and "NOT ready" in text
    assert "<table>" in report._repr_html_() and "do X" in report._repr_html_()


def test_no_engine_is_a_finding_with_a_fix_not_an_exception(monkeypatch, tmp_path) -> None:
    from workshop.images import START_ENGINE

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    report = run_doctor(ROOT, LabSettings())
    assert report.get("docker engine").status == "fail"
    image = report.get("node image")
    assert image.status == "warn" and image.detail.startswith("cannot tell: the Docker engine at")
    assert image.fix == START_ENGINE
    snapshots = report.get("snapshots")
    assert snapshots.status == "warn" and snapshots.detail.startswith("cannot tell: the Docker")
    assert snapshots.fix == START_ENGINE
