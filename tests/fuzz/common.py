"""What the harnesses share: each input is kept in a fixed file before it runs, then libFuzzer runs it.

libFuzzer writes a finding (``-artifact_prefix``) only on the paths it handles itself; a process ended
another way (killed by the kernel for memory, a deadly signal during teardown) leaves nothing. So when
``SEGMENT_FUZZ_CURRENT_INPUT`` names a file, every input is written there first: whatever ends the
process, that file holds the input that was running. Rewriting one open file costs a few microseconds.

``-rss_limit_mb`` counts from the peak resident size the process was started with: libFuzzer compares
the limit with the process's peak (``ru_maxrss``), which Linux carries over from the parent across fork
and exec, so a harness started by a test process that once held more than the limit was reported out of
memory at its first check, on whatever input was running (exit 71, a finding that replays fine).
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable

import atheris

CURRENT_INPUT_ENV = "SEGMENT_FUZZ_CURRENT_INPUT"
# Read at import, before the harness imports what it fuzzes: what the process inherited, not what it used.
_INHERITED_PEAK_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _own_rss_limit(argv: list[str]) -> list[str]:
    """``argv`` with a positive ``-rss_limit_mb=N`` raised by the inherited peak (see the module docstring)."""
    adjusted = []
    for arg in argv:
        name, _, value = arg.partition("=")
        if name == "-rss_limit_mb" and value.isdigit() and int(value) > 0:
            arg = f"-rss_limit_mb={int(value) + _INHERITED_PEAK_MB}"
        adjusted.append(arg)
    return adjusted


def fuzz(one_input: Callable[[bytes], None]) -> None:
    """Run libFuzzer over ``one_input`` with the command line's options, keeping each input first."""
    target = one_input
    path = os.environ.get(CURRENT_INPUT_ENV)
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

        def target(data: bytes) -> None:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            one_input(data)

    atheris.Setup(_own_rss_limit(sys.argv), target)
    atheris.Fuzz()


# A user-facing message may list what it found: the loader lists up to 30 column names of up to 40
# characters (segmentation.ingest.limits._list), about 1,500 characters at most. The bound was 1,000, below that
# design: the fuzzer built such a header in about one run of six and the suite failed by chance.
MAX_MESSAGE = 2_000


def check_one_line(error: Exception, where: str) -> None:
    """A user-facing error is one short line (the CLI prints it, a page shows it): fail otherwise."""
    message = str(error)
    if "\n" in message or len(message) > MAX_MESSAGE:
        lines = message.count("\n") + 1
        raise AssertionError(f"{where}: an error must be one short line, got {len(message)} characters on {lines} "
                             f"lines: {message[:200]!r}…")
