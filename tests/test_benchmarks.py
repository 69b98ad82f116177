"""The benchmark harness runs end to end at a tiny size and writes the JSON the README table is built from.

A smoke run, not a timed test: only the shape of the report is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_harness_quick_run_writes_every_stage_with_time_and_peak_memory(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, "benchmarks/run.py", "--users", "200", "--repeats", "1", "--quick", "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=600,
    )

    result = json.loads(out.read_text())

    assert result["users"] == 200
    assert {"users", "stages", "encode", "recluster_s", "ksweep_s", "bertopic"} <= set(result)
    for stage in ("load", "encode_tfidf", "profile", "reduce_umap_5d", "map_2d", "cluster_kmeans",
                  "cluster_agglomerative", "cluster_bisecting", "cluster_hdbscan", "ksweep_agglomerative",
                  "silhouette", "describe", "recluster_kmeans"):
        assert set(result["stages"][stage]) >= {"median_s", "peak_rss_mb"}
        assert result["stages"][stage]["median_s"] >= 0
        assert result["stages"][stage]["peak_rss_mb"] > 0
    assert result["encode"]["tfidf"]["comments_per_s"] > 0
    assert set(result["bertopic"]) >= {"ours_s", "bertopic_s", "ratio", "nmi_ours", "nmi_bertopic"}
    assert 0 <= result["bertopic"]["nmi_ours"] <= 1 and 0 <= result["bertopic"]["nmi_bertopic"] <= 1
    assert result["machine"]["cores"] >= 1
