"""200 epochs of the GCN of Kipf & Welling on Cora in bare PyTorch Geometric.

The peer of `kedro run --pipelines gnn --namespaces gcn --params gnn.seeds=1`:
the same model and optimiser, full-batch training, an evaluation pass per epoch
keeping the best-validation weights, then the test accuracy. No Kedro, no
MLflow, no Lightning. Prints `seconds <training seconds> test_acc <accuracy>`.
With `--sparse` the features are a sparse COO tensor and input dropout masks
its stored entries only, as genpipe's GNN does; without, they stay dense, as
in PyG's own GCN example.

    python benchmarks/bare_gcn.py [--graph data/02_intermediate/cora.pt] [--sparse]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--graph", default="data/02_intermediate/cora.pt")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--sparse", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(42)
    # genpipe stores the graph as plain tensors (loadable without trusting it)
    data = Data(**torch.load(args.graph, weights_only=True))
    if args.sparse:
        data.x = data.x.to_sparse()
    conv1 = GCNConv(data.num_features, 16)
    conv2 = GCNConv(16, int(data.y.max()) + 1)
    model = torch.nn.ModuleList([conv1, conv2])
    optimizer = torch.optim.Adam([
        {"params": conv1.parameters(), "weight_decay": 5e-4},
        {"params": conv2.parameters(), "weight_decay": 0.0}], lr=0.01)

    def input_dropout(x: torch.Tensor, training: bool) -> torch.Tensor:
        if not (x.is_sparse and training):
            return F.dropout(x, 0.5, training)
        values = F.dropout(x.values(), 0.5)
        return torch.sparse_coo_tensor(x.indices(), values, x.shape,
                                       is_coalesced=True, check_invariants=False)

    def forward(training: bool) -> torch.Tensor:
        x = input_dropout(data.x, training)
        x = F.dropout(F.relu(conv1(x, data.edge_index)), 0.5, training)
        return conv2(x, data.edge_index)

    start = time.perf_counter()
    best, best_state = -1.0, None
    for _ in range(args.epochs):
        model.train()
        optimizer.zero_grad()
        mask = data.train_mask
        F.cross_entropy(forward(True)[mask], data.y[mask]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = forward(False)
        val = (logits[data.val_mask].argmax(1) == data.y[data.val_mask]).float().mean()
        if val > best:
            best, best_state = val.item(), copy.deepcopy(model.state_dict())
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    with torch.no_grad():
        logits = forward(False)
    test = (logits[data.test_mask].argmax(1) == data.y[data.test_mask]).float().mean()
    print(f"seconds {seconds:.3f} test_acc {test.item():.4f}")  # noqa: T201


if __name__ == "__main__":
    main()
