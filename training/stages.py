"""The stages of a training run: stored on TrainingRun.stage as keys, shown in
the reader's language.

The ML core reports its progress in plain English ("training head, epoch 3");
the run's reporter stores the key for it ("head_epoch:3"), and the pages show
the translated label ("训练分类头，第 3 轮"). A text no stage matches is stored
as it is and shown as it is; rows written before stages were keys hold the
English text, which is read the same way."""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Stage:
    key: str
    # The English text reported for it; named groups become the key's arguments.
    pattern: re.Pattern[str]
    # The label, with a %(name)s for each named group.
    label: "StrOrPromise"


def _stage(key: str, pattern: str, label: "StrOrPromise") -> Stage:
    return Stage(key, re.compile(pattern), label)


STAGES: tuple[Stage, ...] = (
    # Written by training.services.job.
    _stage("prepare", r"preparing data", _("preparing data")),
    _stage("evaluate", r"evaluating on the frozen set", _("evaluating on the frozen set")),
    _stage("save", r"saving the model", _("saving the model")),
    _stage("done", r"done", _("done")),
    _stage("cancelled", r"cancelled", _("cancelled")),
    # Reported by training.ml.
    _stage("loading", r"loading the base model", _("loading the base model")),
    _stage("embedding", r"embedding", _("reading the texts (embeddings)")),
    _stage("lexical", r"lexical features", _("computing word features")),
    _stage("thresholds", r"tuning thresholds", _("tuning the thresholds")),
    _stage(
        "head_epoch",
        r"training head, epoch (?P<epoch>\d+)",
        _("training the head, epoch %(epoch)s"),
    ),
    _stage(
        "finetune_step",
        r"epoch (?P<epoch>\d+)/(?P<epochs>\d+) step (?P<step>\d+)/(?P<steps>\d+)",
        _("fine-tuning, epoch %(epoch)s of %(epochs)s, step %(step)s of %(steps)s"),
    ),
    _stage(
        "finetune_validate",
        r"epoch (?P<epoch>\d+)/(?P<epochs>\d+) validating",
        _("fine-tuning, epoch %(epoch)s of %(epochs)s: validating"),
    ),
    _stage("fine_tuned", r"fine-tuned", _("fine-tuned")),
    _stage("predicting", r"predicting", _("predicting")),
)
_BY_KEY = {stage.key: stage for stage in STAGES}


def stage_key(text: str) -> str:
    """The key to store for a reported stage text (the text itself when no
    stage matches it)."""
    for stage in STAGES:
        match = stage.pattern.fullmatch(text)
        if match is not None:
            return ":".join([stage.key, *match.groups()])
    return text


def stage_label(stored: str) -> str:
    """The stored stage (a key, or an older row's English text) in the
    active language."""
    if not stored:
        return ""
    key, *args = stored.split(":")
    stage = _BY_KEY.get(key)
    if stage is not None and len(args) == stage.pattern.groups:
        names = sorted(stage.pattern.groupindex, key=stage.pattern.groupindex.__getitem__)
        return str(stage.label) % dict(zip(names, args, strict=True)) if names else str(stage.label)
    keyed = stage_key(stored)
    return stage_label(keyed) if keyed != stored else stored
