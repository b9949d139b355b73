"""The project settings as the review path reads them, one copy per process.

Every claim reads the lease length; admins change the settings a few times a
month. `current()` is a `ProcessCopy` (see there how it stays no older than the
last commit), renewed by the model's signals (`watch`, from annotation/apps.py). Code that changes the settings
loads its own row with `ProjectSettings.load()`.
"""

from annotation.models import ProjectSettings
from annotation.services.process_copy import ProcessCopy

_copy = ProcessCopy("project-settings", ProjectSettings.load)

# This process's copy, shared between requests: read it, never change it.
current = _copy.current
# The settings row was saved or deleted.
changed = _copy.changed
forget = _copy.forget
watch = _copy.watch
