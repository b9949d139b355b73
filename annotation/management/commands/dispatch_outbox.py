"""Send the outbox messages still pending (the broker was down when their
transaction committed). The beat task `annotation.tasks.dispatch_outbox` does
the same every 30 s; this is for operators, and for a deployment without beat."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.services import outbox


class Command(BaseCommand):
    help = (
        "Send the pending messages of the transactional outbox (tasks whose broker "
        "was down), oldest first. Exits with an error while the broker refuses them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=outbox.SWEEP_BATCH, help="At most this many."
        )
        parser.add_argument(
            "--counts", action="store_true", help="Only print the messages per status."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        before = outbox.counts()
        self.stdout.write(_counts_line("before" if not options["counts"] else "now", before))
        if options["counts"]:
            return
        result = outbox.dispatch_pending(limit=options["limit"])
        self.stdout.write(
            f"sent {result.sent}, failed for good {result.failed}, "
            f"skipped {result.skipped} (held by another dispatcher), purged {result.purged}"
        )
        self.stdout.write(_counts_line("after", outbox.counts()))
        if result.broker_down:
            raise CommandError(
                "the task broker refused a message; the rest stay pending "
                "(check CELERY_BROKER_URL and the broker, then run this again)"
            )


def _counts_line(label: str, counts: dict[str, int]) -> str:
    return f"{label}: " + ", ".join(f"{status} {n}" for status, n in counts.items())
