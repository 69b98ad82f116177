"""Fast first, refined in the background: a run made with an encoder that approximates a slower one (the fast
static MiniLM) is run again with that one while its segments are already in use, then offered in its place.

The refined run is an ordinary saved run (its own key, in the Runs page and the CLI's ``runs``); the names of
the run it refines are carried over when it is saved and again when it is shown, so a name typed meanwhile
follows its users. :class:`Refinement` runs the work on a thread of its own and reports where it is; it holds
no page state, so the app and a script can both drive it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from segmentation.core.errors import SegmentationError
from segmentation.embed.base import ENCODERS, encoder_status
from segmentation.embed.throughput import EncodeClock
from segmentation.ingest.comments import Comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import suggest_encoder
from segmentation.runs.compare import RunComparison, compare_runs
from segmentation.runs.matching import CarryReport
from segmentation.runs.service import Compute, Run, carry_names, run_and_save
from segmentation.runs.workspace import Workspace

State = Literal["running", "done", "cancelled", "failed"]


def refined_config(comments: Comments, config: SegmentConfig) -> SegmentConfig | None:
    """The config of the refinement of a run made with ``config``, or None when there is none to offer.

    There is one where the run's encoder approximates another (its ``refined_by``), that one can run here,
    and it is the encoder this data would get on its own (:func:`~segmentation.pipeline.segment.suggest_encoder`):
    mostly-Chinese comments are not refined with an English-only model.
    """
    cls = ENCODERS.get(config.encoder.partition(":")[0])
    target = cls.refined_by if cls is not None else None
    if target is None or suggest_encoder(comments) != target:
        return None
    available = {status.name for status in encoder_status() if status.available}
    return replace(config, encoder=target) if target in available else None


@dataclass(frozen=True)
class RefineStatus:
    """Where a refinement stands.

    Attributes
    ----------
    state : {"running", "done", "cancelled", "failed"}
    stage : str or None
        The pipeline stage it is in (``encode``, ``cluster``…), None before the first report.
    done, total : int
        The stage's progress.
    elapsed : float
        Seconds since it started.
    left : float or None
        Seconds of encoding left at the speed seen so far; None outside encoding or too early to tell.
    error : str or None
        Why it failed.
    """

    state: State
    stage: str | None
    done: int
    total: int
    elapsed: float
    left: float | None
    error: str | None = None


class _Cancelled(Exception):
    """Raised from the progress callback to stop the pipeline at its next report."""


class Refinement:
    """Run ``config`` on ``comments`` on a thread, save it as a run of its own and carry ``source_key``'s names.

    Parameters
    ----------
    comments : Comments
    source_key : str
        The saved run being refined.
    config : SegmentConfig
        The refinement's config (:func:`refined_config`).
    workspace : Workspace, optional
    compute : callable, optional
        As for :func:`~segmentation.runs.service.run_and_save` (the app's keeps the prepared data in memory).
    file_sha256 : str, optional
        The digest of the data's file, kept in the run's record.
    expected_s : float, optional
        The encoding estimate the time left starts from.
    """

    def __init__(self, comments: Comments, source_key: str, config: SegmentConfig, *,
                 workspace: Workspace | None = None, compute: Compute | None = None,
                 file_sha256: str | None = None, expected_s: float | None = None) -> None:
        self.comments = comments
        self.source_key = source_key
        self.config = config
        self.workspace = workspace if workspace is not None else Workspace()
        self.compute = compute
        self.file_sha256 = file_sha256
        self.run: Run | None = None
        self._clock = EncodeClock(expected_s)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._state: State = "running"
        self._stage: tuple[str | None, int, int] = (None, 0, 0)
        self._error: str | None = None
        self._started = time.perf_counter()
        self._encode_started: float | None = None
        self._thread: threading.Thread | None = None

    def start(self, prepare_thread: Callable[[threading.Thread], None] | None = None) -> Refinement:
        """Start the work; ``prepare_thread`` sees the thread before it starts (the app attaches its page
        context to it, so the caches the work fills are the app's)."""
        self._thread = threading.Thread(target=self._work, name=f"refine-{self.source_key}", daemon=True)
        if prepare_thread is not None:
            prepare_thread(self._thread)
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop at the pipeline's next progress report; nothing is saved."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> RefineStatus:
        """Wait for the work to end (or ``timeout`` seconds) and say where it stands."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def status(self) -> RefineStatus:
        with self._lock:
            stage, done, total = self._stage
            elapsed = time.perf_counter() - self._started
            left = None
            if self._state == "running" and stage == "encode" and self._encode_started is not None:
                left = self._clock.left(done, total, time.perf_counter() - self._encode_started)
            return RefineStatus(self._state, stage, done, total, elapsed, left, self._error)

    def comparison(self) -> RunComparison:
        """How the refined segments sit against the ones refined (after ``done``)."""
        if self.run is None:
            raise SegmentationError("the refinement has not finished")
        return compare_runs(self.source_key, self.run.run_key, self.workspace)

    def carry_names(self) -> CarryReport:
        """Carry the refined run's names again: names typed on the source run since the refinement was saved
        land on the matching refined segments (a name already set there is kept)."""
        if self.run is None:
            raise SegmentationError("the refinement has not finished")
        return carry_names(self.source_key, self.run.run_key, self.workspace)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise _Cancelled
        with self._lock:
            if stage == "encode" and self._encode_started is None:
                self._encode_started = time.perf_counter()
            self._stage = (stage, done, total)

    def _work(self) -> None:
        try:
            run = run_and_save(self.comments, self.config, progress=self._progress, workspace=self.workspace,
                               compute=self.compute, carry_from=self.source_key, file_sha256=self.file_sha256)
        except _Cancelled:
            outcome, error, run = "cancelled", None, None
        except SegmentationError as failure:
            outcome, error, run = "failed", str(failure), None
        except Exception as failure:  # a thread's error has no page to reach but this status
            outcome, error, run = "failed", f"{type(failure).__name__}: {failure}", None
        else:
            outcome, error = "done", None
        with self._lock:
            self.run = run
            self._state, self._error = outcome, error
