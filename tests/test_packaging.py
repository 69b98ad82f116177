"""The package installs (``pip install -e .``): its version is readable and ``segment-studio`` runs the CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from segmentation.pipeline.segment import versions

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
VERSION = re.search(r'^version = "([^"]+)"', PYPROJECT, re.MULTILINE).group(1)


def _installed() -> str:
    try:
        return metadata.version("segment-studio")
    except metadata.PackageNotFoundError:
        pytest.skip("segment-studio is not installed here: run `pip install -e .` (the README's test command does)")


def test_run_records_name_the_installed_package_version():
    assert _installed() == VERSION
    assert versions()["segmentation"] == VERSION


def test_console_script_runs_the_same_cli_as_python_m_segmentation():
    _installed()
    script = shutil.which("segment-studio")
    if script is None:
        pytest.skip("segment-studio is installed but its script is not on PATH")
    done = subprocess.run([script, "segment", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "--algorithm" in done.stdout and "--out" in done.stdout


def test_console_script_is_declared_on_the_cli_entry_point():
    _installed()
    (script,) = metadata.entry_points(group="console_scripts", name="segment-studio")
    assert script.value == "segmentation.cli:main"
