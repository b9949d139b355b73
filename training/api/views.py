"""Training for admins: start and cancel runs, follow their progress, and
promote or roll back model versions (training.services does the work)."""

from typing import ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.base import (
    Conflict,
    GenericApiView,
    ListApiView,
    ServiceUnavailable,
    bad_request,
    error_response,
    validated,
)
from annotation.api.permissions import IsTaggerAdmin
from annotation.roles import signed_in
from training import errors
from training.models import ModelVersion, TrainingRun
from training.services import predictions, runs, versions


class TrainingRunSerializer(serializers.ModelSerializer):
    mode = serializers.CharField(
        read_only=True, help_text="head or full; empty until the worker picks one"
    )
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)

    class Meta:
        model = TrainingRun
        fields: ClassVar[list[str]] = [
            "id",
            "mode",
            "status",
            "progress",
            "stage",
            "error",
            "model_version",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "cancel_requested",
        ]
        read_only_fields = fields


class TrainingRunDetailSerializer(TrainingRunSerializer):
    class Meta(TrainingRunSerializer.Meta):
        fields: ClassVar[list[str]] = [*TrainingRunSerializer.Meta.fields, "log"]
        read_only_fields = fields


class TriggerSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=["", *runs.TRAIN_MODES],
        default="",
        help_text='head, full, or "" (TAGGER_TRAIN_MODE; else full on a GPU worker, head on CPU)',
    )


class ModelVersionSerializer(serializers.ModelSerializer):
    micro_f1 = serializers.FloatField(read_only=True, allow_null=True)
    macro_f1 = serializers.FloatField(read_only=True, allow_null=True)
    tag_count = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields: ClassVar[list[str]] = [
            "id",
            "mode",
            "status",
            "base_model",
            "metrics",
            "micro_f1",
            "macro_f1",
            "train_size",
            "tag_count",
            "created_at",
            "promoted_at",
        ]
        read_only_fields = fields

    def get_tag_count(self, version: ModelVersion) -> int:
        return len(version.tag_vocab or [])


class TrainingRunListView(ListApiView):
    permission_classes = (IsTaggerAdmin,)
    serializer_class = TrainingRunSerializer
    queryset = TrainingRun.objects.select_related("created_by")

    @extend_schema(
        request=TriggerSerializer,
        responses={
            201: TrainingRunDetailSerializer,
            409: error_response("A training run is already queued or running"),
            503: error_response("The task broker is unreachable; the run was recorded as failed"),
        },
    )
    def post(self, request: Request) -> Response:
        """Start a training run (at most one at a time)."""
        mode = validated(TriggerSerializer, request.data)["mode"]
        try:
            run = runs.trigger_training(signed_in(request.user), mode)
        except errors.TrainingInFlight as exc:
            raise Conflict(str(exc)) from exc
        except errors.BrokerUnavailable as exc:
            raise ServiceUnavailable(f"Training could not be queued: {exc}") from exc
        except errors.InvalidTrainingMode as exc:
            raise bad_request(str(exc)) from exc
        run.refresh_from_db()
        return Response(TrainingRunDetailSerializer(run).data, status=status.HTTP_201_CREATED)


class TrainingRunDetailView(GenericApiView):
    """A run's status, progress, stage and error."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = TrainingRunDetailSerializer
    queryset = TrainingRun.objects.select_related("created_by")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)


class TrainingRunCancelView(GenericApiView):
    """Cancel a run: a queued one at once, a running one at its next check."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = TrainingRunDetailSerializer
    queryset = TrainingRun.objects.select_related("created_by")

    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        run = runs.cancel_training(self.get_object(), signed_in(request.user))
        return Response(self.get_serializer(run).data)


class ModelVersionListView(ListApiView):
    """Model versions, newest first, with their metrics on the frozen evaluation set."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.all()


class ModelVersionDetailView(GenericApiView):
    permission_classes = (IsTaggerAdmin,)
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.all()

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)


_PROMOTION_RESPONSES = {
    200: ModelVersionSerializer,
    409: error_response("The version cannot become active"),
}


class ModelVersionPromoteView(GenericApiView):
    """Make this version the active model (the previous one is archived; the
    catalogue is re-scored and the queue re-ranked)."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.all()

    @extend_schema(request=None, responses=_PROMOTION_RESPONSES)
    def post(self, request: Request, pk: int) -> Response:
        try:
            version = versions.promote(self.get_object(), signed_in(request.user))
        except errors.PromotionError as exc:
            raise Conflict(str(exc)) from exc
        return Response(self.get_serializer(version).data)


class ModelVersionRollbackView(GenericApiView):
    """Return to this earlier version."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.all()

    @extend_schema(request=None, responses=_PROMOTION_RESPONSES)
    def post(self, request: Request, pk: int) -> Response:
        try:
            version = versions.rollback(self.get_object(), signed_in(request.user))
        except errors.PromotionError as exc:
            raise Conflict(str(exc)) from exc
        return Response(self.get_serializer(version).data)


# -- outside predictions ----------------------------------------------------------------


class PredictionSerializer(serializers.Serializer):
    product = serializers.CharField(max_length=500, help_text="The product's external id")
    tag = serializers.CharField(max_length=500, help_text="facet:value")
    score = serializers.FloatField(help_text="0 to 1")


class PredictionsImportSerializer(serializers.Serializer):
    model_version = serializers.CharField(
        max_length=predictions.MAX_NAME_LENGTH,
        help_text="The outside model's name and version; the same name again updates it",
    )
    # DRF passes max_length on to the list serializer; the stubs do not know it.
    predictions = PredictionSerializer(many=True, max_length=predictions.MAX_PREDICTIONS)  # type: ignore[call-arg]
    threshold = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        default=0.5,
        help_text="A suggestion is pre-ticked (selected) from this score up",
    )


class PredictionErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The prediction's place in the request")
    reason = serializers.CharField()


class PredictionsImportedSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(help_text="The external version's id")
    name = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = PredictionErrorSerializer(  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class
        many=True, help_text="The first 100 rejected rows"
    )


def predictions_body(result: predictions.PredictionsResult) -> dict:
    return PredictionsImportedSerializer(
        {
            "model_version": result.version.pk,
            "name": result.version.base_model,
            "created": result.created,
            "updated": result.updated,
            "rejected": result.rejected,
            "errors": [{"index": i, "reason": r} for i, r in result.errors],
        }
    ).data


class PredictionsImportView(GenericApiView):
    """Import outside predictions as suggestions of a named external model version
    (mode `external`): read them with products/<id>/suggestions/?model_version=<id>.
    Rows naming an unknown product or tag are rejected with their index; the
    others are saved."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = PredictionsImportSerializer

    @extend_schema(
        request=PredictionsImportSerializer, responses={200: PredictionsImportedSerializer}
    )
    def post(self, request: Request) -> Response:
        data = validated(PredictionsImportSerializer, request.data)
        rows = [predictions.Prediction(**row) for row in data["predictions"]]
        try:
            result = predictions.import_predictions(
                data["model_version"],
                rows,
                threshold=data["threshold"],
                user=signed_in(request.user),
            )
        except predictions.InvalidPredictions as exc:
            raise bad_request(str(exc)) from exc
        return Response(predictions_body(result))
