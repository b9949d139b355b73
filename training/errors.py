"""The training app's domain errors: what the rules refuse, with a message fit to
show the admin who asked. Views, API handlers and commands catch these (never a
bare ValueError), so a genuine bug still surfaces as a 500."""

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from training.models import TrainingRun


class TrainingError(Exception):
    """Base of the errors below."""


class InvalidTrainingMode(TrainingError):
    """A training mode that is not one of the trainable modes."""


class NothingToTrain(TrainingError):
    """No labelled products, or no active tags: a run cannot start. The run
    records the message as its error."""


class TrainingInFlight(TrainingError):
    """A training run is already queued or running."""

    def __init__(self, run: "TrainingRun | None") -> None:
        self.run = run
        if run is None:
            message = _("A training run is already in progress.")
        else:
            message = _(
                "Training run %(id)s is already %(status)s (%(progress).0f%%); "
                "wait for it to finish or cancel it."
            ) % {"id": run.pk, "status": run.get_status_display().lower(), "progress": run.progress}
        super().__init__(message)


class BrokerUnavailable(TrainingError):
    """The task broker refused the job; the run was recorded as failed."""


class PromotionError(TrainingError):
    """The version cannot become active (wrong status, or its files are gone)."""
