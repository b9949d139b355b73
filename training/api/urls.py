"""The training API's routes, included under /api/v1/ by tagger/urls.py."""

from django.urls import path

from training.api import views as api

urlpatterns = [
    path("predictions/", api.PredictionsImportView.as_view(), name="predictions"),
    path("training/runs/", api.TrainingRunListView.as_view(), name="training-runs"),
    path("training/runs/<int:pk>/", api.TrainingRunDetailView.as_view(), name="training-run"),
    path(
        "training/runs/<int:pk>/cancel/",
        api.TrainingRunCancelView.as_view(),
        name="training-run-cancel",
    ),
    path("training/versions/", api.ModelVersionListView.as_view(), name="model-versions"),
    path(
        "training/versions/<int:pk>/",
        api.ModelVersionDetailView.as_view(),
        name="model-version",
    ),
    path(
        "training/versions/<int:pk>/promote/",
        api.ModelVersionPromoteView.as_view(),
        name="model-version-promote",
    ),
    path(
        "training/versions/<int:pk>/rollback/",
        api.ModelVersionRollbackView.as_view(),
        name="model-version-rollback",
    ),
]
