"""Data loading for the engine: tensors in, epoch-seeded loaders out."""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import lightning as L
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

if TYPE_CHECKING:
    from torch_geometric.data import Data


class TensorDataModule(L.LightningDataModule):
    """Train/val/test splits held as tensors (MNIST fits in memory many times).

    The train order is a function of (seed, epoch) only: a `DistributedSampler`
    sharded over the trainer's world size, whose `set_epoch` Lightning calls.
    A resumed run therefore sees exactly the batches an uninterrupted one would,
    and DDP ranks see disjoint shards.
    """

    def __init__(self, train: tuple[torch.Tensor, ...], val: tuple[torch.Tensor, ...],
                 test: tuple[torch.Tensor, ...] | None = None, *, batch_size: int,
                 seed: int, eval_batch_size: int = 1000, num_workers: int = 0):
        super().__init__()
        self.splits = {"train": TensorDataset(*train), "val": TensorDataset(*val)}
        if test is not None:
            self.splits["test"] = TensorDataset(*test)
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.seed, self.num_workers = seed, num_workers

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        attached = self.trainer is not None
        sampler = DistributedSampler(
            self.splits[split], shuffle=shuffle, seed=self.seed,
            num_replicas=self.trainer.world_size if attached else 1,
            rank=self.trainer.global_rank if attached else 0)
        return DataLoader(self.splits[split], batch_size=batch_size, sampler=sampler,
                          num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0,
                          # an own generator: making iterators never draws from
                          # (and so never perturbs) the global torch RNG
                          generator=torch.Generator().manual_seed(self.seed))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)


def paired_domains(source: tuple[torch.Tensor, torch.Tensor],
           target: tuple[torch.Tensor, torch.Tensor], seed: int
           ) -> tuple[torch.Tensor, ...]:
    """`(x_s, y_s, x_t, y_t)` rows: every source image beside a target image.

    The (smaller) target set is repeated in seeded random orders up to the
    source's length, so each shuffled batch holds both domains.
    """
    n, m = len(source[0]), len(target[0])
    generator = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.randperm(m, generator=generator)
                       for _ in range(math.ceil(n / m))])[:n]
    return (*source, target[0][order], target[1][order])


def _only_graph(items: list[Data]) -> Data:
    """Collates a one-graph batch into a shallow copy of that graph.

    Lightning moves a batch with `Data.to`, which moves its tensors *in place*:
    without the copy the caller's graph would end up on the accelerator.
    (A named function, unlike a lambda, pickles for worker processes.)
    """
    return copy.copy(items[0])


class GraphDataModule(L.LightningDataModule):
    """One PyG graph, trained full-batch; the splits are its masks.

    Every loader yields the whole graph once per epoch and the model picks its
    nodes with `train_mask` / `val_mask` / `test_mask`, as in the GCN and GAT
    papers' transductive setting. With a single item there is no order to
    shuffle or resume, so no sampler is needed; under DDP every rank gets the
    whole graph (full-batch training has nothing to shard).
    """

    def __init__(self, data: Data):
        super().__init__()
        self.data = data

    def _loader(self) -> DataLoader:
        # An own generator: making an iterator never draws from the global RNG.
        return DataLoader([self.data], batch_size=1, collate_fn=_only_graph,
                          generator=torch.Generator())

    def train_dataloader(self) -> DataLoader:
        return self._loader()

    def val_dataloader(self) -> DataLoader:
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        return self._loader()
