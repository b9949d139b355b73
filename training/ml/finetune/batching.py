"""Length-bucketed batching for fine-tuning (numpy only, no torch import)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


class LengthBucketBatchSampler:
    """Yields batches of indices whose token lengths are close, so dynamic padding
    wastes little compute.

    Shuffling is in two steps, both from a generator seeded by (seed, epoch): the
    indices are permuted and cut into windows of ``bucket_batches`` batches, each
    window is sorted by length and sliced into batches, then the order of all
    batches is shuffled. Batches stay random in content and order, but each holds
    texts of similar length. Without shuffling, batches run longest first.

    With ``num_replicas > 1`` it behaves like ``DistributedSampler``: every rank
    computes the same batches and takes every ``num_replicas``-th one, so the ranks'
    batches are disjoint. The batch list is padded (by repeating batches from its
    start) until every rank gets the same number, because DDP needs the ranks to
    take the same number of steps. Call ``set_epoch`` before each epoch.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        bucket_batches: int = 50,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in a world of {num_replicas}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.bucket_batches = max(bucket_batches, 1)
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[np.ndarray]:
        n = len(self.lengths)
        if n == 0:
            return []
        if not self.shuffle:
            order = np.argsort(-self.lengths, kind="stable")
            return [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n)
        window = self.batch_size * self.bucket_batches * self.num_replicas
        batches: list[np.ndarray] = []
        for start in range(0, n, window):
            chunk = order[start : start + window]
            # Stable sort keeps the random order among equal lengths.
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(
                chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
            )
        return [batches[i] for i in rng.permutation(len(batches))]

    def _padded_count(self, count: int) -> int:
        return -(-count // self.num_replicas) * self.num_replicas

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        if not batches:
            return
        target = self._padded_count(len(batches))
        while len(batches) < target:
            batches.extend(batches[: target - len(batches)])
        for batch in batches[self.rank :: self.num_replicas]:
            yield batch.tolist()

    def __len__(self) -> int:
        n = len(self.lengths)
        if n == 0:
            return 0
        window = self.batch_size * self.bucket_batches * self.num_replicas if self.shuffle else n
        count = sum(-(-min(window, n - start) // self.batch_size) for start in range(0, n, window))
        return self._padded_count(count) // self.num_replicas
