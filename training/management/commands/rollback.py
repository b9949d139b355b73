from training.management.commands._version_command import VersionCommand
from training.services import versions


class Command(VersionCommand):
    help = "Return to an earlier model version; the catalogue is then re-scored by a worker."
    action = staticmethod(versions.rollback)
    done = "rolled back to v{pk}; re-scoring queued"
