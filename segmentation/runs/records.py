"""What the workspace keeps, record by record: its tables, a run's details, a segment's name and each rename,
and how a stored row is packed, unpacked and checked.

A run's assignments are packed as zlib-compressed JSON; a row read back is checked column by column, so a
damaged run is listed with the reason it cannot be used instead of breaking the list. A name is cleaned
(trimmed, one line, bounded, no control characters) before it is saved.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from segmentation.core.constraints import encodable
from segmentation.core.errors import ConfigError, reason
from segmentation.core.labels import MAX_NAME_LENGTH

SOURCES = ("user", "carried", "llm")
MAX_DESCRIPTION_LENGTH = 500
MAX_RUN_KEY_LENGTH = 64  # a key is 16 hex digits; the bound only keeps a hostile address short

# 2: runs keep their pipeline version and a record (metrics, timings, notes, user count).
SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_key     TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    assignments BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_fingerprint ON runs (fingerprint, seq);
CREATE TABLE IF NOT EXISTS segment_names (
    run_key     TEXT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    segment_id  INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL CHECK (source IN ('user', 'carried', 'llm')),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (run_key, segment_id)
);
CREATE TABLE IF NOT EXISTS name_history (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_key         TEXT NOT NULL,
    segment_id      INTEGER NOT NULL,
    old_name        TEXT,
    new_name        TEXT NOT NULL,
    old_description TEXT,
    new_description TEXT NOT NULL,
    source          TEXT NOT NULL,
    changed_at      TEXT NOT NULL,
    from_run        TEXT,
    from_segment    INTEGER
);
CREATE INDEX IF NOT EXISTS history_by_segment ON name_history (run_key, segment_id, id);
"""

# Columns added after version 1, added in place to a workspace saved before (nothing is rewritten, so
# every saved name stays). A run saved before has pipeline version 1 and an empty record; a name carried
# before version 3 does not say where it came from.
_ADDED_COLUMNS = {
    "runs": {"pipeline_version": "INTEGER NOT NULL DEFAULT 1", "record": "TEXT NOT NULL DEFAULT '{}'"},
    "name_history": {"from_run": "TEXT", "from_segment": "INTEGER"},
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_RUN_KEY = r"[0-9A-Za-z_-]+"
# One run as _record_damage reads it (the first nine columns), then its packed assignments.
_RUN_ROW = (
    "SELECT r.run_key, r.fingerprint, r.config, r.created_at, r.saved_at,"
    " (SELECT COUNT(*) FROM segment_names n WHERE n.run_key = r.run_key),"
    " r.pipeline_version, r.record, r.seq, r.assignments FROM runs r"
)
_CHUNK = 2**20
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SegmentName:
    """A saved name of one segment of one run."""

    name: str
    description: str
    source: str
    updated_at: str


@dataclass(frozen=True)
class NameChange:
    """One row of the audit trail: a name (and description) replaced by another.

    A name carried over from an earlier run names that run and segment in ``from_run`` and
    ``from_segment`` (None otherwise, and for names carried before the workspace kept them).
    """

    run_key: str
    segment_id: int
    old_name: str | None
    new_name: str
    old_description: str | None
    new_description: str
    source: str
    changed_at: str
    from_run: str | None = None
    from_segment: int | None = None


@dataclass(frozen=True)
class RunInfo:
    """A saved run, without its assignments (``Workspace.assignments`` and ``Workspace.table`` read those).

    ``record`` holds what the run measured: ``metrics``, ``timings`` (seconds per stage), ``notes`` and
    ``n_users`` (empty for a run saved before the workspace kept them), and ``descriptions``, each segment's
    keywords, representative comments and top items as the run described them (absent from runs saved before).
    ``damaged`` says why a run cannot be used (its saved record or one of its files is unreadable; empty when it
    is intact): such a run is listed, with what could be read of it, but never shown, restored or carried from.
    """

    run_key: str
    fingerprint: str
    config: dict
    created_at: str
    saved_at: str
    n_named: int
    pipeline_version: int = 1
    record: dict = field(default_factory=dict)
    damaged: str = ""

    @property
    def metrics(self) -> dict:
        return self.record.get("metrics", {})


def run_key(fingerprint: str, config: Mapping) -> str:
    """Return a short stable key for one segmentation of one data set.

    Parameters
    ----------
    fingerprint : str
        The data set's fingerprint (``Comments.fingerprint()``).
    config : mapping
        The run's configuration (JSON-serialisable; other values are keyed by their ``str``).

    Returns
    -------
    str
        The first 16 hex digits of the sha256 of both, independent of the config's key order.
    """
    payload = json.dumps({"fingerprint": fingerprint, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def is_run_key(text: object) -> bool:
    """Whether ``text`` has the shape of a run id (letters, digits, ``_`` and ``-``; at most 64 characters).

    A run id from an address or a command line is untrusted: check its shape before it reaches the workspace.
    """
    return isinstance(text, str) and len(text) <= MAX_RUN_KEY_LENGTH and re.fullmatch(_RUN_KEY, text) is not None


def _clean_name(name: str, description: str, source: str) -> tuple[str, str]:
    if source not in SOURCES:
        raise ConfigError(f"Unknown name source {source!r}; use one of {', '.join(SOURCES)}.")
    if not isinstance(name, str) or not isinstance(description, str):
        raise ConfigError("A segment name and its description must be text.")
    # A name is a one-line label: any run of whitespace (newlines included) becomes one space.
    name = _WHITESPACE.sub(" ", name).strip()
    description = description.strip()
    if not name:
        raise ConfigError("A segment name cannot be empty; type a few words that describe the segment.")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"A segment name can have at most {MAX_NAME_LENGTH} characters; this has {len(name)}."
        )
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ConfigError(
            f"A segment description can have at most {MAX_DESCRIPTION_LENGTH} characters; "
            f"this has {len(description)}."
        )
    if _CONTROL.search(name) or _CONTROL.search(description):
        raise ConfigError("A segment name or description cannot contain control characters.")
    if not (encodable(name) and encodable(description)):
        raise ConfigError(
            "A segment name or description cannot contain a lone surrogate (half a character, such as \\ud800)."
        )
    return name, description


def _pack(assignments: Mapping[str, int]) -> bytes:
    users = [str(user) for user in assignments]
    segments = [int(segment) for segment in assignments.values()]
    payload = json.dumps({"users": users, "segments": segments}, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(payload.encode("utf-8"), 6)


# What unpacking damaged assignments raises: corrupt zlib data, bytes that are not UTF-8, not JSON, JSON
# of another shape (no "users", a number, lists of unequal length, values of the wrong type).
_UNREADABLE = (zlib.error, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError)


def _assignments_of(blob: bytes) -> dict[str, int]:
    payload = json.loads(zlib.decompress(blob).decode("utf-8"))
    users, segments = payload["users"], payload["segments"]
    if not all(isinstance(user, str) for user in users) or not all(type(s) is int for s in segments):
        raise ValueError("a user id is not text or a segment is not a whole number")
    return dict(zip(users, segments, strict=True))


def _unpack(blob: bytes, run_key: str) -> dict[str, int]:
    """The assignments packed by :func:`_pack`; ``ConfigError`` naming the run when they are damaged."""
    try:
        return _assignments_of(blob)
    except _UNREADABLE as error:
        why = f"its saved assignments are unreadable: {reason(error)}"
        raise ConfigError(damaged_message(run_key, why)) from None


def damaged_message(run_key: str, reason: str) -> str:
    """The one message for a saved run that cannot be read, whatever part of it is damaged."""
    return (
        f"run {run_key} is damaged ({reason}); it cannot be shown or reused. Run the segmentation again "
        "to save a new run (`python -m segmentation runs` lists the damaged run as damaged)"
    )


def _blob_damage(blob: object) -> str:
    """Why a packed assignments blob is unreadable ("" when it decompresses whole), in bounded memory."""
    if not isinstance(blob, bytes):
        return "its saved assignments are not stored data"
    stream, pending = zlib.decompressobj(), blob
    try:
        while not stream.eof:
            # At most _CHUNK bytes out per call (the output is thrown away): a blob that inflates to
            # gigabytes costs time, never memory.
            out = stream.decompress(pending, _CHUNK)
            pending = stream.unconsumed_tail
            if not out:
                break
    except zlib.error as error:
        return f"its saved assignments are corrupt: {reason(error)}"
    return "" if stream.eof else "its saved assignments are cut short"


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _record_damage(row: tuple) -> tuple[str, dict, dict]:
    """Why a runs row cannot be used ("" when it can), and its config and record as far as they read."""
    key, fingerprint, config, created, saved, _, version, record, seq = row
    parsed = {}
    for column, text in (("config", config), ("record", record)):
        try:
            value = json.loads(text) if isinstance(text, str) else None
        except (ValueError, RecursionError):  # not JSON, a number too long to convert, nested too deep
            value = None
        if not isinstance(value, dict):
            return f"its {column} is not a JSON object", {}, {}
        parsed[column] = value
    if not isinstance(parsed["record"].get("metrics", {}), dict):
        return "its metrics are not a JSON object", parsed["config"], {}
    if not (isinstance(key, str) and re.fullmatch(_RUN_KEY, key)):
        return "its run id is missing or not an id", parsed["config"], parsed["record"]
    texts = {"fingerprint": fingerprint, "created_at": created, "saved_at": saved}
    missing = [column for column, value in texts.items() if not isinstance(value, str)]
    if missing:
        return f"its {missing[0]} is missing or not text", parsed["config"], parsed["record"]
    if type(version) is not int or type(seq) is not int:
        return "its pipeline version or order is not a whole number", parsed["config"], parsed["record"]
    return "", parsed["config"], parsed["record"]


__all__ = ["MAX_DESCRIPTION_LENGTH", "MAX_NAME_LENGTH", "SOURCES", "NameChange", "RunInfo", "SegmentName", "is_run_key",
           "run_key"]
