"""Guided segments: personas typed in words, users placed against them with the real encoders, the far ones left
to the run's segments; bad personas refused with one clear message; the result saved as a run of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

# Imported with the module: the CLI's progress writes to the stderr of the moment it is first imported.
from segmentation.cli import main
from segmentation.cluster.guided import MIN_SIMILARITY, Persona, check_language, guide, parse_personas
from segmentation.cluster.membership import soft_membership
from segmentation.core.errors import ConfigError
from segmentation.demo import DEMO_PATH, DEMO_ZH_PATH
from segmentation.ingest.io import load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.runs.guided import DISCOVERED_PREFIX, encode_personas, guide_users, save_guided
from segmentation.runs.service import runs_table
from segmentation.runs.warmup import seed_demo_embeddings
from segmentation.runs.workspace import Workspace

# Written from the demo's taste names alone, as a marketer would.
DEMO_PERSONAS = {
    "audio": "audio fans: headphones, speakers, DACs, microphones, sound quality",
    "coffee": "coffee lovers: espresso, grinders, coffee beans, brewing",
    "games": "board gamers: tabletop games, rules, players, game nights",
    "running": "runners: running shoes, miles, races, training",
    "cooking": "home cooks: kitchen knives, pans, recipes, cooking",
    "skincare": "skincare: moisturiser, cleanser, sensitive skin, sunscreen",
}


def _fast_home(fast_home: Path, folder: Path) -> Path:
    """``folder`` made a workspace holding the fast encoder distilled once for the session."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models").symlink_to(fast_home / "models", target_is_directory=True)
    return folder


@pytest.fixture
def fast_workspace(workspace: Path, fast_home: Path) -> Path:
    """The test's own workspace, holding the fast encoder distilled once for the session."""
    return _fast_home(fast_home, workspace)


@pytest.fixture(scope="module")
def demo_segments(fast_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo segmented with the fast encoder (k=6, no map) once for the module, in a workspace of its own; the
    tests only read it (its arrays are read-only, so a test that wrote into one would fail, not leak)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENT_STUDIO_HOME", str(_fast_home(fast_home, tmp_path_factory.mktemp("demo_run") / "ws")))
        comments = load_comments(DEMO_PATH)
        config = SegmentConfig(encoder="fast", k=6)
        prepared = prepare(comments, config, with_map=False)
        result = cluster_prepared(prepared, config)
    truth = comments.frame.groupby("user_id")["true_taste"].first().loc[prepared.profiles.user_ids].to_numpy()
    for array in (prepared.profiles.vectors, prepared.profiles.user_ids, result.labels, truth):
        array.flags.writeable = False
    return comments, prepared, result, truth


@pytest.fixture
def demo_run(demo_segments, fast_workspace: Path):
    """The module's demo segments, with the test's own workspace holding the fast encoder (placing personas
    encodes them)."""
    return demo_segments


# Parsing and checking the personas -----------------------------------------------------------------------


def test_personas_are_read_one_per_line_as_name_colon_description():
    text = ("# our personas\n\nhockey fans: ice hockey, NHL teams\n  咖啡爱好者：意式浓缩，咖啡豆  \n"
            "runners\n")
    assert parse_personas(text) == [Persona("hockey fans", "ice hockey, NHL teams"),
                                    Persona("咖啡爱好者", "意式浓缩，咖啡豆"), Persona("runners", "runners")]


@pytest.mark.parametrize("text, says", [
    ("", "no personas given"),
    ("  \n# only a comment\n\n", "no personas given"),
    ("hockey: ice hockey\nHockey :  NHL teams", "same name"),
    ("hockey: ice hockey, NHL\nfans: Ice  hockey, nhl", "same description"),
    ("hockey:", "no description"),
    (": ice hockey", "no name"),
    ("x" * 81 + ": long", "characters long"),
    ("\n".join(f"p{i}: persona {i}" for i in range(51)), "at most 50"),
])
def test_bad_personas_are_refused_with_a_message_that_says_what_to_do(text, says):
    with pytest.raises(ConfigError, match=says):
        parse_personas(text)


def test_personas_in_another_script_than_the_comments_are_refused():
    chinese = load_comments(DEMO_ZH_PATH).frame["text"].tolist()
    english = load_comments(DEMO_PATH).frame["text"].tolist()
    latin = parse_personas("coffee lovers: espresso, beans")
    han = parse_personas("咖啡爱好者：意式浓缩，咖啡豆")
    with pytest.raises(ConfigError, match="Latin script but the comments in Chinese"):
        check_language(latin, chinese)
    with pytest.raises(ConfigError, match="Korean script but the comments in Latin"):
        check_language(han, english)
    check_language(han, chinese)
    check_language(latin, english)


def test_a_corpus_dependent_encoder_cannot_place_personas():
    with pytest.raises(ConfigError, match="depend on the whole file"):
        encode_personas(parse_personas("coffee: espresso"), "tfidf")


# Placing users -------------------------------------------------------------------------------------------


def test_confidence_is_the_membership_margin_of_the_cosine_distances():
    # Users placed symmetrically, so that the average user is the origin and similarities are plain cosines.
    diagonal = np.array([1.0, 1.0, 0]) / np.sqrt(2)
    users = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0], diagonal, -diagonal])
    centres = np.array([[1.0, 0, 0], [0, 1.0, 0], [-1.0, -1.0, 0]])
    personas = parse_personas("a: first\nb: second\nc: third")
    guided = guide(users, centres, personas, np.zeros(len(users), dtype=int), min_similarity=-1.0)
    cosines = users @ (centres / np.linalg.norm(centres, axis=1, keepdims=True)).T
    np.testing.assert_allclose(guided.similarity, cosines.max(axis=1), atol=1e-9)
    np.testing.assert_allclose(guided.confidence, soft_membership(1.0 - cosines).confidence, atol=1e-9)
    assert guided.confidence[0] == pytest.approx(1.0)  # on persona a, at right angles to b
    assert guided.confidence[4] == pytest.approx(0.0, abs=1e-9)  # halfway between a and b


def test_personas_from_the_taste_names_recover_the_demo_tastes_with_the_fast_encoder(demo_run):
    comments, prepared, result, truth = demo_run
    personas = parse_personas("\n".join(DEMO_PERSONAS.values()))
    guided = guide_users(comments, prepared.profiles.vectors, result.labels, personas, "fast")
    tastes = np.array(list(DEMO_PERSONAS))[guided.persona]
    real = truth != "noise"
    # Six tastes: chance is one in six. Placed users should mostly sit with their own taste's persona.
    assert (tastes == truth)[guided.placed & real].mean() > 0.8
    assert guided.min_similarity == MIN_SIMILARITY
    assert np.array_equal(guided.placed, guided.similarity >= MIN_SIMILARITY)
    assert np.array_equal(guided.labels[guided.placed], guided.persona[guided.placed])


def test_users_of_a_persona_nobody_wrote_go_to_the_runs_own_segments(demo_run):
    comments, prepared, result, truth = demo_run
    for left_out in ("coffee", "games"):
        personas = parse_personas("\n".join(v for k, v in DEMO_PERSONAS.items() if k != left_out))
        guided = guide_users(comments, prepared.profiles.vectors, result.labels, personas, "fast")
        theirs = truth == left_out
        assert (~guided.placed[theirs]).mean() > 0.75
        far = ~guided.placed
        # A far user's segment is their run segment, numbered after the personas.
        np.testing.assert_array_equal(guided.discovered[guided.labels[far] - guided.n_personas], result.labels[far])


def test_an_attribute_block_after_the_text_part_does_not_move_anyone(demo_run):
    comments, prepared, result, _ = demo_run
    personas = parse_personas("\n".join(DEMO_PERSONAS.values()))
    plain = guide_users(comments, prepared.profiles.vectors, result.labels, personas, "fast")
    extra = np.random.default_rng(0).normal(size=(len(result.labels), 4)).astype(np.float32)
    widened = guide_users(comments, np.hstack([prepared.profiles.vectors, extra]), result.labels, personas, "fast")
    np.testing.assert_array_equal(plain.labels, widened.labels)


def test_persona_vectors_of_another_encoder_are_refused(demo_run):
    _, prepared, result, _ = demo_run
    personas = parse_personas("a: first\nb: second")
    with pytest.raises(ConfigError, match="another encoder"):
        guide(prepared.profiles.vectors, np.ones((2, 999)), personas, result.labels)


@pytest.mark.slow
def test_minilm_places_the_demo_users_with_their_taste(workspace):
    from segmentation.demo import DEMO_ENCODER

    comments = load_comments(DEMO_PATH)
    config = SegmentConfig(encoder=DEMO_ENCODER, k=6)
    # The demo's MiniLM vectors ship with the project and the app puts them in the cache at start; without them
    # this fresh workspace would encode the 2,064 demo comments again (a minute of both cores) to check placing.
    seed_demo_embeddings()
    prepared = prepare(comments, config, with_map=False)
    result = cluster_prepared(prepared, config)
    truth = comments.frame.groupby("user_id")["true_taste"].first().loc[prepared.profiles.user_ids].to_numpy()
    guided = guide_users(comments, prepared.profiles.vectors, result.labels,
                         parse_personas("\n".join(DEMO_PERSONAS.values())), DEMO_ENCODER)
    tastes = np.array(list(DEMO_PERSONAS))[guided.persona]
    assert (tastes == truth)[guided.placed & (truth != "noise")].mean() > 0.8


# Saving ---------------------------------------------------------------------------------------------------


def test_guided_segments_saved_as_a_run_are_named_after_the_personas_and_lend_no_names_to_later_runs(
        demo_run, fast_workspace):
    from segmentation.runs.service import run_and_save

    comments = demo_run[0]
    run = run_and_save(comments, SegmentConfig(encoder="fast", k=6))
    personas = parse_personas("\n".join(v for k, v in DEMO_PERSONAS.items() if k != "games"))
    guided = guide_users(comments, run.prepared.profiles.vectors, run.result.labels, personas, "fast")
    run_names = {s.id: s.name for s in run.result.segments}
    key = save_guided(run.run_key, run.result.user_ids, guided, run_names)
    assert key != run.run_key
    workspace = Workspace()
    table = workspace.table(key)
    named = dict(zip(table["segment"], table["segment_name"], strict=False))
    for index, persona in enumerate(personas):
        if index in named:
            assert named[index] == persona.name
    for offset, segment in enumerate(guided.discovered.tolist()):
        assert named[len(personas) + offset] == DISCOVERED_PREFIX + run_names[segment]
    assert workspace.assignments(key) == dict(zip(run.result.user_ids.astype(str), guided.labels.tolist(),
                                                  strict=True))
    assert set(table["persona"]) <= {p.name for p in personas}
    assert workspace.run(key).record["guided"]["from_run"] == run.run_key
    assert key in set(runs_table()["run"])
    # Names saved on a run travel to the next run of the same data; a guided run's must not.
    later = run_and_save(comments, SegmentConfig(encoder="fast", k=7))
    assert later.carry.carried == [] and workspace.names(later.run_key) == {}


def test_a_saved_guided_run_is_shown_again_as_saved_not_as_the_run_it_came_from(demo_run, fast_workspace):
    from segmentation.runs.service import named_result, restore, run_and_save

    comments = demo_run[0]
    run = run_and_save(comments, SegmentConfig(encoder="fast", k=6))
    personas = parse_personas("\n".join(DEMO_PERSONAS.values()))
    guided = guide_users(comments, run.prepared.profiles.vectors, run.result.labels, personas, "fast")
    key = save_guided(run.run_key, run.result.user_ids, guided, {s.id: s.name for s in run.result.segments})

    shown = restore(comments, key)  # what a reload, a bookmark or "Show this run" does
    assert shown.run_key == key
    assert dict(zip(shown.result.user_ids.astype(str), shown.result.labels.tolist(), strict=True)) == \
        Workspace().assignments(key)
    names = {s.id: s.name for s in named_result(shown).segments}
    assert {names[i] for i in set(guided.labels.tolist()) if i < len(personas)} <= {p.name for p in personas}
    assert any("Guided segments of run" in note for note in shown.result.notes)
    assert not any("recomputed" in note for note in [*shown.notes, *shown.result.notes])
    assert restore(comments).run_key == key  # the latest run of the data, shown as saved too


# The real labelled forum set ------------------------------------------------------------------------------


def test_personas_written_from_the_site_names_place_real_forum_users_on_their_site(fast_workspace):
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "se_closed_sites" / "comments.csv.gz"
    if not path.is_file():
        pytest.skip(f"real forum users not found at {path} (the shared data folder is absent)")
    comments = load_comments(path)
    config = SegmentConfig(encoder="fast")
    prepared = prepare(comments, config, with_map=False)
    result = cluster_prepared(prepared, config)
    sites = {"atheism": "atheism: atheists, religion, God, belief, faith and its critics",
             "economics": "economics: markets, prices, inflation, money, trade, economic theory",
             "firearms": "firearms: guns, rifles, pistols, ammunition, shooting, gun laws",
             "gadgets": "gadgets: phones, tablets, laptops, headphones, chargers, which device to buy",
             "htw": "how things work: how machines, devices and everyday things work, physics explained"}
    truth = comments.frame.groupby("user_id")["label"].first().loc[prepared.profiles.user_ids].to_numpy()
    guided = guide_users(comments, prepared.profiles.vectors, result.labels,
                         parse_personas("\n".join(sites.values())), "fast")
    placed_site = np.array(list(sites))[guided.persona]
    # Five sites: chance is one in five; the sites' topics are far apart.
    assert (placed_site == truth)[guided.placed].mean() > 0.9
    assert 0.3 < guided.placed.mean() < 1.0  # some users are far from every persona, most are not


# The command line and what it prints -----------------------------------------------------------------------


def _segment_demo(tmp_path: Path, encoder: str = "fast") -> str:
    assert main(["segment", str(DEMO_PATH), "--out", str(tmp_path / f"out-{encoder}"), "--encoder", encoder,
                 "--k", "6"]) == 0
    return Workspace().latest_run(load_comments(DEMO_PATH).fingerprint())


def test_cli_guided_prints_each_personas_users_and_fit_writes_the_users_and_saves_a_run(
        tmp_path, capsys, fast_workspace):
    import json

    import pandas as pd

    key = _segment_demo(tmp_path)
    personas = tmp_path / "personas.txt"
    personas.write_text("# from the taste names\n" + "\n".join(DEMO_PERSONAS.values()) + "\n=HYPERLINK(1): evil\n",
                        encoding="utf-8")
    capsys.readouterr()
    out = tmp_path / "guided.csv"
    assert main(["guided", str(DEMO_PATH), "--run", key, "--personas", str(personas), "--out", str(out),
                 "--save"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed["run"] == key and printed["min_similarity"] == MIN_SIMILARITY
    assert [p["name"] for p in printed["personas"]] == [*(v.split(":")[0] for v in DEMO_PERSONAS.values()),
                                                        "=HYPERLINK(1)"]
    rows = printed["segments"]
    assert sum(r["users"] for r in rows) == 500 == printed["placed"] + printed["discovered"]
    assert [r["kind"] for r in rows[:7]] == ["persona"] * 7
    users = pd.read_csv(out)
    assert len(users) == 500
    for row in rows:  # each persona's figures are the means over its users in the file
        members = users[users["segment"] == row["segment"]]
        assert row["users"] == len(members)
        if len(members):
            assert row["mean_similarity"] == pytest.approx(members["similarity"].mean(), abs=1e-3)
    assert not users["segment_name"].astype(str).str.startswith("=").any()  # a formula name is neutralised
    saved = captured.err.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    table = Workspace().table(saved)
    assert saved != key and set(table.loc[table["segment"] == 0, "segment_name"]) <= {"audio fans"}


@pytest.fixture(scope="module")
def saved_demo_run(fast_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace holding one command-line run of the demo (fast encoder, k=6) and the run's id, made once for
    the refusals below, which only read it."""
    folder = tmp_path_factory.mktemp("saved_demo_run")
    home = _fast_home(fast_home, folder / "ws")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENT_STUDIO_HOME", str(home))
        return home, _segment_demo(folder)


@pytest.mark.parametrize("content, says", [
    (b"", "no personas given"),
    (b"fans: hockey\nfans: baseball", "same name"),
    ("咖啡爱好者：意式浓缩\n跑者：跑鞋，训练".encode(), "Chinese, Japanese or Korean script but the comments"),
    (b"\xff\xfe bad bytes", "not UTF-8"),
])
def test_cli_guided_refuses_bad_personas_with_one_line_and_exit_2(
        tmp_path, capsys, monkeypatch, saved_demo_run, content, says):
    home, key = saved_demo_run
    monkeypatch.setenv("SEGMENT_STUDIO_HOME", str(home))
    personas = tmp_path / "personas.txt"
    personas.write_bytes(content)
    capsys.readouterr()
    assert main(["guided", str(DEMO_PATH), "--run", key, "--personas", str(personas)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and err.startswith("error: ")


def test_cli_guided_refuses_a_missing_file_and_a_tfidf_run(tmp_path, capsys):
    key = _segment_demo(tmp_path, encoder="tfidf")
    capsys.readouterr()
    assert main(["guided", str(DEMO_PATH), "--run", key, "--personas", str(tmp_path / "none.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
    personas = tmp_path / "personas.txt"
    personas.write_text("coffee: espresso, beans", encoding="utf-8")
    assert main(["guided", str(DEMO_PATH), "--run", key, "--personas", str(personas)]) == 2
    err = capsys.readouterr().err
    assert "depend on the whole file" in err and err.count("\n") == 1


def test_the_fit_table_lists_a_persona_that_found_nobody_and_the_sentence_names_it(demo_run):
    from segmentation.present.guided import fit_table, summary_sentence

    comments, prepared, result, _ = demo_run
    personas = parse_personas("\n".join(DEMO_PERSONAS.values()) + "\nastronauts: rockets, orbits, spacewalks")
    guided = guide_users(comments, prepared.profiles.vectors, result.labels, personas, "fast")
    table = fit_table(guided, {s.id: s.name for s in result.segments})
    assert table["users"].sum() == len(result.labels)
    astronauts = table[table["name"] == "astronauts"].iloc[0]
    if astronauts["users"] == 0:
        assert np.isnan(astronauts["mean_similarity"])
        assert "No user is near “astronauts”" in summary_sentence(guided)
    placed = table[table["kind"] == "persona"]
    assert placed["users"].sum() == guided.placed.sum()


def test_far_users_the_run_left_as_noise_stay_noise_and_get_a_row_of_their_own(demo_run):
    from segmentation.present.guided import fit_table

    comments, prepared, result, _ = demo_run
    labels = result.labels.copy()
    labels[::7] = -1  # as a density clusterer leaves some users out
    personas = parse_personas("\n".join(v for k, v in DEMO_PERSONAS.items() if k != "cooking"))
    guided = guide_users(comments, prepared.profiles.vectors, labels, personas, "fast")
    far_noise = ~guided.placed & (labels == -1)
    assert far_noise.any()
    assert (guided.labels[far_noise] == -1).all() and (guided.labels[~far_noise] >= 0).all()
    table = fit_table(guided, {s.id: s.name for s in result.segments})
    assert table.loc[table["segment"] == -1, "users"].item() == far_noise.sum()
    assert -1 not in guided.discovered
