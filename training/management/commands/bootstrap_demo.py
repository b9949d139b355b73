"""Make a fresh install usable at once: the sample taxonomy and catalogue, the
role groups, demo accounts (demo mode only) and the first zero-shot scoring.

Safe to run on every start (`make run` does): each step only fills in what is
missing.
"""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

import annotation
from annotation import roles
from annotation.models import Product, ProductTag, Tag, TagGroup
from annotation.services.importing import import_products
from annotation.services.taxonomy import import_taxonomy
from training.models import ModelVersion

SAMPLE_DIR = Path(annotation.__file__).resolve().parent / "sample_data"
SAMPLE_TAXONOMY = SAMPLE_DIR / "taxonomy.json"
SAMPLE_CATALOG = SAMPLE_DIR / "catalog.jsonl"
LOGIN_URL = "http://127.0.0.1:8000/"

# (username, role); an admin is also staff and superuser so /admin/ works.
DEMO_ACCOUNTS = (
    ("merch", roles.MERCHANDISER),
    ("merch2", roles.MERCHANDISER),
    ("admin", roles.ADMIN),
)


class Command(BaseCommand):
    help = (
        "Load the sample taxonomy and catalogue into an empty install, create the "
        "role groups and, in demo mode, the demo accounts; then start the first "
        "(zero-shot) scoring when no model exists. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-users", action="store_true", help="Do not create the demo accounts."
        )
        parser.add_argument(
            "--no-scoring",
            action="store_true",
            help="Do not start the initial zero-shot scoring (it loads the encoder).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._load_sample()
        roles.ensure_role_groups()
        if not options["no_users"]:
            self._demo_accounts()
        if not options["no_scoring"]:
            self._initial_scoring()
        self._summary()

    def _load_sample(self) -> None:
        # The sample seeds an empty catalogue only: once real products exist,
        # re-importing it would mix demo rows into them, and re-importing the
        # taxonomy could undo an admin's renames and merges.
        existing = Product.objects.count()
        if existing:
            self.stdout.write(f"Catalogue has {existing} products: sample data not loaded.")
            return
        import_taxonomy(SAMPLE_TAXONOMY)
        result = import_products(SAMPLE_CATALOG)
        if not result.succeeded:
            reasons = "; ".join(str(e) for e in result.errors[:5])
            raise CommandError(f"The sample catalogue did not import: {reasons}")
        self.stdout.write(self.style.SUCCESS(f"Loaded the sample catalogue: {result.summary()}."))

    def _demo_accounts(self) -> None:
        if not (settings.DEMO or settings.DEBUG):
            self.stdout.write(
                "Demo accounts not created: TAGGER_DEMO and DEBUG are both off, and "
                "accounts with generated passwords belong in a local demo only. Create "
                "real accounts with `python manage.py create_user NAME --role ROLE`."
            )
            return
        groups = roles.ensure_role_groups()
        created: list[tuple[str, str, str]] = []
        with transaction.atomic():
            for username, role in DEMO_ACCOUNTS:
                if User.objects.filter(username=username).exists():
                    # An existing account keeps its password and its roles.
                    continue
                password = secrets.token_urlsafe(9)
                is_admin = role == roles.ADMIN
                user = User.objects.create_user(
                    username=username,
                    password=password,
                    is_staff=is_admin,
                    is_superuser=is_admin,
                )
                user.groups.add(groups[role])
                created.append((username, role, password))
        if created:
            self._print_box(created)
        if len(created) < len(DEMO_ACCOUNTS):
            self.stdout.write(
                "Demo accounts exist (passwords were printed when created; reset with "
                "`python manage.py create_user NAME --role ROLE --password ...`)."
            )

    def _print_box(self, created: list[tuple[str, str, str]]) -> None:
        lines = ["Demo accounts (passwords are shown once and stored nowhere):", ""]
        lines += [f"  {name:<8} {role:<13} {password}" for name, role, password in created]
        lines += ["", f"Log in at {LOGIN_URL}"]
        width = max(len(line) for line in lines)
        border = "+" + "-" * (width + 2) + "+"
        self.stdout.write(border)
        for line in lines:
            self.stdout.write(f"| {line:<{width}} |")
        self.stdout.write(border)

    def _initial_scoring(self) -> None:
        if ModelVersion.objects.exists():
            return
        # Imported here: the scoring service pulls in the Celery tasks.
        from training.services.scoring import ensure_initial_scoring

        version = ensure_initial_scoring()
        if version is None:
            self.stdout.write("No tags yet: nothing to score.")
        else:
            self.stdout.write(f"Zero-shot model v{version.pk} ready; scoring queued.")

    def _summary(self) -> None:
        products = Product.objects.count()
        tagged = (
            ProductTag.objects.filter(state=ProductTag.State.APPROVED)
            .values("product_id")
            .distinct()
            .count()
        )
        tags = Tag.objects.filter(status=Tag.Status.ACTIVE).count()
        facets = TagGroup.objects.count()
        self.stdout.write(
            f"Catalogue: {products} products ({tagged} with approved tags); "
            f"{tags} tags in {facets} facets."
        )
