import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.services.review import Decision, submit_review
from tests.annotation.ui_catalog import build_catalog
from tests.factories import ModelVersionFactory, ProductTagFactory, TrainingRunFactory
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("training:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_catalogue_progress_and_reviewer_throughput(
    client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=4)
    for product in catalog.products[:3]:
        submit_review(merchandiser, product, [Decision(catalog.tags["red"].pk, True)])
    client.force_login(merchandiser)

    response = client.get(reverse("training:dashboard"))

    progress = response.context["progress"]
    assert (progress["total"], progress["reviewed"], progress["reviewed_today"]) == (4, 3, 3)
    assert progress["percent"] == 75.0
    assert response.context["throughput"] == [
        {"username": "mia", "today": 3, "week": 3, "decisions": 3}
    ]
    assert response.context["stats"]["pending"] == 1


def test_the_long_tail_chart_marks_tags_with_fewer_than_five_examples(
    client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=0, extra_products=6)
    for product in catalog.products:
        ProductTagFactory(
            product=product,
            tag=catalog.tags["cotton"],
            state="approved",
            source="human",
            decided_at=timezone.now(),
        )
    client.force_login(merchandiser)

    html = client.get(reverse("training:dashboard")).content.decode()

    bars = re.findall(r'<rect class="(tail-bar(?: rare)?)"[^>]*><title>([^<]*)</title>', html)
    assert ("tail-bar", "Material: Cotton: 6") in bars
    assert ("tail-bar rare", "Colour: Red: 0") in bars
    assert len(bars) == 5
    assert "4 of 5 tags are rare." in html


def test_the_learning_curve_plots_trained_versions(client: Client, merchandiser: User) -> None:
    build_catalog(products=0)
    for labeled, micro, macro in ((100, 0.61, 0.32), (400, 0.78, 0.5)):
        ModelVersionFactory(
            mode="head",
            status="archived",
            base_model="test",
            metrics={"micro_f1": micro, "macro_f1": macro, "labeled_count": labeled},
        )
    client.force_login(merchandiser)

    response = client.get(reverse("training:dashboard"))

    curve = response.context["curve"]
    assert [len(s.markers) for s in curve.series] == [2, 2]
    assert '<polyline class="series micro"' in response.content.decode()


def test_admin_actions_are_shown_to_admins_only(
    client: Client, merchandiser: User, admin_user: User
) -> None:
    build_catalog(products=0)
    train_form = f'action="{reverse("training:train")}"'

    client.force_login(merchandiser)
    as_merchandiser = client.get(reverse("training:dashboard")).content.decode()
    client.force_login(admin_user)
    as_admin = client.get(reverse("training:dashboard")).content.decode()

    assert train_form not in as_merchandiser
    assert reverse("training:models") not in as_merchandiser
    assert train_form in as_admin
    assert reverse("training:models") in as_admin


def test_a_running_training_is_polled_until_it_finishes(client: Client, merchandiser: User) -> None:
    run = TrainingRunFactory(mode="head", status="running", progress=42, stage="epoch 2/5")
    client.force_login(merchandiser)
    poll = f'hx-get="{reverse("training:dashboard_progress")}"'

    running = client.get(reverse("training:dashboard")).content.decode()
    TrainingRun.objects.filter(pk=run.pk).update(status="succeeded", in_flight=None, progress=100)
    finished = client.get(reverse("training:dashboard_progress")).content.decode()

    assert poll in running
    assert "epoch 2/5" in running
    assert 'value="42.0"' in running
    assert poll not in finished
    assert "succeeded" in finished
