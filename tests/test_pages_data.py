"""The Data page: demo data by default, an uploaded file with its columns mapped, specific errors."""

from __future__ import annotations

import pytest

from segmentation.core.errors import DataError
from segmentation.ingest.io import load_comments
from tests.fixtures import labelled_comments
from tests.pages_helpers import metric, start, unescape_markdown


def upload(at, name: str, data: bytes, mime: str = "text/csv"):
    at.radio(key="data_choice").set_value("upload").run()
    at.file_uploader(key="upload").set_value((name, data, mime)).run()
    return at


def test_demo_data_is_loaded_by_default_and_labelled_as_generated():
    at = start()
    assert any("Generated demo data" in i.value for i in at.info)
    assert int(metric(at, "Users").replace(",", "")) >= 100
    assert int(metric(at, "Items").replace(",", "")) > 0
    assert len(at.dataframe) == 1


def test_uploaded_csv_is_summarised_with_its_detected_columns():
    frame = labelled_comments(users_per_group=5, comments_per_user=2).rename(columns={"text": "review"})
    at = upload(start(), "my <b>reviews</b>.csv", frame.to_csv(index=False).encode())
    assert not at.exception and not at.error
    assert metric(at, "Users") == "20" and metric(at, "Comments") == "40"
    assert metric(at, "Items") == "—"
    assert at.selectbox(key=next(k for k in _keys(at) if k.startswith("role_text_"))).value == "review"
    assert "File: my <b>reviews</b>.csv" in [t.value for t in at.text]  # shown as text, never as HTML


def test_uploaded_file_stays_loaded_after_a_page_switch():
    frame = labelled_comments(users_per_group=5, comments_per_user=2)
    at = upload(start(), "small.csv", frame.to_csv(index=False).encode())
    at.switch_page("pages/segment.py").run()
    assert any("small.csv: 20 users" in t.value for t in at.text)
    at.switch_page("pages/data.py").run()
    assert metric(at, "Users") == "20"


def test_remapping_the_user_column_changes_the_summary():
    frame = labelled_comments(users_per_group=5, comments_per_user=2)
    at = upload(start(), "small.csv", frame.to_csv(index=False).encode())
    user_key = next(k for k in _keys(at) if k.startswith("role_user_"))
    at.selectbox(key=user_key).set_value("true_group").run()
    assert metric(at, "Users") == "4"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("junk.csv", bytes(range(256)) * 20),
        ("empty.csv", b""),
        ("header_only.csv", b"user_id,text\n"),
    ],
)
def test_bad_upload_shows_the_loaders_specific_error(name: str, data: bytes):
    with pytest.raises(DataError) as expected:
        load_comments(data, name=name)
    at = upload(start(), name, data)
    assert not at.exception
    assert [unescape_markdown(e.value) for e in at.error] == [str(expected.value)]


def test_file_without_a_text_column_names_the_problem():
    at = upload(start(), "numbers.csv", b"user_id,score\n1,2\n3,4\n")
    assert not at.exception
    assert len(at.error) == 1 and "text" in at.error[0].value.lower()


def _keys(at) -> list[str]:
    return [w.key for w in at.selectbox if w.key]


def fresh_session(digest: str):
    """A new browser session opening the address of an upload (``?data=<sha256>``)."""
    from streamlit.testing.v1 import AppTest

    from tests.pages_helpers import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["data"] = digest
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_server_restart_restores_the_upload_and_its_column_mapping_from_the_workspace():
    from ui import data

    frame = labelled_comments(users_per_group=5, comments_per_user=2, seed=5).rename(columns={"text": "review"})
    frame["note"] = "x"
    at = upload(start(), "kept.csv", frame.to_csv(index=False).encode())
    key = next(k for k in _keys(at) if k.startswith("role_text_"))
    at.selectbox(key=key).set_value("note").run()  # a mapping chosen by hand
    at.selectbox(key=key).set_value("review").run()
    user_key = next(k for k in _keys(at) if k.startswith("role_user_"))
    at.selectbox(key=user_key).set_value("").run()  # no user column: each comment is its own user
    digest = at.query_params["data"]
    data._upload_slot.clear()  # what a restart does to the server's memory
    again = fresh_session(digest)
    assert any("Restored kept.csv from the workspace" in unescape_markdown(i.value) for i in again.info)
    assert "File: kept.csv" in [t.value for t in again.text]
    assert metric(again, "Users") == metric(again, "Comments") == str(len(frame))
    assert not any("Generated demo data" in i.value for i in again.info)


def test_an_address_whose_file_is_gone_shows_the_demo_with_a_warning_never_silently():
    at = fresh_session("ab" * 32)
    assert any("no longer in the workspace" in w.value for w in at.warning)
    assert any("Generated demo data" in i.value for i in at.info)

