"""A person's interface language, kept across sessions and devices.

The language switcher posts to Django's set_language view, which sets the
language cookie for this browser; tagger.language.UserLanguageMiddleware then
records the choice of a signed-in person here, and on each of their later
sessions (a new login, another browser) applies it again."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from annotation.models import UserPreference


def supported(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


def language_of(user: AbstractBaseUser) -> str:
    """The language the person chose last ("" when they never chose one)."""
    found = (
        UserPreference.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    )
    return found if found and supported(found) else ""


def remember_language(user: AbstractBaseUser, language: str) -> None:
    """Keep the person's choice (ignored when it is not one of settings.LANGUAGES)."""
    if not supported(language):
        return
    UserPreference.objects.update_or_create(user_id=user.pk, defaults={"language": language})
