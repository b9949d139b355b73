# ruff: noqa: T201  (a command: printing is its output)
"""The `tagger` command: export, import, train, status.

The server and token come from --url/--token or TAGGER_URL/TAGGER_TOKEN."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from tagger_client.client import ApiError, Client
from tagger_client.models import ImportCreated

STREAMED_FORMATS = ("jsonl", "csv", "labelstudio", "labelstudio-config", "hf-card")
HF_DATA_FILE = "data/train.jsonl"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tagger", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("TAGGER_URL"), help="$TAGGER_URL")
    parser.add_argument("--token", default=os.environ.get("TAGGER_TOKEN"), help="$TAGGER_TOKEN")
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="approved tags with provenance")
    export.add_argument(
        "--format",
        default="records",
        choices=("records", "hf", *STREAMED_FORMATS),
        help="records: one JSON record per line, fetched page by page (incremental "
        "with --since or --state); hf: a Hugging Face dataset folder (--out DIR: "
        f"{HF_DATA_FILE} and its card README.md); or a format the server streams",
    )
    export.add_argument("--since", help="only products changed after this ISO date-time")
    export.add_argument(
        "--state",
        type=Path,
        help="incremental sync: read --since from this file, write the newest "
        "changed_at back after a complete export",
    )
    export.add_argument("--tag", help="facet:value")
    export.add_argument("--facet")
    export.add_argument("--category", help="category path prefix")
    export.add_argument("--out", type=Path, help="a file (standard output by default)")

    upload = commands.add_parser(
        "import", help="import a catalogue file, or outside predictions as suggestions"
    )
    upload.add_argument("file", type=Path)
    upload.add_argument(
        "--predictions",
        metavar="MODEL_VERSION",
        help="the file holds predictions (JSON lines of product, tag, score) of this "
        "outside model version",
    )
    upload.add_argument("--threshold", type=float, default=0.5, help="with --predictions")
    upload.add_argument("--keep-valid", action="store_true", help="save the valid rows")
    upload.add_argument("--wait", action="store_true", help="wait until it has finished")
    upload.add_argument("--poll", type=float, default=2.0, help="seconds between checks")

    train = commands.add_parser("train", help="start a training run")
    train.add_argument("--mode", default="", choices=("", "head", "full"))
    train.add_argument("--wait", action="store_true", help="wait until it has finished")
    train.add_argument("--poll", type=float, default=5.0, help="seconds between checks")

    commands.add_parser("status", help="the active model and the latest training runs")
    return parser


def _export(client: Client, args: argparse.Namespace, out: IO[bytes]) -> int:
    filters = {"tag": args.tag, "facet": args.facet, "category": args.category}
    since = args.since
    if args.state is not None and since is None and args.state.exists():
        since = json.loads(args.state.read_text())["updated_since"]
    if args.format == "hf":
        return _export_hf(client, args, since, filters)
    if args.format in STREAMED_FORMATS:
        for chunk in client.export_stream(args.format, updated_since=since, **filters):
            out.write(chunk)
        return 0
    newest = since
    count = 0
    for record in client.export_tags(updated_since=since, **filters):
        out.write(json.dumps(record.raw, ensure_ascii=False).encode("utf-8") + b"\n")
        newest = record.raw["changed_at"]
        count += 1
    if args.state is not None and newest is not None:
        args.state.write_text(json.dumps({"updated_since": newest}) + "\n")
    print(f"{count} records", file=sys.stderr)
    return 0


def _export_hf(
    client: Client, args: argparse.Namespace, since: str | None, filters: dict[str, Any]
) -> int:
    """The rows and the dataset card, as `datasets.load_dataset(DIR)` reads them."""
    if args.out is None:
        print("tagger: --format hf needs --out DIR", file=sys.stderr)
        return 2
    data = args.out / HF_DATA_FILE
    data.parent.mkdir(parents=True, exist_ok=True)
    with data.open("wb") as rows:
        for chunk in client.export_stream("hf", updated_since=since, **filters):
            rows.write(chunk)
    card = b"".join(client.export_stream("hf-card", updated_since=since, **filters))
    (args.out / "README.md").write_bytes(card)
    print(f"{args.out}: {HF_DATA_FILE} and README.md", file=sys.stderr)
    return 0


def _wait(fetch: Callable[[], Any], poll: float, show: Callable[[Any], str]) -> Any:
    current = fetch()
    while not current.finished:
        time.sleep(poll)
        current = fetch()
        print(show(current), file=sys.stderr)
    return current


def _import_predictions(client: Client, args: argparse.Namespace) -> int:
    lines = args.file.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    result = client.import_predictions(args.predictions, rows, threshold=args.threshold)
    for error in result["errors"]:
        print(f"prediction {error['index'] + 1}: {error['reason']}", file=sys.stderr)
    print(
        f"v{result['model_version']} ({result['name']}): {result['created']} created, "
        f"{result['updated']} updated, {result['rejected']} rejected"
    )
    return 0


def _import(client: Client, args: argparse.Namespace) -> int:
    if args.predictions:
        return _import_predictions(client, args)
    batch = client.start_import(args.file, keep_valid=args.keep_valid)
    print(f"import {batch.id}: {batch.status}")
    if not args.wait:
        return 0
    batch = _wait(
        lambda: client.get_import(batch.id),
        args.poll,
        lambda b: f"import {b.id}: {b.status} {b.progress:.0f}%",
    )
    print(
        f"import {batch.id}: {batch.status}, {batch.rows_created} created, "
        f"{batch.rows_updated} updated, {batch.rows_rejected} rejected"
    )
    if batch.created:
        for line in _created_lines(batch.created):
            print(line)
    return 0 if batch.status == "succeeded" else 1


def _names(count: int, names: list[str]) -> str:
    """`count` and the names shown, saying when they are only the first."""
    shown = ", ".join(names)
    if count > len(names):
        return f"{count} (the first {len(names)}: {shown})"
    return f"{count} ({shown})"


def _created_lines(created: ImportCreated) -> list[str]:
    """What the import added to the taxonomy, as `manage.py import_products` says it."""
    lines: list[str] = []
    if created.facets.count:
        lines.append(f"new facets: {_names(created.facets.count, created.facets.first)}")
    if created.tags.count:
        lines.append(f"new tags: {_names(created.tags.count, created.tags.first)}")
    for name in created.facets.irregular:
        lines.append(
            f"warning: {name!r} is not a valid facet name: use letters (any script) and "
            "digits, with single spaces, _, - or / between words. The import created the "
            "facet anyway: correct the name in the file, or rename the facet in the admin."
        )
    return lines


def _train(client: Client, args: argparse.Namespace) -> int:
    run = client.start_training_run(args.mode)
    print(f"training run {run.id} ({run.mode}): {run.status}")
    if not args.wait:
        return 0
    run = _wait(
        lambda: client.get_training_run(run.id),
        args.poll,
        lambda r: f"training run {r.id}: {r.status} {r.progress:.0f}% {r.stage}",
    )
    print(f"training run {run.id}: {run.status} {run.error}".rstrip())
    return 0 if run.status == "succeeded" else 1


def _status(client: Client) -> int:
    versions = list(client.list_model_versions())
    active = next((v for v in versions if v.status == "active"), None)
    if active is None:
        print("active model: none")
    else:
        f1 = f"{active.micro_f1:.3f}" if active.micro_f1 is not None else "-"
        print(f"active model: v{active.id} ({active.mode}, {active.base_model}), micro F1 {f1}")
    for run in list(client.list_training_runs())[:5]:
        print(f"training run {run.id}: {run.mode} {run.status} {run.progress:.0f}%")
    return 0


def main(argv: Sequence[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.url or not args.token:
        print("tagger: give --url and --token (or TAGGER_URL and TAGGER_TOKEN)", file=sys.stderr)
        return 2
    client = Client(args.url, args.token)
    try:
        if args.command == "export":
            if args.out is not None and args.format != "hf":
                with args.out.open("wb") as out:
                    return _export(client, args, out)
            return _export(client, args, stdout or sys.stdout.buffer)
        if args.command == "import":
            return _import(client, args)
        if args.command == "train":
            return _train(client, args)
        return _status(client)
    except ApiError as exc:
        print(f"tagger: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
