"""Full-mode training: fine-tune the transformer end to end with a multi-label head.

Importing this package does not import torch; the training and inference code
imports it inside functions.
"""

from .batching import LengthBucketBatchSampler
from .classifier import FineTunedClassifier
from .trainer import FineTuneConfig, finetune
from .weighting import EarlyStopping, compute_pos_weight, initial_bias, micro_f1

__all__ = [
    "EarlyStopping",
    "FineTuneConfig",
    "FineTunedClassifier",
    "LengthBucketBatchSampler",
    "compute_pos_weight",
    "finetune",
    "initial_bias",
    "micro_f1",
]
