"""The Django admin: a back office for admins. Anything that must keep the
audit trail (tag decisions, renames, merges, deprecations, tokens) goes
through the same services as the app; the audit rows themselves are
read-only here."""

from annotation.admin import catalog, integrations, outbox, review, taxonomy

__all__ = ["catalog", "integrations", "outbox", "review", "taxonomy"]
