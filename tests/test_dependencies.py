"""Dependency pins and the rules they protect."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _allowed(package: str, version: str, python: str) -> bool:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = {**default_environment(), "python_version": python, "python_full_version": f"{python}.0"}
    rules = [Requirement(r) for r in project["dependencies"]]
    rules = [r for r in rules if r.name == package and (r.marker is None or r.marker.evaluate(environment))]
    assert rules, f"no rule for {package} on Python {python}"
    return all(r.specifier.contains(Version(version), prereleases=True) for r in rules)


@pytest.mark.parametrize(("version", "python", "allowed"), [
    ("6.12.0", "3.11", False),  # processEvents() from Python drops a reference to None and can abort
    ("6.12.1", "3.11", False),
    ("6.11.3", "3.11", True),
    ("6.12.0", "3.12", True),
    ("6.5.3", "3.11", False),  # older than the oldest release the editor is built for
])
def test_pyside6_pins_exclude_the_known_bad_pair(version, python, allowed):
    assert _allowed("PySide6-Essentials", version, python) is allowed


def test_torch_stays_within_the_tested_range_cpu_builds_included():
    assert _allowed("torch", "2.14.1+cpu", "3.11") and _allowed("torch", "2.13.0+cpu", "3.11")
    assert not _allowed("torch", "2.15.0", "3.11")


def test_the_product_runs_no_python_level_event_loop():
    """No processEvents() from Python in the product: waits run Qt's own loop (QEventLoop, QTimer)."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "stylefuse_desktop").rglob("*.py")
                 if "processEvents(" in p.read_text(encoding="utf-8")]
    assert offenders == []
