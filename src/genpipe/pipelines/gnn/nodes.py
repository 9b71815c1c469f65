"""Nodes of the `gnn` pipeline (one namespace per model: `gcn`, `gat`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch_geometric.data import Data

from genpipe import plots
from genpipe.config import GnnConfig, GnnModelBlock
from genpipe.data.cora import model_input
from genpipe.models.gnn import GNN, train_seed


def train_gnn(graph: Data, model_params: dict, params: dict, seed: int,
              device: str) -> tuple[dict, dict[str, float], pd.DataFrame, list]:
    """Trains one model over `gnn.seeds` seeds and summarises its accuracies.

    Args:
        graph: Cora with its public split masks (features row-normalised here
            when `gnn.normalize_features`).
        model_params: The namespace's `model` block (architecture, optimiser).
        params: The shared `gnn` block (seeds, trainer).
        seed: The first seed; runs use seed, seed + 1, ...
        device: The `device` parameter.

    Returns:
        The first seed's best-val weights; `{train,val,test}_acc_{mean,std}`,
        `best_epoch_mean` and `seconds_per_epoch`; a row per seed; and the
        first seed's per-epoch history (its curves also go to MLflow).
    """
    config = GnnConfig.model_validate(params)
    model_config = GnnModelBlock.model_validate({"model": model_params}).model
    graph = model_input(graph, config.normalize_features)
    rows, first = [], None
    for offset in range(config.seeds):
        model, history, seconds = train_seed(graph, model_config, config.trainer,
                                             seed + offset, device, offset == 0,
                                             block=config)
        rows.append({"seed": seed + offset, **model.accuracies(graph),
                     "best_epoch": model.best_epoch, "seconds": seconds})
        first = first or (model, history)
    table = pd.DataFrame(rows)
    metrics = {f"{split}_acc_{stat}": float(getattr(table[f"{split}_acc"], stat)())
               for split in ("train", "val", "test") for stat in ("mean", "std")}
    metrics["best_epoch_mean"] = float(table["best_epoch"].mean())
    metrics["seconds_per_epoch"] = float(table["seconds"].mean()
                                         / config.trainer.max_epochs)
    model, history = first
    return model.state_dict(), metrics, table, history


def plot_gnn(weights: dict[str, torch.Tensor], history: list, graph: Data,
             model_params: dict, params: dict, seed: int) -> tuple[Figure, Figure]:
    """t-SNE of the first layer's embeddings (as in the course) and the curves."""
    config = GnnConfig.model_validate(params)
    model_config = GnnModelBlock.model_validate({"model": model_params}).model
    graph = model_input(graph, config.normalize_features)
    model = GNN(model_config, graph.num_features, int(graph.y.max()) + 1)
    model.load_state_dict(weights)
    model.eval()
    with torch.no_grad():
        embeddings = model.embed(graph.x, graph.edge_index).numpy()
    name = model_config.arch.upper()
    tsne = plots.tsne_figure(embeddings, graph.y.numpy(),
                             f"{name}: t-SNE of first-layer embeddings (Cora)",
                             seed=seed, perplexity=config.tsne_perplexity)
    curves = plots.curves_figure(history, f"{name} on Cora, seed {seed}")
    return tsne, curves


def draw_subgraph(graph: Data, params: dict, seed: int) -> Figure:
    """A `gnn.subgraph_nodes`-node neighbourhood of Cora, coloured by class."""
    config = GnnConfig.model_validate(params)
    return plots.subgraph_figure(graph.edge_index.numpy(), np.asarray(graph.y),
                                 config.subgraph_nodes,
                                 f"Cora: {config.subgraph_nodes}-node subgraph",
                                 seed=seed)
