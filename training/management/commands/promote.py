from training.management.commands._version_command import VersionCommand
from training.services import versions


class Command(VersionCommand):
    help = "Make a model version active; the catalogue is then re-scored by a worker."
    action = staticmethod(versions.promote)
    done = "v{pk} is active; re-scoring queued"
