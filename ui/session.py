"""Every session_state key the app keeps outside widgets, with its type, in one place.

Widget values are kept by :func:`ui.state.kept` under the key a page gives the widget; everything else a
session remembers goes through the functions here, so a key is spelled once and read as the type it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from ui import route

if TYPE_CHECKING:
    from segmentation.describe.naming import NameSuggestion
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.runs.service import Run


@dataclass(frozen=True)
class Source:
    """Where the session's data comes from: a display name, the bytes and their sha256."""

    name: str
    data: bytes
    digest: str
    is_demo: bool = False


@dataclass(frozen=True)
class AddressRun:
    """The run the address named when the session started, until it is shown: its id, or why it cannot be."""

    key: str
    problem: str = ""


_RUN = "run"  # service.Run: the run the pages show
_ADDRESS_RUN = "address_run"  # AddressRun | None: absent until the address was read (once per session)
_SOURCE = "source"  # Source: the uploaded data (absent: the demo)
_SOURCE_NOTE = "source_note"  # (kind, line): where restored data came from, or why it could not be
_ROLES = "roles"  # {sha256 of a file: {role: column}}: the column mapping chosen per file
_UPLOAD_ID = "upload_id"  # str: the uploader's id of the file last read, so a rerun does not read it again
_SUGGESTIONS = "llm_suggestions"  # {run key: {segment id: NameSuggestion}}
_NAME_ERRORS = "_name_errors"  # {name input key: message}: the last refused name, shown under its input
_CANCELLED = "run_cancelled"  # bool: Cancel was pressed during the last run
_RUN_ASKED = "run_asked"  # SegmentConfig: Run was pressed with these settings; the page's next run computes it
WIDGET_SHADOW = "_kept_"  # prefix of ui.state.kept's copy of a widget value
_SAVED_SHADOW = "_ws_"  # prefix of what the workspace held when a name input was last set from it


def run() -> Run | None:
    return st.session_state.get(_RUN)


def set_run(value: Run) -> None:
    """Show ``value`` from now on, and name it in the address."""
    st.session_state[_RUN] = value
    if st.session_state.get(_ADDRESS_RUN) is not None:  # shown: the address's run is settled
        st.session_state[_ADDRESS_RUN] = None
    route.put_run_in_address(value.run_key)


def forget_run() -> None:
    """Show no run until a page restores one (the data changed); the address stops naming the old one."""
    shown = st.session_state.pop(_RUN, None) is not None
    if st.session_state.get(_ADDRESS_RUN) is not None:
        st.session_state[_ADDRESS_RUN] = None
        shown = True
    if shown:
        route.put_run_in_address(None)


def address_read() -> bool:
    """Whether this session has read the run its address named (it does so once, on its first page)."""
    return _ADDRESS_RUN in st.session_state


def address_run() -> AddressRun | None:
    """The run the address named, until it is shown (None: it named none, or it is shown now)."""
    return st.session_state.get(_ADDRESS_RUN)


def set_address_run(value: AddressRun | None) -> None:
    st.session_state[_ADDRESS_RUN] = value


def source() -> Source | None:
    return st.session_state.get(_SOURCE)


def set_source(value: Source | None) -> None:
    """Make ``value`` the session's data (None: the demo). Other data ends the run shown: it was of the
    data before."""
    before = source()
    if (before.digest if before else None) != (value.digest if value else None):
        forget_run()
    if value is None:
        st.session_state.pop(_SOURCE, None)
    else:
        st.session_state[_SOURCE] = value


def source_note() -> tuple[str, str] | None:
    return st.session_state.get(_SOURCE_NOTE)


def set_source_note(value: tuple[str, str] | None) -> None:
    if value is None:
        st.session_state.pop(_SOURCE_NOTE, None)
    else:
        st.session_state[_SOURCE_NOTE] = value


def roles(digest: str) -> dict[str, str] | None:
    return st.session_state.get(_ROLES, {}).get(digest)


def set_roles(digest: str, value: dict[str, str]) -> None:
    """Keep the column mapping chosen for a file; a changed one makes other comments, and ends the run shown."""
    chosen = st.session_state.setdefault(_ROLES, {})
    if chosen.get(digest) not in (None, value):
        forget_run()
    chosen[digest] = dict(value)


def upload_id() -> str | None:
    return st.session_state.get(_UPLOAD_ID)


def set_upload_id(value: str) -> None:
    st.session_state[_UPLOAD_ID] = value


def cancelled() -> bool:
    """Whether Cancel was pressed (read once: asking clears it)."""
    return bool(st.session_state.pop(_CANCELLED, False))


def set_cancelled(value: bool) -> None:
    if value:
        st.session_state[_CANCELLED] = True
    else:
        st.session_state.pop(_CANCELLED, None)


def ask_run(config: SegmentConfig) -> None:
    """Remember that Run was pressed with ``config``: the settings are a fragment of the page, and the run itself
    (its live progress and Cancel) belongs to the whole page's next run."""
    st.session_state[_RUN_ASKED] = config


def asked_run() -> SegmentConfig | None:
    """The settings Run was pressed with, if it was (read once: asking clears it)."""
    return st.session_state.pop(_RUN_ASKED, None)


def suggestions(run_key: str) -> dict[int, NameSuggestion]:
    return st.session_state.get(_SUGGESTIONS, {}).get(run_key, {})


def set_suggestions(run_key: str, value: dict[int, NameSuggestion]) -> None:
    st.session_state.setdefault(_SUGGESTIONS, {})[run_key] = value


def name_key(run_key: str, segment_id: int) -> str:
    """The key of a segment's name input."""
    return f"name_{run_key}_{segment_id}"


def description_key(run_key: str, segment_id: int) -> str:
    """The key of a segment's description input."""
    return f"description_{run_key}_{segment_id}"


def accept_key(run_key: str, segment_id: int) -> str:
    """The key of a segment's "use this suggestion" button."""
    return f"accept_{run_key}_{segment_id}"


def saved_shadow(key: str) -> str:
    """Where a name input remembers the workspace's value it was last set from."""
    return _SAVED_SHADOW + key


def name_error(key: str) -> str | None:
    return st.session_state.get(_NAME_ERRORS, {}).get(key)


def set_name_error(key: str, message: str | None) -> None:
    errors: dict[str, str] = st.session_state.setdefault(_NAME_ERRORS, {})
    if message is None:
        errors.pop(key, None)
    else:
        errors[key] = message


def value(key: str, default: Any = None) -> Any:
    """A widget's value by its key (widgets own these keys; this reads them)."""
    return st.session_state.get(key, default)


def set_value(key: str, new: Any) -> None:
    """Set a widget's value before it is drawn (or in its callback)."""
    st.session_state[key] = new
