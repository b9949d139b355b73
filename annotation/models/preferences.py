from django.conf import settings
from django.db import models


class UserPreference(models.Model):
    """One person's settings that follow them across sessions and devices:
    today the interface language (a code from settings.LANGUAGES, "" for the
    browser's choice)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tagger_preference"
    )
    language = models.CharField(max_length=16, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of user {self.user_id}"
