"""Coverage-guided fuzzing (atheris) for a bounded time of what reads hostile bytes: the loader (every
format), a Ray run folder's files and a workspace's run records. Any input must end in a result or one
short :class:`SegmentationError`, within a per-input time and a memory bound (see tests/fuzz/).

A failure always names the input that was running and says how to replay it, whatever ended the
harness: libFuzzer's own finding, or the input the harness kept before running it (issue 18: a run that
ended with exit 77 and no finding left nothing to replay).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bad_inputs.generate import cases

pytestmark = pytest.mark.hostile

ROOT = Path(__file__).resolve().parents[2]
HARNESSES = ROOT / "tests" / "fuzz"


def _records():
    """The harnesses' well-formed records (tests/fuzz/records.py), loaded by path: that folder is not a
    package, and putting it on ``sys.path`` would shadow modules of the same name in other tests."""
    spec = importlib.util.spec_from_file_location("fuzz_records", HARNESSES / "records.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


records = _records()

NAMES = ("f.csv", "f.tsv", "f.txt", "f.json", "f.jsonl", "f.parquet", "f.xlsx", "f.csv.gz", "f", "f.dat")
# Fuzzing time per harness: with the default the three fuzz tests take about 80 s in the suite (startup, seeds).
SECONDS = int(os.environ.get("SEGMENT_FUZZ_SECONDS", "15"))
SEED_LIMIT = 65_536
TAIL_LINES = 40
# libFuzzer's exit codes for what it reports itself (its -error_exitcode and -timeout_exitcode defaults).
EXIT_MEANING = {77: "a crash or an uncaught exception", 70: "an input ran past -timeout", 71: "out of memory"}
# Progress lines and the final dictionary say nothing about a failure: left out of its report.
_NOISE = re.compile(r'^(#\d+\s|".*" # Uses: \d+$|stat::|INFO: Instrumenting )')


def _loader_seeds() -> dict[str, bytes]:
    """The bad-input corpus as seeds, each prefixed with the byte that gives back its file name."""
    seeds = {}
    for case in cases():
        data = case.build()
        if len(data) > SEED_LIMIT:
            continue
        suffix = "f." + case.name.split(".", 1)[1] if "." in case.name else "f"
        key = NAMES.index(suffix) if suffix in NAMES else NAMES.index("f")
        seeds[case.name] = bytes([key]) + data
    return seeds


def _explain(rc: int) -> str:
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name}, before libFuzzer could report"
    return EXIT_MEANING.get(rc, "not one of libFuzzer's own reports")


def _report(harness: str, rc: int | None, output: str, findings: list[Path], current: Path) -> str:
    """What a failure says: how it ended, the input (file, size, first bytes), one replay command, the log."""
    failing = findings[0] if findings else current
    ended = "ran past the test's deadline" if rc is None else f"exit {rc} ({_explain(rc)})"
    if failing.is_file():
        data = failing.read_bytes()
        source = "libFuzzer's finding" if findings else "the input running when the harness ended (no finding)"
        named = [
            f"{harness} {ended}; {source}: {failing} ({len(data)} bytes) starting {data[:160]!r}",
            f"replay: cd {ROOT} && SEGMENT_STUDIO_HOME=$(mktemp -d) PYTHONPATH=. {sys.executable} "
            f"tests/fuzz/{harness} {failing}",
        ]
    else:
        named = [f"{harness} {ended} before it ran any input (see its log)"]
    lines = [line for line in output.splitlines() if not _NOISE.match(line)]
    return "\n".join([
        *named,
        f"other findings: {[f.name for f in findings[1:]]}" if len(findings) > 1 else "",
        "last lines of the harness:",
        *lines[-TAIL_LINES:],
    ])


def _run(harness: str, seeds: dict[str, bytes], tmp_path: Path, options: list[str], launcher: tuple = ()) -> str:
    """Run ``harness`` from ``seeds``; fail naming the input on any finding or odd exit, else return its log."""
    corpus, findings = tmp_path / "corpus", tmp_path / "findings"
    corpus.mkdir()
    findings.mkdir()
    for name, data in seeds.items():
        (corpus / name).write_bytes(data)
    current = tmp_path / "current-input"
    command = [
        *launcher, sys.executable, str(HARNESSES / harness), str(corpus), *options, f"-artifact_prefix={findings}/",
        "-print_final_stats=1",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEGMENT_FUZZ_CURRENT_INPUT": str(current)}
    try:
        proc = subprocess.run(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", timeout=SECONDS + 300,
        )
        rc, output = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as expired:  # a hang libFuzzer's own -timeout did not catch
        partial = expired.output or b""
        rc, output = None, partial.decode("utf-8", "replace") if isinstance(partial, bytes) else partial
    found = sorted(findings.iterdir())
    assert rc == 0 and not found, _report(harness, rc, output, found, current)
    return output


def _fuzz(harness: str, seeds: dict[str, bytes], tmp_path: Path, max_len: int) -> None:
    """Fuzz ``harness`` for SECONDS within the suite's time and memory bounds per input."""
    # Inputs that once failed seed every run: a known finding fails each run, not one run in six.
    known = sorted((HARNESSES / "regressions" / Path(harness).stem).glob("*"))
    seeds = {**seeds, **{f"regression-{path.name}": path.read_bytes() for path in known}}
    options = [f"-max_total_time={SECONDS}", "-timeout=20", "-rss_limit_mb=3072", f"-max_len={max_len}"]
    if os.environ.get("CI"):
        # CI explores the same inputs every run (a red CI blocks landing, so it must not depend on luck), as
        # hypothesis does there; runs elsewhere keep exploring, and what they find joins the regressions.
        options.append("-seed=1")
    output = _run(harness, seeds, tmp_path, options)
    runs = re.search(r"Done (\d+) runs", output)
    assert runs and int(runs.group(1)) >= 100, "\n".join(output.splitlines()[-TAIL_LINES:])  # it fuzzed


def test_a_harness_started_by_a_process_that_once_held_more_than_the_memory_limit_fuzzes(tmp_path: Path) -> None:
    """issue 18, fuzzer never fails by chance: libFuzzer's -rss_limit_mb is checked against the peak resident
    size, which Linux hands down from the starting process (a test worker that once fitted big models), so
    the harness was "out of memory" at its first check (exit 71) on whatever input was running."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -r requirements-dev.txt)")
    big_parent = (
        "import subprocess, sys; held = b'x' * (400 << 20); del held; "
        "sys.exit(subprocess.run(sys.argv[1:]).returncode)"
    )
    seeds = {"small.csv": bytes([NAMES.index("f.csv")]) + b"user_id,text\nu1,great coffee\nu2,loud fan\n"}
    launcher = (sys.executable, "-c", big_parent)
    _run("fuzz_loader.py", seeds, tmp_path, ["-max_total_time=3", "-rss_limit_mb=200"], launcher)


def test_a_harness_killed_without_a_finding_still_names_the_input_it_was_running(tmp_path: Path) -> None:
    """issue 18, fuzzer: a failure always names its input, even when the harness dies in a way libFuzzer
    cannot report (here SIGKILL, as the kernel's out-of-memory killer sends): no finding is written."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -r requirements-dev.txt)")
    killer = (
        "import os, signal, subprocess, sys, time\n"
        "harness = subprocess.Popen(sys.argv[1:])\n"
        "current, deadline = os.environ['SEGMENT_FUZZ_CURRENT_INPUT'], time.monotonic() + 240\n"
        "while not (os.path.exists(current) and os.path.getsize(current)) and time.monotonic() < deadline:\n"
        "    time.sleep(0.1)\n"
        "harness.kill()\n"
        "harness.wait()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    seeds = {"small.csv": bytes([NAMES.index("f.csv")]) + b"user_id,text\nu1,great coffee\nu2,loud fan\n"}
    with pytest.raises(AssertionError) as failure:
        _run("fuzz_loader.py", seeds, tmp_path, ["-max_total_time=60"], (sys.executable, "-c", killer))
    message = str(failure.value)
    current = tmp_path / "current-input"
    assert not any((tmp_path / "findings").iterdir())
    assert "killed by SIGKILL" in message and "(no finding)" in message
    assert f"{current} ({current.stat().st_size} bytes) starting {current.read_bytes()[:160]!r}" in message
    assert f"tests/fuzz/fuzz_loader.py {current}" in message  # the replay command


def test_the_loader_survives_coverage_guided_fuzzing_of_every_format(tmp_path: Path) -> None:
    """issue 18, fuzzer: never fails by chance and names its input (here over the loader)."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -r requirements-dev.txt)")
    seeds = _loader_seeds()
    assert len(seeds) > 150
    _fuzz("fuzz_loader.py", seeds, tmp_path, SEED_LIMIT)


def test_opening_a_fuzzed_run_folder_gives_a_run_or_one_clear_error(tmp_path: Path, workspace: Path) -> None:
    """issue 18, fuzzer: covers run folders (every file of a Ray run folder fuzzed)."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -r requirements-dev.txt)")
    from segmentation.scale.run_folder import open_run_folder

    seeds = {
        "full": records.join_folder(records.run_folder_files()),
        "no-sweep": records.join_folder(records.run_folder_files(with_sweep=False)),
        "items": records.join_folder(records.run_folder_files(with_items=True)),
    }
    for name, seed in seeds.items():  # where the harness writes its folder: the seeds must open there
        records.write_folder(workspace / name, records.split_folder(seed))
        assert open_run_folder(workspace / name).n_users == 6
    _fuzz("fuzz_run_folder.py", seeds, tmp_path, 4 * max(len(seed) for seed in seeds.values()))


def test_reading_a_fuzzed_workspace_run_record_gives_it_back_or_one_clear_error(tmp_path: Path) -> None:
    """issue 18, fuzzer: covers workspace records (config, record, assignments blob, .npz, run Parquet)."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -r requirements-dev.txt)")
    saved, key = records.saved_workspace(tmp_path / "seed" / "workspace.sqlite")
    assert saved.assignments(key) == {"u0": 0, "u1": 0, "u2": 0, "u3": 1, "u4": 1, "u5": 1}
    assert len(saved.table(key)) == 6 and saved.arrays(key)["centres"].shape == (2, 3)
    seeds = {
        field: bytes([i]) + records.read_field(saved, key, field) for i, field in enumerate(records.WORKSPACE_FIELDS)
    }
    _fuzz("fuzz_workspace.py", seeds, tmp_path, 4 * max(len(seed) for seed in seeds.values()))
