"""Name and description inputs that save to the workspace on every change and follow other sessions' edits."""

from __future__ import annotations

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.describe.naming import NameSuggestion, endpoint_from_settings, suggest_all
from segmentation.present.views import escape_markdown
from segmentation.runs.records import SegmentName
from segmentation.runs.service import Run
from ui import loaders, session
from ui.text import show_error


def _synced(key: str, saved: str) -> None:
    """Show the saved value, unless this session is the one that last typed something else.

    The shadow remembers what the workspace held when the input was last set from it: when the workspace
    changes (another session saved), the input follows on the next rerun.
    """
    shadow = session.saved_shadow(key)
    if session.value(key) is None or session.value(shadow) != saved:
        session.set_value(key, saved)
        session.set_value(shadow, saved)


def _save(run_key: str, segment_id: int, name_key: str, description_key: str, source: str = "user") -> None:
    name = session.value(name_key)
    description = session.value(description_key)
    try:
        loaders.workspace().save_name(run_key, segment_id, name, description, source=source)
    except SegmentationError as error:
        session.set_name_error(name_key, str(error))
        # Put the saved value back: the input must never show a name that is not saved.
        session.set_value(name_key, session.value(session.saved_shadow(name_key), ""))
        session.set_value(description_key, session.value(session.saved_shadow(description_key), ""))
        return
    session.set_name_error(name_key, None)
    # What was typed is now what the workspace holds.
    session.set_value(session.saved_shadow(name_key), name.strip())
    session.set_value(session.saved_shadow(description_key), description.strip())
    st.toast(f"Saved the name “{escape_markdown(name.strip())}”", icon=":material/check:")


def _accept(run_key: str, segment_id: int, name_key: str, description_key: str,
            suggestion: NameSuggestion) -> None:
    session.set_value(name_key, suggestion.name)
    session.set_value(description_key, suggestion.description)
    _save(run_key, segment_id, name_key, description_key, source="llm")


def name_inputs(run_key: str, segment_id: int, suggested: str, saved: SegmentName | None) -> None:
    """An editable name and description for one segment, saved at once."""
    name_key = session.name_key(run_key, segment_id)
    description_key = session.description_key(run_key, segment_id)
    _synced(name_key, saved.name if saved else suggested)
    _synced(description_key, saved.description if saved else "")
    args = (run_key, segment_id, name_key, description_key)
    st.text_input("Name", key=name_key, on_change=_save, args=args, max_chars=80,
                  help="Saved as soon as you press Enter or leave the field")
    st.text_input("Description", key=description_key, on_change=_save, args=args, max_chars=500,
                  placeholder="One line for the marketing team")
    error = session.name_error(name_key)
    if error:
        show_error(SegmentationError(error))


def accept_button(run_key: str, segment_id: int, suggestion: NameSuggestion, label: str) -> None:
    """A button that saves a language-model suggestion as the segment's name."""
    name_key = session.name_key(run_key, segment_id)
    description_key = session.description_key(run_key, segment_id)
    st.button(label, key=session.accept_key(run_key, segment_id), on_click=_accept,
              args=(run_key, segment_id, name_key, description_key, suggestion))


def _secrets() -> dict:
    """Streamlit secrets as a plain mapping; empty when the app has no secrets file."""
    try:
        return dict(st.secrets)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}


def suggestion_panel(run: Run) -> dict[int, NameSuggestion]:
    """The "Suggest names" button and what the language model last suggested for this run, by segment id.

    The button is greyed, with the reason beside it, when no chat endpoint is configured.
    """
    endpoint, reason = endpoint_from_settings(secrets=_secrets())
    suggestions = session.suggestions(run.run_key)
    ask = st.button("Suggest names with the language model", icon=":material/auto_awesome:",
                    disabled=endpoint is None,
                    help=escape_markdown(reason) if reason else "Asks the chat model; you accept or edit")
    if endpoint is None:
        st.caption(escape_markdown(reason))
    if ask and endpoint is not None:
        try:
            with st.spinner("Asking the language model…"):
                suggestions = suggest_all(endpoint, run.result.segments)
            session.set_suggestions(run.run_key, suggestions)
        except SegmentationError as error:
            show_error(error)
    return suggestions
