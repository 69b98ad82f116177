"""The loader under a coverage-guided fuzzer (atheris) for a bounded time: any input ends in Comments or
one DataError, within a per-input time and a memory bound (see tests/fuzz/fuzz_loader.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bad_inputs.generate import cases

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "fuzz" / "fuzz_loader.py"
NAMES = ("f.csv", "f.tsv", "f.txt", "f.json", "f.jsonl", "f.parquet", "f.xlsx", "f.csv.gz", "f", "f.dat")
SECONDS = int(os.environ.get("SEGMENT_FUZZ_SECONDS", "30"))
SEED_LIMIT = 65_536


def _seed(folder: Path) -> int:
    """The bad-input corpus as seeds, each prefixed with the byte that gives back its file name."""
    n = 0
    for case in cases():
        data = case.build()
        if len(data) > SEED_LIMIT:
            continue
        suffix = "f." + case.name.split(".", 1)[1] if "." in case.name else "f"
        key = NAMES.index(suffix) if suffix in NAMES else NAMES.index("f")
        (folder / case.name).write_bytes(bytes([key]) + data)
        n += 1
    return n


def test_the_loader_survives_coverage_guided_fuzzing_of_every_format(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -r requirements-dev.txt)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assert _seed(corpus) > 150
    artifacts = tmp_path / "findings"
    artifacts.mkdir()
    command = [
        sys.executable, str(HARNESS), str(corpus), f"-max_total_time={SECONDS}", "-timeout=20",
        "-rss_limit_mb=3072", f"-max_len={SEED_LIMIT}", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SECONDS + 300)
    findings = sorted(artifacts.iterdir())
    tail = "\n".join(proc.stderr.splitlines()[-30:])
    assert proc.returncode == 0 and not findings, f"finding {[f.name for f in findings]}:\n{tail}"
    runs = re.search(r"Done (\d+) runs", proc.stderr)
    assert runs and int(runs.group(1)) >= 100, tail  # it really fuzzed, not only replayed the seeds
