"""A small synthetic graph for the GNN model and pipeline tests."""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

NUM_CLASSES = 2


def two_communities(n: int = 40, noise_dims: int = 6, noise: float = 1.5,
                    seed: int = 0) -> Data:
    """Two dense communities with a few cross edges; noisy one-hot features.

    Features alone are a weak signal (a logistic regression on them scores
    0.5-0.7 on the test nodes); averaging over a node's community is what makes
    the task easy.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % NUM_CLASSES
    p = 0.3 * (y[:, None] == y[None, :])  # no random edges across communities
    upper = torch.triu(torch.rand(n, n, generator=g) < p, diagonal=1)
    intra = upper.nonzero().t()
    cross = torch.stack([torch.arange(0, 8, 2), torch.arange(1, 9, 2)])  # 4 edges
    edge_index = to_undirected(torch.cat([intra, cross], dim=1), num_nodes=n)
    x = torch.cat([torch.nn.functional.one_hot(y, NUM_CLASSES).float(),
                   torch.zeros(n, noise_dims)], dim=1)
    x = x + noise * torch.randn(x.shape, generator=g)
    order = torch.randperm(n, generator=g)
    splits = {"train": order[:10], "val": order[10:20], "test": order[20:]}
    masks = {f"{name}_mask": torch.isin(torch.arange(n), nodes)
             for name, nodes in splits.items()}
    return Data(x=x, edge_index=edge_index, y=y, **masks)
