import json
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from pytest_django.fixtures import Settings

import annotation
from annotation import roles
from annotation.models import Product, ProductTag, Tag, TagGroup
from tests.factories import ModelVersionFactory, ProductFactory
from training.models import ModelVersion

SAMPLE_DIR = Path(annotation.__file__).resolve().parent / "sample_data"
PASSWORD_LINE = re.compile(r"^\|\s+(merch2?|admin)\s+(\w+)\s+(\S+)\s+\|$", re.MULTILINE)


@pytest.fixture
def scoring_calls(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Stand-in for the initial scoring, which loads the real encoder."""
    calls: list[None] = []

    def fake() -> None:
        calls.append(None)

    monkeypatch.setattr("training.services.scoring.ensure_initial_scoring", fake)
    return calls


@pytest.fixture
def demo_mode(settings: Settings) -> Settings:
    settings.DEMO = True
    settings.DEBUG = False
    return settings


@pytest.fixture
def production_mode(settings: Settings) -> Settings:
    settings.DEMO = False
    settings.DEBUG = False
    return settings


@pytest.fixture
def existing_catalogue(db: None) -> Product:
    """One product, so the command skips the (slower) sample import."""
    return ProductFactory(external_id="mine-1", title="My own product")


def bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_demo", *args, stdout=out)
    return out.getvalue()


def sample_lines() -> list[dict]:
    text = (SAMPLE_DIR / "catalog.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_mode", "scoring_calls")
def test_it_loads_the_sample_taxonomy_and_catalogue_into_an_empty_install() -> None:
    lines = sample_lines()

    output = bootstrap("--no-users")

    assert Product.objects.count() == len(lines)
    assert TagGroup.objects.get(name="category").multi_valued is False
    assert Tag.objects.get(group__name="color", name="Red").display_name_zh == "红色"
    tagged = ProductTag.objects.filter(state=ProductTag.State.APPROVED)
    assert tagged.values("product_id").distinct().count() == sum(1 for r in lines if r["tags"])
    assert f"Catalogue: {len(lines)} products" in output


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_mode", "scoring_calls")
def test_running_it_twice_changes_nothing() -> None:
    bootstrap()
    products = Product.objects.count()
    tags = Tag.objects.count()
    passwords = dict(User.objects.values_list("username", "password"))

    output = bootstrap()

    assert Product.objects.count() == products
    assert Tag.objects.count() == tags
    assert dict(User.objects.values_list("username", "password")) == passwords
    assert User.objects.count() == 3
    assert "Demo accounts exist" in output
    assert PASSWORD_LINE.search(output) is None


@pytest.mark.usefixtures("demo_mode", "scoring_calls", "existing_catalogue")
def test_it_leaves_an_existing_catalogue_alone() -> None:
    output = bootstrap("--no-users")

    assert list(Product.objects.values_list("external_id", flat=True)) == ["mine-1"]
    assert TagGroup.objects.count() == 0
    assert "sample data not loaded" in output


@pytest.mark.usefixtures("demo_mode", "scoring_calls", "existing_catalogue")
def test_in_demo_mode_it_creates_the_demo_accounts_and_prints_their_passwords_once() -> None:
    output = bootstrap()

    printed = {m[0]: (m[1], m[2]) for m in PASSWORD_LINE.findall(output)}
    assert set(printed) == {"merch", "merch2", "admin"}
    for username, (role, password) in printed.items():
        user = User.objects.get(username=username)
        assert user.check_password(password)
        assert roles.has_role(user, role)
    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_superuser
    assert not User.objects.get(username="merch").is_staff
    assert "http://127.0.0.1:8000/" in output


@pytest.mark.usefixtures("demo_mode", "scoring_calls", "existing_catalogue")
def test_each_demo_account_gets_its_own_random_password() -> None:
    output = bootstrap()

    passwords = [m[2] for m in PASSWORD_LINE.findall(output)]
    assert len(passwords) == 3
    assert len(set(passwords)) == 3
    assert all(len(p) >= 12 for p in passwords)


@pytest.mark.usefixtures("demo_mode", "scoring_calls", "existing_catalogue")
def test_an_existing_demo_account_keeps_its_password(make_user: Callable[..., User]) -> None:
    mine = make_user("merch", password="chosen-by-me-42")

    output = bootstrap()

    mine.refresh_from_db()
    assert mine.check_password("chosen-by-me-42")
    assert {m[0] for m in PASSWORD_LINE.findall(output)} == {"merch2", "admin"}
    assert "Demo accounts exist" in output


@pytest.mark.usefixtures("production_mode", "scoring_calls", "existing_catalogue")
def test_outside_demo_mode_it_creates_no_accounts_and_says_why() -> None:
    output = bootstrap()

    assert User.objects.count() == 0
    assert "Demo accounts not created" in output
    assert "TAGGER_DEMO" in output


@pytest.mark.usefixtures("demo_mode", "scoring_calls", "existing_catalogue")
def test_no_users_skips_the_accounts_but_still_makes_the_role_groups() -> None:
    bootstrap("--no-users")

    assert User.objects.count() == 0
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(roles.ROLES)


@pytest.mark.usefixtures("demo_mode", "existing_catalogue")
def test_it_starts_the_initial_scoring_only_while_no_model_exists(
    scoring_calls: list[None],
) -> None:
    bootstrap("--no-users")
    ModelVersionFactory(mode=ModelVersion.Mode.ZERO_SHOT, base_model="test")

    bootstrap("--no-users")

    assert len(scoring_calls) == 1


@pytest.mark.usefixtures("demo_mode", "existing_catalogue")
def test_no_scoring_skips_the_initial_scoring(scoring_calls: list[None]) -> None:
    bootstrap("--no-users", "--no-scoring")

    assert scoring_calls == []
