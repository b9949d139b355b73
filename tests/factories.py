"""factory_boy factories for the rows the tests create.

Every factory makes a valid row from nothing; pass only what a test cares
about. Products get their model text and content hash the way the importer
computes them (override `normalized_text` for a text of your own), and users
get the shared test password.

    UserFactory(username="rita", role=roles.MERCHANDISER)
    ProductFactory(external_id="sku-1", title="Red shirt", queued=True)
    TagFactory(group=colour, name="red")
"""

import factory
from django.contrib.auth.models import User
from django.utils import timezone
from factory.django import DjangoModelFactory

from annotation import roles
from annotation.models import (
    ImportBatch,
    Product,
    ProductTag,
    QueueEntry,
    ReviewEvent,
    Suggestion,
    Tag,
    TagGroup,
    Webhook,
)
from annotation.services import queue
from training.ml.text import product_text, text_hash
from training.models import ModelVersion, TrainingRun

PASSWORD = "pw-for-tests-1"


class UserFactory(DjangoModelFactory):
    """A user with the test password; `role=` one of annotation.roles.ROLES
    puts them in that role's group. `password=None` leaves no usable password."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)

    class Params:
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def role(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            obj.groups.add(roles.ensure_role_groups()[extracted])


class ImportBatchFactory(DjangoModelFactory):
    class Meta:
        model = ImportBatch

    source = factory.Sequence(lambda n: f"import-{n}.csv")


class ProductFactory(DjangoModelFactory):
    """A product; `queued=True` also gives it its review-queue entry."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    external_id = factory.Sequence(lambda n: f"product-{n}")
    title = factory.LazyAttribute(lambda o: f"Product {o.external_id}")
    description = ""
    normalized_text = factory.LazyAttribute(lambda o: product_text(o.title, o.description))
    content_hash = factory.LazyAttribute(lambda o: text_hash(o.normalized_text))

    @factory.post_generation
    def queued(obj: Product, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted:
            queue.ensure_queue_entries([obj.pk])


class TagGroupFactory(DjangoModelFactory):
    class Meta:
        model = TagGroup

    name = factory.Sequence(lambda n: f"facet{n}")


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag

    group = factory.SubFactory(TagGroupFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


class ModelVersionFactory(DjangoModelFactory):
    class Meta:
        model = ModelVersion

    mode = ModelVersion.Mode.HEAD
    base_model = "tiny"


class TrainingRunFactory(DjangoModelFactory):
    class Meta:
        model = TrainingRun

    mode = ModelVersion.Mode.HEAD


class SuggestionFactory(DjangoModelFactory):
    class Meta:
        model = Suggestion

    product = factory.SubFactory(ProductFactory)
    tag = factory.SubFactory(TagFactory)
    model_version = factory.SubFactory(ModelVersionFactory)
    score = 0.5


class ProductTagFactory(DjangoModelFactory):
    """An approved, imported decision, made now."""

    class Meta:
        model = ProductTag

    product = factory.SubFactory(ProductFactory)
    tag = factory.SubFactory(TagFactory)
    state = ProductTag.State.APPROVED
    source = ProductTag.Source.IMPORT
    decided_at = factory.LazyFunction(timezone.now)


class ReviewEventFactory(DjangoModelFactory):
    class Meta:
        model = ReviewEvent

    product = factory.SubFactory(ProductFactory)
    action = ReviewEvent.Action.ACCEPT


class QueueEntryFactory(DjangoModelFactory):
    class Meta:
        model = QueueEntry

    product = factory.SubFactory(ProductFactory)


class WebhookFactory(DjangoModelFactory):
    class Meta:
        model = Webhook

    url = "http://127.0.0.1:9/hook"
    secret = factory.Sequence(lambda n: f"whsec-{n:032d}")
