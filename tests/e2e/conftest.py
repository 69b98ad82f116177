"""The live server the browser tests drive: one `streamlit run app.py` per test module, own workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import recording_page
from tests.e2e.live import serve

# Playwright's 5 s default for ``expect`` is a latency target, not a correctness check: on a shared 2-core
# machine a rerun after an upload has taken longer. The tests check what appears; benchmarks time it.
EXPECT_TIMEOUT_MS = 30_000


@pytest.fixture(autouse=True)
def patient_expect() -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect.set_options(
        timeout=EXPECT_TIMEOUT_MS)


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


@pytest.fixture
def fast_server(tmp_path, fast_home) -> Iterator[str]:
    """A server of this test's own whose workspace holds the fast encoder distilled once for the session (the app
    would distil it again, 30 s of both cores); skips where the fast encoder is not installed."""
    from segmentation.embed.base import encoder_status

    if not next(s for s in encoder_status() if s.name == "fast").available:
        pytest.skip("the fast encoder is not installed")
    workspace = tmp_path / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "models").symlink_to(fast_home / "models", target_is_directory=True)
    try:
        with serve(workspace, tmp_path / "streamlit.log") as url:
            yield url
    except RuntimeError as error:
        pytest.fail(str(error))
