"""The live server the browser tests drive: one `streamlit run app.py` per test module, own workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.live import serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("log")
    try:
        with serve(tmp_path_factory.mktemp("workspace"), logs / "streamlit.log") as url:
            yield url
    except RuntimeError as error:
        pytest.fail(str(error))
