"""Parameters are checked at the library's doors: a wrong type or range is one ConfigError naming the
parameter, the value and what is allowed, never a TypeError or AttributeError from deep inside."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from segmentation.core.constraints import MAX_K_SWEEP, MAX_SEED, Interval, Options, validate
from segmentation.core.errors import ConfigError
from segmentation.ingest.io import from_frame, load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import prepare, segment
from segmentation.runs.workspace import Workspace

COMMENTS = pd.DataFrame({
    "user_id": ["a", "a", "b", "b", "c", "c"],
    "text": ["espresso tastes rich", "grinder is fine", "trail shoes grip", "running shorts light",
             "tomato seeds sprouted", "pruning shears work"],
})


@pytest.mark.parametrize(
    ("settings", "parameter", "allowed"),
    [
        ({"k_max": "10"}, "k_max", r"a whole number in \[2, 100\]"),
        ({"k_max": 100_000}, "k_max", r"a whole number in \[2, 100\]"),
        ({"k": 1}, "k", r"a whole number in \[2, 1,000\] or one of 'auto'"),
        ({"k": True}, "k", r"a whole number"),
        ({"k": 2.5}, "k", r"a whole number"),
        ({"seed": -1}, "seed", r"a whole number in \[0, 4,294,967,295\]"),
        ({"seed": 2**64}, "seed", r"a whole number in \[0, 4,294,967,295\]"),
        ({"attribute_weight": math.nan}, "attribute_weight", r"a finite number ≥ 0"),
        ({"attribute_weight": math.inf}, "attribute_weight", r"a finite number ≥ 0"),
        ({"half_life_days": 0}, "half_life_days", r"a finite number > 0 or None"),
        ({"encoder": None}, "encoder", r"non-empty text"),
        ({"encoder": ""}, "encoder", r"non-empty text"),
        ({"algorithm": "kmean"}, "algorithm", r"one of 'kmeans'"),
        ({"attributes": "age"}, "attributes", r"a tuple of column names"),
        ({"min_cluster_size": np.float64(3.0)}, "min_cluster_size", r"a whole number ≥ 2"),
    ],
)
def test_a_config_refuses_a_wrong_value_naming_parameter_value_and_what_is_allowed(
    settings: dict, parameter: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        SegmentConfig(**settings)
    message = str(raised.value)
    value = next(iter(settings.values()))
    assert message.startswith(f"{parameter}=")
    assert re.search(allowed, message), message
    assert "\n" not in message
    shown = message.split(" is not allowed")[0].split("=", 1)[1]
    assert shown.strip("'") in (str(value), repr(value), "None") or shown.endswith("…")


def test_numpy_integers_and_floats_are_accepted_and_stored_as_plain_numbers() -> None:
    config = SegmentConfig(k=np.int64(3), k_max=np.int32(12), seed=np.uint32(MAX_SEED),
                           attribute_weight=np.float32(0.25), attributes=["age"])
    assert (config.k, config.k_max, config.seed) == (3, 12, MAX_SEED)
    assert all(type(v) is int for v in (config.k, config.k_max, config.seed))
    assert type(config.attribute_weight) is float and config.attributes == ("age",)
    # A plain-number config is JSON-able and hashable, as the run keys need.
    assert hash(config) == hash(SegmentConfig(k=3, k_max=12, seed=MAX_SEED, attribute_weight=0.25,
                                              attributes=("age",)))


def test_the_k_sweep_is_bounded() -> None:
    assert SegmentConfig(k_max=MAX_K_SWEEP).k_max == MAX_K_SWEEP
    with pytest.raises(ConfigError, match=r"k_max=101 is not allowed"):
        SegmentConfig(k_max=MAX_K_SWEEP + 1)


@pytest.mark.parametrize("source", [None, 3, ["a.csv"], pd.DataFrame({"text": ["a"]})])
def test_load_comments_refuses_a_source_that_is_neither_a_path_nor_bytes(source: object) -> None:
    with pytest.raises(ConfigError, match=r"^source=.* is not allowed: source must be a str or Path or bytes"):
        load_comments(source)


def test_from_frame_refuses_what_is_not_a_dataframe_and_a_column_name_that_is_not_text() -> None:
    with pytest.raises(ConfigError, match=r"df=<list> is not allowed"):
        from_frame([["a", "b"]])
    with pytest.raises(ConfigError, match=r"text_col=3 is not allowed"):
        from_frame(COMMENTS, text_col=3)


def test_segment_and_prepare_refuse_a_dataframe_and_say_how_to_get_comments() -> None:
    with pytest.raises(ConfigError, match=r"comments=<DataFrame> is not allowed: .*from load_comments or from_frame"):
        segment(COMMENTS)
    comments = from_frame(COMMENTS)
    with pytest.raises(ConfigError, match=r"config=<dict> is not allowed"):
        segment(comments, {"k": 2})
    with pytest.raises(ConfigError, match=r"config=None is not allowed"):
        prepare(comments, None)


@pytest.mark.parametrize(
    ("segment_id", "name", "pattern"),
    [
        ("abc", "Coffee", r"segment_id='abc' is not allowed: segment_id must be a whole number ≥ -1"),
        (None, "Coffee", r"segment_id=None is not allowed"),
        (1.5, "Coffee", r"segment_id=1\.5 is not allowed"),
        (0, "half \ud800 pair", r"cannot contain a lone surrogate"),
        (0, None, r"must be text"),
    ],
)
def test_save_name_refuses_wrong_ids_and_unstorable_names_and_keeps_what_was_saved(
    tmp_path, segment_id: object, name: object, pattern: str
) -> None:
    workspace = Workspace(tmp_path / "workspace.sqlite")
    workspace.save_run("run", "fp", {}, {"a": 0, "b": 1})
    workspace.save_name("run", np.int64(0), "Coffee lovers")
    with pytest.raises(ConfigError, match=pattern):
        workspace.save_name("run", segment_id, name)
    assert {k: v.name for k, v in workspace.names("run").items()} == {0: "Coffee lovers"}
    assert len(workspace.history("run")) == 1


@pytest.mark.parametrize("top_n", [0, -5, 10**12, "10", 2.0])
def test_top_n_is_checked_before_any_work(top_n: object) -> None:
    from segmentation.recommend.evaluate import evaluate
    from segmentation.recommend.service import recommend_for_user

    comments = from_frame(COMMENTS.assign(item_id=["1", "2", "3", "4", "5", "6"]))
    with pytest.raises(ConfigError, match=r"^top_n=.* is not allowed: top_n must be a whole number in \[1, 1,000\]"):
        recommend_for_user(comments, SegmentConfig(encoder="tfidf", k=2), "a", top_n=top_n)

    def never_called(_train):
        raise AssertionError("the segmentation ran before top_n was checked")

    with pytest.raises(ConfigError, match=r"^top_n="):
        evaluate(comments, never_called, top_n=top_n)


def test_validate_describes_every_accepted_kind() -> None:
    rules = [Interval(float, 0, 1, closed="neither"), Options(("auto",)), None]
    assert validate("w", np.float64(0.5), rules) == 0.5 and validate("w", None, rules) is None
    with pytest.raises(ConfigError, match=r"^w=1 is not allowed: w must be a finite number in \(0, 1\) or one of "
                                          r"'auto' or None$"):
        validate("w", 1, rules)
