"""What the harnesses share: each input is kept in a fixed file before it runs, then libFuzzer runs it.

libFuzzer writes a finding (``-artifact_prefix``) only on the paths it handles itself; a process ended
another way (killed by the kernel for memory, a deadly signal during teardown) leaves nothing. So when
``SEGMENT_FUZZ_CURRENT_INPUT`` names a file, every input is written there first: whatever ends the
process, that file holds the input that was running. Rewriting one open file costs a few microseconds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import atheris

CURRENT_INPUT_ENV = "SEGMENT_FUZZ_CURRENT_INPUT"


def fuzz(one_input: Callable[[bytes], None]) -> None:
    """Run libFuzzer over ``one_input`` with the command line's options, keeping each input first."""
    path = os.environ.get(CURRENT_INPUT_ENV)
    if not path:
        atheris.Setup(sys.argv, one_input)
        atheris.Fuzz()
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def kept_then_run(data: bytes) -> None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        one_input(data)

    atheris.Setup(sys.argv, kept_then_run)
    atheris.Fuzz()


def check_one_line(error: Exception, where: str) -> None:
    """A user-facing error is one short line (the CLI prints it, a page shows it): fail otherwise."""
    message = str(error)
    if "\n" in message or len(message) > 1000:
        lines = message.count("\n") + 1
        raise AssertionError(f"{where}: an error must be one short line, got {len(message)} characters on {lines} "
                             f"lines: {message[:200]!r}…")
