"""The data set the session works on: the generated demo by default, or an uploaded file.

The session keeps the uploaded bytes and the column mapping, so every page (and a page switch) sees
the same comments; reading and cleaning are cached by content. An upload is also kept in the workspace
by its sha256 (``segmentation.ingest.uploads``), so a browser reload or a server restart finds it again.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from segmentation.ingest.formats import FORMATS, UPLOAD_SUFFIXES
from segmentation.ingest.io import ROLES, Comments, detect_roles
from segmentation.ingest.uploads import StoredUpload, UploadStore
from segmentation.present.views import escape_markdown
from ui import loaders, session, state
from ui.session import Source

QUERY_KEY = "data"
CHOICE_KEY = "data_choice"  # the Data page's choice of source: "demo", "upload" or "run" (a run folder)
DEMO_NOTE = "Generated demo data (synthetic reviews, not real customers)"


@st.cache_resource(show_spinner=False)
def demo_source() -> Source:
    from segmentation.demo import DEMO_PATH

    data = Path(DEMO_PATH).read_bytes()
    return Source(name=Path(DEMO_PATH).name, data=data, digest=loaders.sha256(data), is_demo=True)




@st.cache_resource(max_entries=8, show_spinner=False)
def _upload_slot(digest: str) -> dict:
    """Uploaded bytes kept in server memory, so a browser refresh does not read them from disk again."""
    return {}


def uploads() -> UploadStore:
    return UploadStore()


def source() -> Source:
    """The session's data source: the upload, the one named in the URL after a refresh, or the demo.

    The URL carries only the sha256 of the upload (``?data=``). The bytes come from this server's memory,
    else from the workspace (after a restart, with a note saying so); a digest found in neither leaves
    the demo loaded with a warning, never silently.
    """
    chosen = session.source()
    if chosen is None:
        digest = st.query_params.get(QUERY_KEY)
        chosen = _upload_slot(digest).get("source") if digest else None
        if chosen is None and digest:
            chosen = _restore(digest)
        if chosen is None:
            chosen = demo_source()
        else:
            session.set_source(chosen)
    # Only write when the URL must change: every write is a message to the browser.
    if chosen.is_demo:
        _forget_upload_in_url()
    elif st.query_params.get(QUERY_KEY) != chosen.digest:
        st.query_params[QUERY_KEY] = chosen.digest
    return chosen


def _restore(digest: str) -> Source | None:
    kept = uploads().load(digest)
    if kept is None:
        session.set_source_note(("warning", "The file this address refers to is no longer in the "
                                 "workspace: the demo data is shown. Upload the file again."))
        return None
    return _kept_source(kept, f"Restored {escape_markdown(kept.name)} from the workspace, where it was kept "
                              "when uploaded.")


def open_file(digest: str) -> bool:
    """Make the file with this sha256 the session's data: the demo, or an upload kept in the workspace.

    Returns False when it is neither (an upload that was never kept here, or removed since). Call it before
    the Data page's choice of source is drawn in this run (a button's callback, or another page).
    """
    if digest == demo_source().digest:
        use_demo()
        state.adopt_now({CHOICE_KEY: "demo"})
        return True
    kept = uploads().load(digest)
    if kept is None:
        return False
    session.set_source(_kept_source(kept, f"Opened {escape_markdown(kept.name)}, kept in the workspace "
                                          "since it was uploaded."))
    # The Data page's choice follows, or its next run would load what it held before (the demo).
    state.adopt_now({CHOICE_KEY: "upload"})
    return True


def _kept_source(kept: StoredUpload, note: str) -> Source:
    chosen = Source(name=kept.name, data=kept.data, digest=kept.digest)
    _upload_slot(kept.digest)["source"] = chosen
    if kept.roles:
        session.set_roles(kept.digest, dict(kept.roles))
    session.set_source_note(("info", note))
    return chosen


def show_note() -> None:
    """Say where the data came from when it was restored after a restart, or could not be."""
    kept = session.source_note()
    if kept is not None:
        kind, line = kept
        (st.warning if kind == "warning" else st.info)(line, icon=":material/restore:")


def uploader(label: str, key: str, **options):
    """A file picker for comments: the formats the loader reads, named in its label and offered by suffix."""
    return st.file_uploader(f"{label} ({FORMATS})", key=key, type=list(UPLOAD_SUFFIXES), **options)


def use_upload(name: str, data: bytes) -> Source:
    chosen = Source(name=name, data=data, digest=loaders.sha256(data))
    session.set_source(chosen)
    session.set_source_note(None)
    _upload_slot(chosen.digest)["source"] = chosen
    uploads().save(name, data)
    return chosen


def use_demo() -> None:
    if session.source() is not None:  # a switch to the demo, not a failed restore
        session.set_source_note(None)
    session.set_source(None)
    _forget_upload_in_url()


def _forget_upload_in_url() -> None:
    if QUERY_KEY in st.query_params:  # only when present: every change to the URL messages the browser
        del st.query_params[QUERY_KEY]


def raw_table(src: Source) -> pd.DataFrame:
    """The table as read (strings), cached by content. Raises DataError for unreadable files."""
    return loaders.read_upload(src.digest, src.name, src.data)


def roles_for(src: Source, columns: list[str]) -> dict[str, str]:
    """The column mapping chosen for this file, else the detected one; ``""`` = no such column."""
    chosen = session.roles(src.digest)
    if chosen is not None:
        return dict(chosen)
    detected = detect_roles(columns)
    return {role: detected.get(role) or "" for role in ROLES}


def set_roles(src: Source, roles: dict[str, str]) -> None:
    session.set_roles(src.digest, roles)
    if not src.is_demo:
        uploads().save_roles(src.digest, dict(roles))


def comments() -> Comments:
    """The session's comments under the chosen mapping. Raises DataError where they cannot be used."""
    src = source()
    raw = raw_table(src)
    roles = roles_for(src, list(raw.columns))
    return loaders.comments_for(src.digest, src.name, tuple(sorted(roles.items())), raw)
