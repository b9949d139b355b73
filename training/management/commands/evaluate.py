"""Evaluate the tagger (and the reference baseline) on JSON Lines data, no database.

manage.py evaluate --train TRAIN.jsonl.gz --test TEST.jsonl.gz [--mode head|full] [--json OUT]
manage.py evaluate --data FILE.jsonl.gz --folds K [--seed S] [--mode ...] [--json OUT]
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.ml.data import load_examples
from training.ml.evaluation import cross_validate, evaluate_holdout
from training.ml.model import TrainConfig
from training.ml.types import ProgressFn

PER_TAG_ROWS = 15


def tqdm_progress(description: str) -> tuple[ProgressFn, Any]:
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=description, unit="‰", leave=False)

    def progress(fraction: float, stage: str) -> None:
        bar.set_postfix_str(stage[:40], refresh=False)
        bar.update(max(int(fraction * 1000) - bar.n, 0))

    return progress, bar


class Command(BaseCommand):
    help = "Evaluate the tagger against the TF-IDF baseline (holdout or k-fold); no database."
    requires_system_checks: tuple[str, ...] = ()
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--train", type=Path, help="training JSON Lines (.jsonl[.gz])")
        parser.add_argument("--test", type=Path, help="test JSON Lines (.jsonl[.gz])")
        parser.add_argument("--data", type=Path, help="one JSON Lines file for k-fold")
        parser.add_argument("--folds", type=int, default=0, help="k for k-fold (with --data)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--mode", choices=["head", "full"], default="head")
        parser.add_argument("--base-model", default=None, help="default: TAGGER_BASE_MODEL")
        parser.add_argument("--device", default=None, help="cpu / cuda (default: cuda if present)")
        parser.add_argument("--no-baseline", action="store_true")
        parser.add_argument("--json", type=Path, help="write the full result here")

    def handle(self, *args: Any, **options: Any) -> None:
        config = TrainConfig(
            mode=options["mode"],
            seed=options["seed"],
            base_model=options["base_model"] or settings.TAGGER_BASE_MODEL or None,
            device=options["device"],
            cache_dir=Path(settings.TAGGER_CACHE_DIR) / "embeddings",
        )
        with_baseline = not options["no_baseline"]
        if options["data"]:
            if options["train"] or options["test"]:
                raise CommandError("use either --data with --folds, or --train with --test")
            if options["folds"] < 2:
                raise CommandError("--data needs --folds K with K >= 2")
            examples = self._load(options["data"])
            progress, bar = tqdm_progress(f"{options['folds']}-fold")
            with bar:
                result = cross_validate(
                    examples, options["folds"], config, options["seed"], with_baseline, progress
                )
        else:
            if not (options["train"] and options["test"]):
                raise CommandError("give --train and --test, or --data with --folds")
            train, test = self._load(options["train"]), self._load(options["test"])
            progress, bar = tqdm_progress("holdout")
            with bar:
                result = evaluate_holdout(train, test, config, with_baseline, progress)
        self._print(result)
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(result, indent=2, ensure_ascii=False))
            self.stdout.write(f"wrote {options['json']}")

    def _load(self, path: Path) -> list:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        examples = load_examples(path)
        if not examples:
            raise CommandError(f"{path} has no tagged products")
        return examples

    def _print(self, result: dict) -> None:
        out = self.stdout
        out.write(
            f"mode {result['mode']}: {result['n_train']} train, {result['n_test']} test, "
            f"{result['seconds']:.1f} s"
        )
        rows = [("model", result)]
        if "baseline" in result:
            rows.append(("baseline", result["baseline"]))
        out.write(
            f"{'':10} {'micro-F1':>9} {'macro-F1':>9} {'micro-P':>8} {'micro-R':>8} {'coverage':>9}"
        )
        for name, r in rows:
            out.write(
                f"{name:10} {r['micro_f1']:9.4f} {r['macro_f1']:9.4f} "
                f"{r['micro_precision']:8.4f} {r['micro_recall']:8.4f} {r['coverage']:9.4f}"
            )
        per_tag = sorted(result["per_tag"].items(), key=lambda kv: -kv[1]["support"])
        out.write(f"\n{'tag':40} {'support':>8} {'P':>6} {'R':>6} {'F1':>6}")
        for tag, m in per_tag[:PER_TAG_ROWS]:
            out.write(
                f"{tag[:40]:40} {m['support']:8d} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f}"
            )
        if len(per_tag) > PER_TAG_ROWS:
            out.write(f"... {len(per_tag) - PER_TAG_ROWS} more tags (see --json)")
