"""The live server the browser tests drive: one `streamlit run app.py` per test module, own workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import recording_page
from tests.e2e.live import serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("log")
    try:
        with serve(tmp_path_factory.mktemp("workspace"), logs / "streamlit.log") as url:
            yield url
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture
def browser_page(server: str) -> Iterator[tuple]:
    """``(page, dialogs, hosts)`` from :func:`tests.e2e.browser.recording_page`, with the server running."""
    with recording_page() as recorded:
        yield recorded
