"""Create or update an account with one Tagger role."""

import sys
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from annotation import roles

# The Django admin shows a staff user only the models their permissions cover.
ADMIN_APPS = ("annotation", "training")


def grant_admin_permissions(group: Group) -> None:
    """Give the admin role every permission on Tagger's own models, so its
    members can use the Django admin without being superusers."""
    group.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))


class Command(BaseCommand):
    help = (
        "Create a user with a role (merchandiser, admin or api_client), or update the "
        "role, password and email of an existing one. Admins also get access to the "
        "Django admin (is_staff)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=roles.ROLES)
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument(
            "--password", help="The password (visible in the process list: prefer stdin)."
        )
        secret.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input.",
        )
        parser.add_argument("--email", default=None)

    def _password(self, options: dict[str, Any]) -> str | None:
        if options["password_stdin"]:
            line = sys.stdin.readline().rstrip("\r\n")
            if not line:
                raise CommandError("no password on standard input")
            return line
        return options["password"]

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"].strip()
        if not username:
            raise CommandError("the username is empty")
        role: str = options["role"]
        password = self._password(options)
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username)
            if options["email"] is not None:
                user.email = options["email"]
            if password is not None:
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise CommandError(" ".join(exc.messages)) from exc
                user.set_password(password)
            elif created:
                # API clients authenticate with tokens; others can get a
                # password later by running this command again.
                user.set_unusable_password()
            user.is_staff = role == roles.ADMIN or user.is_superuser
            user.save(update_fields=["email", "password", "is_staff"])
            groups = roles.ensure_role_groups()
            if role == roles.ADMIN:
                grant_admin_permissions(groups[role])
            user.groups.remove(*(g for name, g in groups.items() if name != role))
            user.groups.add(groups[role])
        verb = "created" if created else "updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} with role {role}"))
        if created and password is None:
            self.stdout.write(
                "no password set: the account cannot log in to the web UI until one is"
            )
