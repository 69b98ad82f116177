"""Shared AppTest helpers for the page tests: start the app, run a segmentation, read plotly specs."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


def start() -> AppTest:
    """A fresh browser session on the Data page (the demo data loaded)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def run_segmentation(at: AppTest, *, encoder: str = "tfidf", algorithm: str = "kmeans", k: int | None = 4):
    """Go to the Segment page, choose the settings and press Run."""
    at.switch_page("pages/segment.py").run()
    at.selectbox(key="seg_encoder").set_value(encoder).run()
    at.selectbox(key="seg_algorithm").set_value(algorithm).run()
    if k is not None and algorithm != "hdbscan":
        at.checkbox(key="seg_auto_k").uncheck().run()
        at.slider(key="seg_k").set_value(k).run()
    run_button(at).click().run()
    assert not at.exception, at.exception
    return at


def open_chart(at: AppTest, tab: str) -> AppTest:
    """Open the Segment page's chart tab ``tab``, as a click on it does: only the open tab's chart is drawn."""
    at.session_state["seg_chart"] = tab
    return at.run()


def run_button(at: AppTest):
    return next(b for b in at.button if b.label == "Run")


def figures(at: AppTest) -> list[dict]:
    """The plotly figures on the page, as their JSON specs."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def figure(at: AppTest, title_start: str) -> dict:
    found = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith(title_start)]
    assert found, f"no chart titled {title_start!r}: {[f['layout'].get('title') for f in figures(at)]}"
    return found[0]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def unescape_markdown(text: str) -> str:
    """Undo ``views.escape_markdown`` (what st.error received) to compare with the library's message."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def array(value) -> np.ndarray:
    """A plotly array from a spec: plain lists, or the typed arrays plotly 6+ writes (``bdata``)."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return data.reshape(value["shape"]) if "shape" in value else data
    return np.asarray(value, dtype=object)
