from django.urls import path

from training.views import dashboard, versions

app_name = "training"
# Included at the site root by tagger/urls.py: the dashboard is the home page.
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("dashboard/training/", dashboard.training_progress, name="dashboard_progress"),
    path("training/", versions.models_page, name="models"),
    path("training/progress/", versions.run_progress, name="progress"),
    path("training/train/", versions.start_training, name="train"),
    path("training/remeasure/", versions.remeasure_versions, name="remeasure"),
    path("training/runs/<int:run_id>/cancel/", versions.cancel_training, name="cancel"),
    path("training/versions/<int:version_id>/promote/", versions.promote_version, name="promote"),
    path(
        "training/versions/<int:version_id>/rollback/", versions.rollback_version, name="rollback"
    ),
]
