"""Adding a clusterer is one new file plus its tests.

A Gaussian mixture with one parameter of its own (``covariance_type``) is written and registered here, in
the test only (it has not earned a place in the product on real data): the config then accepts and checks
its parameter, the CLI offers its flag, the pipeline fits it, and the Segment page lists it and draws its
widget, with no other file changed.
"""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.cluster.base import CLUSTERERS, K, check_k, register, relabel_by_size, segment_centers
from segmentation.core.constraints import Options
from segmentation.core.errors import ConfigError
from segmentation.core.params import Param
from tests.fixtures import labelled_comments
from tests.pages_helpers import metric, run_button, start

COVARIANCE_TYPE = Param(
    "covariance_type",
    (Options(("diag", "spherical", "full")),),
    "diag",
    "shape of each mixture component: diag | spherical | full",
    label="Component shape",
    widget="radio",
    option_labels={"diag": "Axis-aligned ellipses", "spherical": "Spheres", "full": "Any ellipse"},
)


class GaussianMixtureClusterer:
    """Soft k-means with a shape per segment (scikit-learn ``GaussianMixture``), labels by most likely."""

    name = "gaussian_mixture"
    label = "Gaussian mixture"
    order = 50
    parameters = (K, COVARIANCE_TYPE)
    chooses_k = False
    keeps_tree = False
    default_space = "pca"
    sweep_param = "k"

    def __init__(self, k: int = 8, covariance_type: str = "diag", seed: int = 0) -> None:
        self.k = k
        self.covariance_type = covariance_type
        self.seed = seed

    def fit(self, X: np.ndarray) -> GaussianMixtureClusterer:
        from sklearn.mixture import GaussianMixture

        X = np.asarray(X, dtype=np.float64)
        k = check_k(self.k, len(X))
        self._model = GaussianMixture(k, covariance_type=self.covariance_type, random_state=self.seed).fit(X)
        self.labels_ = relabel_by_size(self._model.predict(X))
        self.centers_ = segment_centers(X, self.labels_)
        self.notes_ = [f"Gaussian mixture with k={k} ({self.covariance_type} components)"]
        return self

    def segment_distances(self, X: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(X)[:, None, :] - self.centers_[None, :, :], axis=2)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.segment_distances(X).argmin(axis=1).astype(np.int64)


@pytest.fixture
def mixture():
    register(GaussianMixtureClusterer)
    yield GaussianMixtureClusterer
    del CLUSTERERS[GaussianMixtureClusterer.name]


def test_the_config_accepts_checks_and_keeps_the_new_parameter(mixture) -> None:
    from segmentation.pipeline.config import SegmentConfig

    config = SegmentConfig.from_dict({"algorithm": "gaussian_mixture", "k": 3, "covariance_type": "full"})
    assert config.covariance_type == "full"
    assert SegmentConfig.from_dict(config.to_dict()) == config
    assert SegmentConfig(algorithm="gaussian_mixture").covariance_type == "diag"  # its default
    with pytest.raises(ConfigError, match="covariance_type='cube' is not allowed"):
        SegmentConfig.from_dict({"algorithm": "gaussian_mixture", "covariance_type": "cube"})
    assert "covariance_type" not in SegmentConfig().to_dict()  # other algorithms' runs keep their keys


def test_the_cli_offers_the_new_flag_and_it_reaches_the_config(mixture) -> None:
    from segmentation.cli import _config, build_parser

    args = build_parser().parse_args(["segment", "in.csv", "--out", "o", "--algorithm", "gaussian_mixture",
                                      "--covariance-type", "spherical"])
    assert _config(args).covariance_type == "spherical"


def test_the_pipeline_fits_the_new_clusterer_and_sweeps_its_k(mixture) -> None:
    from segmentation.ingest.io import from_frame
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import cluster_prepared, prepare

    comments = from_frame(labelled_comments()[["user_id", "text"]], source="labelled.csv")
    config = SegmentConfig(encoder="tfidf", algorithm="gaussian_mixture", k_max=5)
    result = cluster_prepared(prepare(comments, config, with_map=False), config)
    assert result.choice is not None and result.metrics["n_segments"] == result.choice.k
    assert any("Gaussian mixture" in note for note in result.notes)


def test_the_segment_page_lists_the_new_clusterer_and_draws_its_widget(mixture) -> None:
    at = start()
    at.switch_page("pages/segment.py").run()
    assert at.selectbox(key="seg_algorithm").options[-1] == "Gaussian mixture"  # its order: last
    at.selectbox(key="seg_encoder").set_value("tfidf").run()
    at.selectbox(key="seg_algorithm").set_value("gaussian_mixture").run()
    shape = at.radio(key="seg_covariance_type")
    assert shape.label == "Component shape" and shape.value == "diag"
    shape.set_value("spherical").run()
    at.checkbox(key="seg_auto_k").uncheck().run()
    at.slider(key="seg_k").set_value(3).run()
    run_button(at).click().run()
    assert not at.exception and not at.error
    assert at.session_state["run"].result.config.covariance_type == "spherical"
    assert metric(at, "Segments") == "3"
