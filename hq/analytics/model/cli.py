"""`kiosk-hq model`: train, evaluate and ship the recommendation model; import sales.

    model train [--now TIME] [--half-life-days 30] [--by WHO]
    model evaluate [--now TIME] [--half-life-days 30] [--no-als]
    model ship [--model ID] [--base RELEASE] [--to TARGET] [--by WHO]
    model import-sales FILE

`train` reads every lift and comparison (and imported sale) up to `--now`
(default: now), trains, scores the result on the held-out last week against
popularity, and stores it as a new model version; run it from a timer (e.g.
nightly: deploy/hq). `evaluate` prints the held-out week's table for the
co-occurrence model, popularity and ALS, storing nothing. `ship` publishes the
newest version (or `--model`) in a content release made from the newest release
(or `--base`), to that release's target (or `--to`); it refuses a version that
does not beat popularity, with the figures. `import-sales` reads a till's sales
export (format: hq/analytics/model/sales.py, docs/recommendations.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from hq.db import Database
from hq.settings import Settings

Table = Callable[[Sequence[str], Sequence[Sequence[str]], TextIO], None]


def add_command(
    commands: argparse._SubParsersAction[Any],
    moment: Callable[[str], datetime],
    actor: str,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Register `model` on `kiosk-hq`'s command list (`moment` reads an ISO 8601 time)."""
    model = commands.add_parser(
        "model", help="the recommendation model: train, evaluate, ship, import sales"
    ).add_subparsers(dest="model_command", required=True, parser_class=parser_class)
    train = model.add_parser("train", help="train a new model version from every store's events")
    evaluate = model.add_parser("evaluate", help="hit rate@5 and coverage on the held-out week")
    for command in (train, evaluate):
        command.add_argument("--now", type=moment, help="train as of this time (default: now)")
        command.add_argument(
            "--half-life-days", type=_days, default=None, help="time decay's half-life (30)"
        )
    train.add_argument("--by", default=actor, help="who trains it")
    evaluate.add_argument("--no-als", action="store_true", help="skip the ALS baseline")
    ship = model.add_parser("ship", help="publish the model to the stores in a content release")
    ship.add_argument("--model", type=int, help="model version (default: the newest)")
    ship.add_argument("--base", type=int, help="release to add it to (default: the newest)")
    ship.add_argument("--to", dest="target", help="target (default: the base release's)")
    ship.add_argument("--by", default=actor, help="who ships it")
    sales = model.add_parser("import-sales", help="import a till's sales export (CSV)")
    sales.add_argument("file", type=Path)


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = 0.0
    if not 0 < days <= 3650:  # ten years: a typo beyond that
        raise argparse.ArgumentTypeError("must be a number of days above 0, at most 3650")
    return days


def run(  # noqa: PLR0917 - as plays_cli.run, with the settings for `ship`
    database: Database,
    settings: Settings,
    args: argparse.Namespace,
    now: datetime,
    table: Table,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout  # at call time: a test's captured stdout
    # numpy and scipy load only for this command (about 0.3 s).
    from hq.analytics.model import evaluate, events, sales, ship, train, versions  # noqa: PLC0415

    match args.model_command:
        case "import-sales":
            try:
                text = args.file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                print("kiosk-hq: the sales export is not UTF-8 text", file=sys.stderr)
                return 1
            try:
                imported = sales.import_sales(database, text, now=now)
            except sales.SalesRefused as refused:
                print(f"kiosk-hq: {refused}; nothing imported", file=sys.stderr)
                for problem in refused.problems:
                    print(f"  {problem}", file=sys.stderr)
                return 1
            print(
                f"{imported.lines} sale line(s) of {imported.receipts} receipt(s) imported,"
                f" {imported.skipped} imported before",
                file=out,
            )
        case "train" | "evaluate":
            as_of = args.now or now
            half_life = args.half_life_days or train.HALF_LIFE_DAYS
            signals = events.read_events(database, until=as_of)
            if len(signals) == 0:
                print("kiosk-hq: no lifts, comparisons or sales to learn from yet", file=sys.stderr)
                return 1
            with_als = args.model_command == "evaluate" and not args.no_als
            result = evaluate.evaluate(signals, now=as_of, half_life_days=half_life, als=with_als)
            if args.model_command == "evaluate":
                _print_evaluation(result, table, out)
                return 0
            trained = train.train(signals, now=as_of, half_life_days=half_life)
            version = versions.save(database, trained, result, by=args.by, now=now)
            print(
                f"model {version.model_id} trained on {trained.events:,} signals of"
                f" {trained.visits:,} visits, {len(trained.skus)} SKUs"
                f" (half-life {half_life:g} days)",
                file=out,
            )
            _print_evaluation(result, table, out)
        case "ship":
            from hq.content.assets import DirectoryAssetStore  # noqa: PLC0415
            from hq.content.signing import ContentKeys  # noqa: PLC0415

            shipped = ship.ship(
                database,
                DirectoryAssetStore(settings.assets_dir),
                ContentKeys(settings.content_key_dir),
                by=args.by,
                now=now,
                model_id=args.model,
                base=args.base,
                target=args.target,
            )
            release = shipped.published.release
            print(
                f"model {shipped.version.model_id} shipped in release {release.release_id}"
                f" (from release {release.base_release}) to {release.target}",
                file=out,
            )
            for warning in shipped.published.warnings:
                print(f"kiosk-hq: warning: {warning}", file=sys.stderr)
    return 0


def _print_evaluation(result: Any, table: Table, out: TextIO) -> None:
    if result is None:
        print("held-out week: too little data before or in the last week to evaluate", file=out)
        return
    print(
        f"held-out week from {result.test_from:%Y-%m-%d %H:%M} UTC:"
        f" {result.questions:,} next-SKU questions",
        file=out,
    )
    rows = [(f.name, f"{f.hit_rate:.3f}", f"{f.coverage:.3f}") for f in result.figures]
    table(("recommender", "hit rate@5", "coverage"), rows, out)
    verdict = "beats" if result.beats_popularity else "does NOT beat"
    print(f"the co-occurrence model {verdict} popularity on hit rate@5", file=out)
