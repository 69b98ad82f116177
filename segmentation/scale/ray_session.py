"""Ray itself: starting or joining it (an address where nothing answers is refused at once), Ray Data's
settings for the length of a run, and a worker's bad-input error unwrapped into the one line the driver
raises. Ray is imported inside the functions, as everywhere in this package."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from segmentation.core.errors import ConfigError, SegmentationError
from segmentation.core.outputs import disk_full, is_disk_full
from segmentation.core.paths import workspace_dir

# Seconds to wait for a Ray cluster's address to answer before saying it does not.
CONNECT_TIMEOUT = 5


def _start_ray(ray: Any, address: str | None) -> None:
    """Start (or join) Ray; its failure is the environment's, told in one line."""
    _check_reachable(address or os.environ.get("RAY_ADDRESS"))
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            # Workers on this machine find the fast encoder's distilled model where the driver keeps it.
            runtime_env=None if address else {"env_vars": {"SEGMENT_STUDIO_HOME": str(workspace_dir())}},
        )
    except Exception as error:  # noqa: BLE001 - Ray raises many types (ConnectionError, RuntimeError, ...)
        where = f"at {address}" if address else "on this machine"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"Ray did not start {where} ({reason}); check --address and RAY_ADDRESS") from None


def _check_reachable(address: str | None) -> None:
    """Refuse a cluster address where nothing listens: Ray itself retries such an address for minutes."""
    if not address or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # not host:port: Ray's own check says what is wrong with it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise ConfigError(f"Ray did not start: nothing answers at {address} ({error.strerror or error}); "
                          "check --address and RAY_ADDRESS") from None


def _user_error(error: BaseException, out: Path) -> SegmentationError | None:
    """The bad-input error a worker raised, however deep Ray wrapped it, as a fresh one-line error; a full
    disk while writing ``out`` (in a worker too) as the same message as on the driver."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "cause", None)
        if any(isinstance(e, BaseException) and is_disk_full(e) for e in (current, cause)):
            return disk_full(out)
        if isinstance(current, SegmentationError) and not hasattr(current, "cause"):
            return _first_line(current)
        if isinstance(cause, SegmentationError):
            return _first_line(cause)
        current = cause if isinstance(cause, BaseException) else (current.__cause__ or current.__context__)
    return None


def _first_line(error: SegmentationError) -> SegmentationError:
    """The error as raised: Ray Data appends lines about its retries to the message of a failed task."""
    message, *rest = error.args or ("",)
    return type(error)(str(message).split("\n", 1)[0], *rest)


@contextmanager
def _ray_data_settings() -> Iterator[None]:
    """Ray Data as the engine runs it, restored afterwards (its context and loggers are global).

    - Nothing from Ray Data on the console (its session log file keeps everything): the engine prints one
      line per stage, and raises every error, which the CLI prints as one line.
    - A worker's own exception, not Ray Data's ``UserCodeException``: that wrapper crosses to the driver
      without its cause, so a bad part's ``DataError`` (and its message naming the part) was lost.
    - Group-bys shuffle by sort, in tasks on the workers already running: Ray 2.60's default hash shuffle
      starts a new set of aggregator actors for each of the five group-bys, and a run on 20k comments
      took 121 s with it, 64 s without (2 CPUs, local mode).
    """
    from ray.data.context import DataContext, ShuffleStrategy

    context = DataContext.get_current()
    settings = {
        "enable_progress_bars": False,
        "print_on_execution_start": False,
        "raise_original_map_exception": True,
        "shuffle_strategy": ShuffleStrategy.SORT_SHUFFLE_PULL_BASED,
    }
    saved = {name: getattr(context, name) for name in settings}
    consoles = [h for h in logging.getLogger("ray.data").handlers if isinstance(h, logging.StreamHandler)]
    levels = [h.level for h in consoles]
    for name, value in settings.items():
        setattr(context, name, value)
    for handler in consoles:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        for handler, level in zip(consoles, levels, strict=True):
            handler.setLevel(level)
