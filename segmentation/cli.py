"""Command line: ``python -m segmentation COMMAND``, one of segment, evaluate, recommend, assign, runs, behaviour,
over-time, guided, hierarchy, report and demo.

Progress goes to stderr, results to files (``segment``, ``evaluate``) or stdout as JSON
(``recommend``). Bad input exits with status 2 and one line on stderr; never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn, TextIO

from segmentation.core.constraints import SEED, TOP_N, validate
from segmentation.core.errors import ConfigError, DataError, SegmentationError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
DEMO_FILE = "demo_comments.csv"


class StderrProgress:
    """Stage lines on stderr, with encoding progress every 10 %, readable in a log or a terminal."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self._started: dict[str, float] = {}
        self._last_decile: dict[str, int] = {}
        self._finished: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage in self._finished:
            return
        now = time.perf_counter()
        if stage not in self._started:
            self._started[stage] = now
            self._last_decile[stage] = -1
        if total > 1 and done < total:
            decile = int(10 * done / total)
            if decile > self._last_decile[stage]:
                self._last_decile[stage] = decile
                print(f"{stage}: {done}/{total}", file=self.stream, flush=True)
        elif done >= total:
            elapsed = now - self._started.pop(stage)
            self._finished.add(stage)
            print(f"{stage}: done in {elapsed:.1f} s", file=self.stream, flush=True)


def _reader(param):
    """argparse ``type`` for ``param``: its :meth:`~segmentation.core.params.Param.parse`, errors in words."""

    def read(text: str):
        try:
            return param.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    read.__name__ = param.name  # argparse names the type in some messages
    return read


def _help(param, default) -> str:
    if default is None or default == () or "default" in param.help:
        return param.help
    return f"{param.help} (default: {default})"


def _add_segment_options(parser: argparse.ArgumentParser, full: bool = True) -> None:
    """INPUT, the column roles, and one flag per run parameter, derived from the declarations (only where ``full``:
    reading the declarations imports scikit-learn)."""
    parser.add_argument("input", metavar="INPUT", help="comments file: csv, tsv, parquet, jsonl, xlsx or txt")
    if not full:
        return
    from segmentation.pipeline.config import config_parameters

    for param in config_parameters():
        # Unset flags stay None, which the config reads as its own default: the CLI and the app give the
        # same segments for the same file and settings.
        parser.add_argument(param.flag, dest=param.name, type=_reader(param), default=None,
                            help=_help(param, param.default))
    for role in ("user", "text", "item", "rating", "time"):
        parser.add_argument(f"--{role}-col", default=None, help=f"column holding the {role} (default: detected)")


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's promise kept for bad arguments too: one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def _add_saved_run_of_input(parser: argparse.ArgumentParser) -> None:
    """INPUT, the saved run of it (``--run``) and its column flags: what a command reading a saved run of a
    comments file takes."""
    parser.add_argument("input", metavar="INPUT", help="the comments the run was made on")
    parser.add_argument("--run", default=None, help="the saved run (an id from `runs`; default: the latest run of "
                        "INPUT)")
    for role in ("user", "text", "item", "rating", "time"):
        parser.add_argument(f"--{role}-col", default=None, help=f"column holding the {role} (default: detected)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser.

    Parameters
    ----------
    command : str, optional
        The command about to run (``argv[0]``). Only that command gets the run parameters' flags, whose
        declarations live on the clusterers and import scikit-learn (seconds per start), so ``--help``, ``demo``,
        ``runs`` and their refusals start without it. None (the default): every command gets its flags.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = _Parser(
        prog="python -m segmentation",
        description="Turn user comments into named user segments, and measure in-segment recommendations.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    seg = commands.add_parser("segment", help="segment the users of INPUT; write assignments, segments, run")
    _add_segment_options(seg, full=command in (None, "segment"))
    seg.add_argument("--out", required=True, type=Path, help="output folder: new, empty or an earlier run's, "
                     "which is replaced only once the new run is complete")
    # The Ray engine (segmentation/scale, docs/scale.md): same segmentation, past one machine.
    seg.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local (default) | ray: INPUT may then be a folder of parts or a glob")
    seg.add_argument("--address", default=None, help="Ray cluster: auto | ray://HOST:PORT (default: Ray on "
                     "this machine)")
    seg.add_argument("--fit-sample", type=int, default=200_000, help="ray: users the segmentation is fitted on "
                     "(uniform sample; default 200,000)")
    seg.add_argument("--map-sample", type=int, default=100_000, help="ray: users on the 2-d map (default "
                     "100,000; 0: no map)")

    ev = commands.add_parser("evaluate", help="hold out each user's latest item and compare recommenders")
    _add_segment_options(ev, full=command in (None, "evaluate"))
    ev.add_argument("--out", required=True, type=Path, help="output folder for evaluation.json")
    ev.add_argument("--top-n", type=int, default=10, help="length of each recommendation list (default 10)")

    rec = commands.add_parser("recommend", help="print one user's segment and recommendations as JSON")
    _add_segment_options(rec, full=command in (None, "recommend"))
    rec.add_argument("--user", required=True, help="user id")
    rec.add_argument("--top-n", type=int, default=10, help="number of recommendations (default 10)")
    rec.add_argument("--method", default="segment_ease", help="recommender (default segment_ease)")

    assign = commands.add_parser("assign", help="place the users of NEW_FILE in the segments of a saved run")
    assign.add_argument("input", metavar="NEW_FILE", help="new comments: csv, tsv, parquet, jsonl, xlsx or txt")
    assign.add_argument("--run", required=True, help="the saved run (an id from `runs`)")
    assign.add_argument("--out", required=True, type=Path, help="output folder for assignments.csv")
    assign.add_argument("--encoder", default=None, help="refuse the run unless it used this encoder")
    for role in ("user", "text", "item", "rating", "time"):
        assign.add_argument(f"--{role}-col", default=None, help=f"column holding the {role} (default: detected)")

    runs = commands.add_parser("runs", help="list the runs saved in the workspace (`runs show ID`, "
                               "`runs compare ID ID`)")
    runs_commands = runs.add_subparsers(dest="runs_command")
    show = runs_commands.add_parser("show", help="print one saved run as JSON")
    show.add_argument("run_id", metavar="ID")
    compare = runs_commands.add_parser("compare", help="how users moved between the segments of two runs")
    compare.add_argument("first", metavar="ID")
    compare.add_argument("second", metavar="ID")

    behaviour = commands.add_parser("behaviour", help="print the behaviour profile of the segments of a saved run "
                                    "of INPUT as JSON (figures per segment against all users, activity tiers)")
    _add_saved_run_of_input(behaviour)

    timeline = commands.add_parser("over-time", help="print how the segments of a saved run of INPUT change over "
                                   "time as JSON (shares of comments and active users per period, rising words, "
                                   "the biggest change)")
    _add_saved_run_of_input(timeline)

    guided = commands.add_parser("guided", help="place the users of a saved run of INPUT against personas described "
                                 "in words; print how many each found and how well they fit as JSON")
    _add_saved_run_of_input(guided)
    guided.add_argument("--personas", required=True, type=Path, help="text file, one persona per line as "
                        "`name: description` (blank lines and lines starting with # are skipped)")
    guided.add_argument("--min-similarity", type=float, default=None, help="similarity to the nearest persona under "
                        "which a user is left to the run's own segments (default: %(default)s, the measured one)")
    guided.add_argument("--out", type=Path, default=None, help="also write each user's guided segment, persona, "
                        "similarity and confidence to this CSV file")
    guided.add_argument("--save", action="store_true", help="save the guided segments as a run of their own, named "
                        "after the personas, and print its id on stderr")
    layers = commands.add_parser("hierarchy", help="put a coarse layer of broad groups over the segments of a saved "
                                 "run of INPUT; print both layers and the tree as JSON")
    _add_saved_run_of_input(layers)
    layers.add_argument("--coarse-k", default="auto", type=_coarse_k,
                        help="broad groups: a whole number below the run's segments, or auto (default: auto, "
                        "chosen as the run's own k is)")
    layers.add_argument("--out", default=None, type=Path, help="also write segments.json (each segment with its "
                        "parent) and coarse_segments.json into this folder")

    report = commands.add_parser("report", help="write a saved run's report: one HTML file that opens offline in "
                                 "any browser (map, names, quality, segment cards, behaviour, segments over time, the "
                                 "recommendation answer `evaluate` kept)")
    report.add_argument("--run", default=None, help="the saved run (an id from `runs`; default: the run saved last)")
    report.add_argument("--out", required=True, type=Path, help="the HTML file to write (replaced whole once complete)")
    report.add_argument("--input", default=None, help="the comments the run was made on: adds the behaviour table "
                        "and, where they have times, the segments over time (default: none, and the report says so)")
    for role in ("user", "text", "item", "rating", "time"):
        report.add_argument(f"--{role}-col", default=None, help=f"with --input: column holding the {role} "
                            "(default: detected)")

    demo = commands.add_parser("demo", help="write the generated demo data set")
    demo.add_argument("--out", type=Path, required=True, help="file to write (csv)")
    demo.add_argument("--users", type=int, default=500, help="number of users (default 500)")
    demo.add_argument("--language", default="en", help="en | zh")
    demo.add_argument("--seed", type=int, default=0)
    return parser


def _load_and_configure(args: argparse.Namespace, config):
    """The comments and the config; without --encoder the encoder suits the data's language."""
    comments = _load(args)
    if not args.encoder:
        from segmentation.pipeline.segment import suggest_encoder  # the pipeline: not for a refused file

        config = replace(config, encoder=suggest_encoder(comments))
    return comments, config


def _load(args: argparse.Namespace):
    from segmentation.ingest.io import load_comments

    return load_comments(
        args.input,
        user_col=args.user_col,
        text_col=args.text_col,
        item_col=args.item_col,
        rating_col=args.rating_col,
        time_col=args.time_col,
    )


def _config(args: argparse.Namespace):
    from segmentation.pipeline.config import SegmentConfig, config_parameters

    return SegmentConfig.from_dict({param.name: getattr(args, param.name) for param in config_parameters()})


def _check_output_folder(out: Path) -> None:
    """Make sure ``--out`` can take the results before any work starts (the folder is created now)."""
    _check_writable(out, out)


def _check_writable(folder: Path, out: Path) -> None:
    try:
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"--out {out} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = {errno.ENOTDIR: "a part of it is a file, not a folder", errno.ENAMETOOLONG: "the name is too long",
                  errno.EROFS: "it is on a read-only file system"}.get(error.errno or 0, error.strerror or str(error))
        raise ConfigError(f"cannot write to --out {out}: {reason}; choose another folder") from None


def _check_workspace() -> None:
    """The workspace (embedding cache) must be usable before any work starts."""
    from segmentation.core.paths import workspace_dir

    workspace_dir()


def cmd_segment(args: argparse.Namespace) -> int:
    from segmentation.core.outputs import staged
    from segmentation.ingest.uploads import file_sha256

    config = _config(args)
    _check_output_folder(args.out)
    if args.engine == "ray":
        return _segment_on_ray(args)
    # The run is written beside --out and swapped in whole: a failed run leaves the earlier one intact.
    with staged(args.out) as staging:
        _check_workspace()
        comments, config = _load_and_configure(args, config)
        # The pipeline (scikit-learn, about 1 CPU s to import) and the behaviour profile (scipy.stats) only once the
        # input is read: a refused run skips them.
        from segmentation.describe.behaviour import behaviour_profile
        from segmentation.runs.service import named_result, run_and_save, with_edits

        # The file's digest lets the app show this run again once the same file is uploaded there.
        digest = file_sha256(args.input) if Path(args.input).is_file() else None
        run = run_and_save(comments, config, progress=StderrProgress(), file_sha256=digest)
        result = named_result(with_edits(run))  # the edits made in the app on this same run show here too
        profile = behaviour_profile(comments, result.user_ids, result.labels)
        paths = [args.out / path.name for path in result.write(staging, run_id=run.run_key, behaviour=profile)]
    metrics = result.metrics
    carried = f"; {len(run.carry.carried)} names carried over" if run.carry.carried else ""
    print(
        f"{metrics['n_segments']} segments for {len(result.user_ids)} users "
        f"(silhouette {metrics['silhouette']:.3f}); saved as run {run.run_key}{carried}; "
        f"wrote {', '.join(str(p) for p in paths)}",
        file=sys.stderr,
    )
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    from segmentation.runs.assign import assign

    _check_output_folder(args.out)
    comments = _load(args)
    placed = assign(comments, args.run, encoder=args.encoder, progress=StderrProgress())
    paths = placed.write(args.out)
    table = placed.assignments
    print(
        f"{len(table)} users placed in run {args.run}: {len(table) - placed.n_known} new, "
        f"{placed.n_known} already in the run ({placed.n_moved} moved by their new comments); "
        f"wrote {', '.join(str(p) for p in paths)}",
        file=sys.stderr,
    )
    for warning in placed.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from segmentation.describe.export import neutralise
    from segmentation.runs.compare import compare_runs
    from segmentation.runs.service import load_run, runs_table

    if args.runs_command == "show":
        print(json.dumps(load_run(args.run_id).to_dict(), ensure_ascii=False, indent=2, default=str))
        return 0
    if args.runs_command == "compare":
        comparison = compare_runs(args.first, args.second)
        print(f"{comparison.n_common:,} users in both runs; adjusted Rand index {comparison.ari:.3f}; "
              f"{comparison.kept_together:.0%} of them stayed with the group most of their segment moved to",
              file=sys.stderr)
        # Names are typed by users: a name such as =HYPERLINK(...) must not run when the CSV is opened.
        print(neutralise(comparison.flows()).to_csv(index=False), end="")
        return 0
    table = runs_table()
    if table.empty:
        print("no saved runs yet: `python -m segmentation segment FILE --out DIR` saves one", file=sys.stderr)
        return 0
    print(table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.3f}"))
    return 0


def _saved_run(args: argparse.Namespace):
    """The comments of INPUT and their saved run (``--run``, or the latest of INPUT), hand edits applied.

    Returns the comments, the run's id, its users, their segments and the names shown (saved, else suggested).
    """
    from segmentation.runs.service import load_run, run_table, saved_run_of
    from segmentation.runs.workspace import Workspace

    comments = _load(args)
    key = args.run or Workspace().latest_run(comments.fingerprint())
    if key is None:
        raise ConfigError(f"no saved run of {comments.source or 'these comments'}: "
                          f"`python -m segmentation segment {args.input} --out DIR` makes one")
    saved_run_of(key, comments)
    stored = load_run(key)
    table = run_table(stored.info)  # hand edits applied, as every view of a saved run reads it
    suggested = {}
    if "segment_name" in table:  # a suggested name, where a hand edit left the segment's users under one
        by_segment = table.groupby("segment")["segment_name"]
        suggested = {segment: names.iloc[0] for segment, names in by_segment if names.nunique() == 1}
    named = {**suggested, **{segment: saved.name for segment, saved in stored.names.items()}}
    return comments, key, table["user_id"].astype(str).to_numpy(), table["segment"].to_numpy(), named


def cmd_behaviour(args: argparse.Namespace) -> int:
    from segmentation.describe.behaviour import behaviour_profile

    comments, key, user_ids, labels, named = _saved_run(args)
    profile = behaviour_profile(comments, user_ids, labels)
    payload = {
        "run": key,
        "n_users": profile.n_users,
        "method": profile.method,
        "segments": [{"id": s.segment, "name": named.get(s.segment), **s.to_dict()} for s in profile.segments],
    }
    print(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False))
    return 0


def cmd_over_time(args: argparse.Namespace) -> int:
    from segmentation.describe.over_time import over_time
    from segmentation.present.over_time import change_sentence, for_json

    comments, key, user_ids, labels, named = _saved_run(args)
    found = over_time(comments, user_ids, labels)
    print(change_sentence(found, named), file=sys.stderr)
    print(json.dumps({"run": key, **for_json(found, named)}, ensure_ascii=False, indent=2, allow_nan=False))
    return 0


# Fifty personas of a paragraph each are a few tens of kilobytes; past a megabyte it is not a personas file.
PERSONAS_MAX_BYTES = 2**20


def cmd_guided(args: argparse.Namespace) -> int:
    from segmentation.cluster.guided import MIN_SIMILARITY, parse_personas
    from segmentation.core.errors import DataError
    from segmentation.core.paths import read_regular_file
    from segmentation.describe.export import assignments_csv
    from segmentation.present.guided import for_json
    from segmentation.runs.guided import guide_saved_run, guided_table, save_guided

    raw = read_regular_file(args.personas, PERSONAS_MAX_BYTES, str(args.personas))
    try:
        personas = parse_personas(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{args.personas} is not UTF-8 text: save the personas as UTF-8") from None
    comments, key, _, _, named = _saved_run(args)
    threshold = MIN_SIMILARITY if args.min_similarity is None else args.min_similarity
    user_ids, guided = guide_saved_run(comments, key, personas, min_similarity=threshold)
    if args.out is not None:
        _check_writable(args.out.parent, args.out)
        args.out.write_bytes(assignments_csv(guided_table(user_ids, guided, named)))
        print(f"wrote {args.out}", file=sys.stderr)
    if args.save:
        print(f"saved the guided segments as run {save_guided(key, user_ids, guided, named)}", file=sys.stderr)
    print(json.dumps({"run": key, **for_json(guided, named)}, ensure_ascii=False, indent=2, allow_nan=False))
    return 0


def _coarse_k(text: str) -> int | str:
    """argparse ``type`` for ``--coarse-k``: ``auto`` or a whole number (its range is checked against the run)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--coarse-k takes a whole number or auto, not {text!r}") from None


def cmd_hierarchy(args: argparse.Namespace) -> int:
    from segmentation.describe.export import segments_json
    from segmentation.present.hierarchy import for_json, summary
    from segmentation.runs.layers import Layers, build_layers, prepare_saved
    from segmentation.runs.service import saved_run

    if args.out is not None:
        _check_output_folder(args.out)
    comments, key, user_ids, labels, named = _saved_run(args)
    prepared = prepare_saved(comments, saved_run(key).config)
    layers = Layers()
    built = build_layers(prepared, key, user_ids, labels, args.coarse_k, fine_names=named.values(), layers=layers)
    hierarchy, coarse_names = built.hierarchy, layers.names(key)
    for note in built.notes:
        print(note, file=sys.stderr)
    print(summary(hierarchy.to_dict()), file=sys.stderr)
    if args.out is not None:
        written = [args.out / "segments.json", args.out / "coarse_segments.json"]
        written[0].write_bytes(segments_json(built.fine_segments(), named, parents=hierarchy.parent))
        written[1].write_bytes(segments_json(built.coarse, coarse_names))
        print(f"wrote {', '.join(str(path) for path in written)}", file=sys.stderr)
    payload = for_json(hierarchy, built.coarse, coarse_names, named)
    print(json.dumps({"run": key, **payload}, ensure_ascii=False, indent=2, allow_nan=False))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from segmentation.present.report import behaviour_of, latest_run_key, over_time_of, run_report, save_report

    key = args.run or latest_run_key()
    behaviour = timeline = None
    if args.input:
        comments = _load(args)
        behaviour = behaviour_of(key, comments)
        try:
            timeline = over_time_of(key, comments)
        except DataError as error:  # data without times still gets its report, and is told why
            print(f"no segments over time in the report: {error}", file=sys.stderr)
    path = save_report(run_report(key, behaviour=behaviour, over_time=timeline), args.out)
    print(f"wrote the report of run {key} to {path}", file=sys.stderr)
    return 0


def _segment_on_ray(args: argparse.Namespace) -> int:
    from segmentation.scale.engine import ScaleConfig, run

    roles = {role: getattr(args, f"{role}_col") for role in ("user", "text", "item", "rating", "time")}
    scale = ScaleConfig(address=args.address, fit_sample=args.fit_sample, map_sample=args.map_sample)
    result = run(args.input, args.out, _config(args), scale, roles=roles)
    print(f"{len(result.segments)} segments for {result.n_users:,} users ({result.n_comments:,} comments, "
          f"fitted on {result.n_fit:,}); wrote {args.out}", file=sys.stderr)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    config = _config(args)
    top_n = validate("top_n", args.top_n, TOP_N)
    _check_output_folder(args.out)
    _check_workspace()
    comments, config = _load_and_configure(args, config)
    # The pipeline (scikit-learn) only once the input is read: a refused run skips it.
    from segmentation.recommend.evaluate import evaluate_pipeline
    from segmentation.runs.service import keep_evaluation

    evaluation = evaluate_pipeline(comments, config, top_n=top_n, progress=StderrProgress())
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "evaluation.json"
    path.write_text(json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    print(evaluation.answer().sentence)
    print(evaluation.table().to_string(float_format=lambda v: f"{v:.4f}"))
    print(evaluation.verdict)
    print(f"wrote {path}", file=sys.stderr)
    key = keep_evaluation(comments, config, evaluation)
    print(f"kept in the workspace for the report of run {key} (`report --run {key}` once it is segmented)",
          file=sys.stderr)
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    config = _config(args)
    top_n = validate("top_n", args.top_n, TOP_N)
    _check_workspace()
    comments, config = _load_and_configure(args, config)
    from segmentation.recommend.service import recommend_for_user  # the pipeline: not for a refused run

    payload = recommend_for_user(
        comments, config, args.user, top_n=top_n, method=args.method, progress=StderrProgress()
    )
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    seed = validate("seed", args.seed, SEED)
    # A folder (existing, or written with a trailing slash) gets the demo under its usual name.
    try:
        into_folder = args.out.is_dir() or str(args.out).endswith(("/", os.sep))
    except OSError:  # a name too long to look up: _check_writable says so
        into_folder = False
    out = args.out / DEMO_FILE if into_folder else args.out
    _check_writable(out.parent, args.out)
    from segmentation.demo import write_demo  # NumPy and pandas: not for a refused seed or folder

    path = write_demo(out, seed=seed, n_users=args.users, language=args.language)
    print(f"wrote {path}", file=sys.stderr)
    return 0


COMMANDS = {
    "segment": cmd_segment,
    "evaluate": cmd_evaluate,
    "recommend": cmd_recommend,
    "assign": cmd_assign,
    "runs": cmd_runs,
    "behaviour": cmd_behaviour,
    "over-time": cmd_over_time,
    "guided": cmd_guided,
    "hierarchy": cmd_hierarchy,
    "report": cmd_report,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(command=argv[0] if argv else "").parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SegmentationError as error:
        hint = f" ({error.cli_hint})" if error.cli_hint else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the CLI promises one line, never a traceback
        message = str(error).splitlines()[0] if str(error) else ""
        print(f"internal error ({type(error).__name__}): {message} — please report it", file=sys.stderr)
        return EXIT_INTERNAL
