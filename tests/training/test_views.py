import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.factories import ModelVersionFactory, TagFactory, TagGroupFactory
from training.models import ModelVersion, TrainingRun
from training.services import runs


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


def version(**fields: object) -> ModelVersion:
    return ModelVersionFactory(**{"status": "ready", **fields})


@pytest.mark.django_db
def test_a_merchandiser_may_not_see_the_models_page(client: Client, merchandiser: User) -> None:
    client.force_login(merchandiser)

    assert client.get(reverse("training:models")).status_code == 403
    assert client.post(reverse("training:train"), {"mode": "head"}).status_code == 403
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("training:models"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_an_admin_sees_versions_metrics_the_curve_and_per_tag_quality(
    admin_client: Client,
) -> None:
    version(metrics={"micro_f1": 0.61, "macro_f1": 0.42, "labeled_count": 100}, status="archived")
    version(
        status="active",
        metrics={
            "micro_f1": 0.75,
            "macro_f1": 0.55,
            "labeled_count": 200,
            "per_tag": {
                "colour:red": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 4},
                "colour:blue": {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 30},
            },
        },
    )

    response = admin_client.get(reverse("training:models"), {"sort": "support"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "0.750" in html
    assert "0.610" in html
    assert "<polyline" in html  # the learning curve, drawn server-side
    assert html.index("colour:blue") < html.index("colour:red")  # most support first
    assert "<script>" not in html  # the CSP refuses inline scripts


@pytest.mark.django_db
def test_per_tag_quality_names_tags_in_the_readers_language(admin_client: Client) -> None:
    colour = TagGroupFactory(name="colour", display_name_en="Colour", display_name_zh="颜色")
    TagFactory(group=colour, name="red", display_name_en="Red", display_name_zh="红色")
    TagFactory(group=colour, name="blue", display_name_en="Blue", display_name_zh="蓝色")
    row = {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3}
    per_tag = {"colour:red": row, "colour:blue": row, "colour:gone": row}
    version(status="active", metrics={"micro_f1": 0.9, "macro_f1": 0.8, "per_tag": per_tag})
    url = reverse("training:models")

    english = admin_client.get(url, {"sort": "tag", "dir": "asc"}).content.decode()
    admin_client.cookies["django_language"] = "zh-hans"
    chinese = admin_client.get(url, {"sort": "tag", "dir": "asc"}).content.decode()

    assert '<th scope="row" title="colour:red">Colour: Red' in english
    assert english.index("Colour: Blue") < english.index("Colour: Red")  # by name, A-Z
    assert '<th scope="row" title="colour:red">颜色: 红色' in chinese
    assert '<th scope="row">colour:gone' in chinese  # a tag deleted since keeps its key
    assert "Colour: Red" not in chinese


@pytest.mark.django_db
def test_the_progress_fragment_polls_only_while_a_run_is_in_flight(
    admin_client: Client, admin_user: User
) -> None:
    run = runs.trigger_training(admin_user, "head", enqueue=False)
    TrainingRun.objects.filter(pk=run.pk).update(status="running", progress=42.0, stage="training")

    polling = admin_client.get(reverse("training:progress"), {"run": run.pk})
    TrainingRun.objects.filter(pk=run.pk).update(status="succeeded", in_flight=None)
    finished = admin_client.get(
        reverse("training:progress"), {"run": run.pk}, headers={"HX-Request": "true"}
    )

    assert 'hx-trigger="every 2s"' in polling.content.decode()
    assert 'value="42.0"' in polling.content.decode()
    assert "hx-trigger" not in finished.content.decode()
    assert finished["HX-Refresh"] == "true"


@pytest.mark.django_db
def test_starting_a_training_while_one_runs_shows_why_it_was_refused(
    admin_client: Client, admin_user: User
) -> None:
    first = runs.trigger_training(admin_user, "head", enqueue=False)

    response = admin_client.post(reverse("training:train"), {"mode": "head"}, follow=True)

    assert f"run {first.pk} is already queued" in response.content.decode()
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_cancel_from_the_page_stops_a_queued_run(admin_client: Client, admin_user: User) -> None:
    run = runs.trigger_training(admin_user, "head", enqueue=False)

    admin_client.post(reverse("training:cancel", args=[run.pk]))

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED


@pytest.mark.django_db
def test_promoting_a_version_without_files_is_refused_with_a_message(
    admin_client: Client,
) -> None:
    ready = version(artifact_path="/nonexistent/v1")

    response = admin_client.post(reverse("training:promote", args=[ready.pk]), follow=True)

    assert "has no model files" in response.content.decode()
    ready.refresh_from_db()
    assert ready.status == ModelVersion.Status.READY
