"""Simulate active learning on a labeled pool (no database involved)."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from training.ml.data import load_examples
from training.ml.query import STRATEGIES
from training.ml.simulate import TRAINERS, SimulationConfig, prepare, simulate


class Command(BaseCommand):
    help = (
        "Simulate active learning: start from --initial random products of the pool, "
        "then each round train, query --batch products with --strategy and reveal "
        "their labels; after every round record micro/macro-F1 on the test set and "
        "how many tags have 1 and 5 labeled positives. Reads JSONL(.gz) files only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pool", type=Path, required=True, help="labeled pool, JSONL(.gz)")
        parser.add_argument("--test", type=Path, required=True, help="test set, JSONL(.gz)")
        parser.add_argument("--strategy", default="default", choices=list(STRATEGIES))
        parser.add_argument("--initial", type=int, default=100)
        parser.add_argument("--batch", type=int, default=100)
        parser.add_argument("--rounds", type=int, default=20)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--mode", choices=["head"], default="head")
        parser.add_argument(
            "--trainer",
            choices=TRAINERS,
            default="fast",
            help="fast: the head network on features computed once (default); "
            "tagger: train_tagger every round (the production path, slower)",
        )
        parser.add_argument(
            "--exploration", type=float, default=0.0, help="random share of a batch"
        )
        parser.add_argument(
            "--cache-dir",
            type=Path,
            default=None,
            help="embedding cache (default: TAGGER_CACHE_DIR/embeddings)",
        )
        parser.add_argument("--json", type=Path, required=True, help="where to write the result")

    def handle(self, *args: Any, **options: Any) -> None:
        for flag in ("initial", "batch"):
            if options[flag] < 1:
                raise CommandError(f"--{flag} must be at least 1")
        if options["rounds"] < 0:
            raise CommandError("--rounds must not be negative")
        if not 0.0 <= options["exploration"] <= 1.0:
            raise CommandError("--exploration must be between 0 and 1")
        pool = self._load(options["pool"])
        test = self._load(options["test"])
        config = SimulationConfig(
            strategy=options["strategy"],
            initial=options["initial"],
            batch=options["batch"],
            rounds=options["rounds"],
            seed=options["seed"],
            mode=options["mode"],
            trainer=options["trainer"],
            exploration_share=options["exploration"],
            cache_dir=options["cache_dir"] or Path(settings.TAGGER_CACHE_DIR) / "embeddings",
        )
        self.stdout.write(f"pool {len(pool)} products, test {len(test)}")
        with tqdm(total=100, desc="embedding", bar_format="{l_bar}{bar}| {n:.0f}%") as bar:
            data = prepare(pool, test, config, progress=self._show(bar))
        with tqdm(total=100, desc="rounds", bar_format="{l_bar}{bar}| {n:.0f}%") as bar:
            result = simulate(data, config, progress=self._show(bar))
        options["json"].parent.mkdir(parents=True, exist_ok=True)
        options["json"].write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        last = result["curve"][-1]
        self.stdout.write(
            self.style.SUCCESS(
                f"{result['resolved_strategy']}: {last['labels']} labels, micro-F1 "
                f"{last['micro_f1']:.3f}, macro-F1 {last['macro_f1']:.3f}, "
                f"{last['tags_with_5_positives']} tags with >= 5 positives "
                f"({result['seconds']:.0f} s) -> {options['json']}"
            )
        )

    def _load(self, path: Path) -> list:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            examples = load_examples(path)
        except (ValueError, OSError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if not examples:
            raise CommandError(f"{path} has no tagged products")
        return examples

    @staticmethod
    def _show(bar: tqdm) -> Any:
        def show(fraction: float, stage: str) -> None:
            bar.n = round(100 * fraction, 1)
            bar.set_description(stage[:50])
            bar.refresh()

        return show
