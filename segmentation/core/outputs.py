"""Run output folders (``segment --out DIR``): written beside the folder, swapped in only when complete.

A run is written into a new hidden sibling folder; only when every file is there does that folder take
the place of ``DIR``. A run that fails half-way (disk full, killed) leaves the earlier complete run as it
was, and nothing the product did not write is ever deleted: a folder that holds anything besides a
previous run's outputs is refused before any work starts.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segmentation.core.errors import ConfigError

RUN_RECORD = "run.json"
# What a run of either engine writes: the local engine's CSV, the Ray engine's Parquet folder (one
# ``segment=N`` folder per segment), and the hidden folder the local writer stages its files in.
RUN_FILES = frozenset({RUN_RECORD, "segments.json", "assignments.csv"})
RAY_ASSIGNMENTS = "assignments"
_STAGING = ".writing-"
_FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def check_run_folder(out: Path) -> None:
    """Refuse an ``--out`` that is neither absent, empty, nor a previous run's outputs.

    Parameters
    ----------
    out : Path
        The folder a run is about to replace.

    Raises
    ------
    ConfigError
        When ``out`` is a file, or holds anything besides a previous run's outputs (recognised by its
        ``run.json`` and the names runs write), so that replacing it would delete the user's own files.
    """
    try:
        if not out.exists():
            return
        if not out.is_dir():
            raise ConfigError(f"--out {out} exists and is not a folder")
        entries = list(out.iterdir())
    except OSError as error:
        raise ConfigError(f"cannot read --out {out}: {error.strerror or error}; choose another folder") from None
    if not entries:
        return
    foreign = sorted(entry.name for entry in entries if not _is_run_output(entry))
    if RUN_RECORD not in {entry.name for entry in entries} or foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "") if foreign else "no run.json"
        raise ConfigError(
            f"--out {out} holds files that are not a previous run's outputs ({shown}); a run replaces its "
            "folder whole, so choose a new or empty folder"
        )


def _is_run_output(entry: Path) -> bool:
    if entry.is_symlink():
        return False
    if entry.name in RUN_FILES:
        return entry.is_file()
    if entry.name.startswith(_STAGING):
        return entry.is_dir()  # a local write killed before it renamed its files
    if entry.name == RAY_ASSIGNMENTS and entry.is_dir():
        return all(part.name.startswith("segment=") and part.is_dir() and not part.is_symlink()
                   for part in entry.iterdir())
    return False


@contextmanager
def staged(out: str | Path) -> Iterator[Path]:
    """A new empty folder beside ``out`` to write a run into; it replaces ``out`` when the block succeeds.

    Parameters
    ----------
    out : str or Path
        The run folder; checked with :func:`check_run_folder` first.

    Yields
    ------
    Path
        The staging folder. On an error it is removed (it holds only what the block wrote) and ``out``
        is left as it was.

    Raises
    ------
    ConfigError
        When ``out`` cannot take a run (see :func:`check_run_folder`), its parent cannot be written, or
        the disk fills up while writing.
    """
    out = Path(out)
    check_run_folder(out)
    # A link to a folder: the folder it names is the one replaced (renaming the link would leave the run there).
    target = out.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{_STAGING}"))
        # A temporary folder is private (0700); the run folder keeps the permissions a folder made there gets.
        os.chmod(staging, stat.S_IMODE(target.stat().st_mode) if target.is_dir() else 0o777 & ~_umask())
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(out) from None
        raise ConfigError(f"cannot write beside --out {out}: {error.strerror or error}; choose another folder") \
            from None
    try:
        yield staging
        _swap_in(staging, target)
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(out) from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the quota) is full; pyarrow's errors carry only the text."""
    return isinstance(error, OSError) and (
        error.errno in _FULL_DISK or "No space left on device" in str(error) or "Disk quota exceeded" in str(error)
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def disk_full(out: Path) -> ConfigError:
    """The one message for a run that ran out of space; the earlier run in ``out`` is untouched."""
    return ConfigError(f"no space left on the device while writing --out {out}; nothing there was changed, "
                       "free some space or choose another folder")


def _swap_in(staging: Path, out: Path) -> None:
    """Rename ``staging`` to ``out``; an earlier run is moved aside first and deleted only after."""
    if out.is_dir() and any(out.iterdir()):
        previous = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.previous-"))
        os.replace(out, previous)  # onto an empty folder: rename(2) replaces it
        try:
            os.replace(staging, out)
        except OSError:
            os.replace(previous, out)  # the earlier run back where it was
            raise
        shutil.rmtree(previous, ignore_errors=True)
    else:
        os.replace(staging, out)  # an empty ``out`` (made by the CLI's checks) is replaced


def json_number(value: float | None) -> float | None:
    """A figure as strict JSON takes it: rounded to 6 decimals, None where it is missing or not finite (JSON has
    no NaN)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
