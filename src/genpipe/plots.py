"""Figures people would rather look at than read (matplotlib `Figure`s).

Built without pyplot's global state, so nodes can return them to a
`FigureDataset` without leaking open figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.manifold import TSNE


def tsne_figure(embeddings: np.ndarray, labels: np.ndarray, title: str,
                seed: int = 0, perplexity: float = 30.0) -> Figure:
    """2-d t-SNE of embeddings, coloured by class (van der Maaten & Hinton 2008)."""
    points = TSNE(n_components=2, perplexity=perplexity, init="pca",
                  random_state=seed).fit_transform(np.asarray(embeddings, np.float32))
    figure = Figure(figsize=(6, 6))
    axes = figure.subplots()
    scatter = axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=6)
    axes.legend(*scatter.legend_elements(), title="class", fontsize=7, loc="best")
    axes.set_title(title)
    axes.set_xticks([])
    axes.set_yticks([])
    figure.tight_layout()
    return figure


def subgraph_figure(edge_index: np.ndarray, labels: np.ndarray, num_nodes: int,
                    title: str, seed: int = 0) -> Figure:
    """A `num_nodes`-node neighbourhood, drawn with a seeded spring layout.

    Breadth-first from a seeded random node of typical degree; hubs are kept
    but not expanded, or one hub's hundreds of neighbours would make a star.
    """
    graph = nx.Graph()
    graph.add_edges_from(np.asarray(edge_index).T.tolist())
    degrees = dict(graph.degree)
    hub = np.percentile(list(degrees.values()), 95)
    typical = sorted(n for n, d in degrees.items() if 3 <= d <= hub)
    start = typical[np.random.default_rng(seed).integers(len(typical))]
    nodes, frontier = [start], [start]
    while frontier and len(nodes) < num_nodes:
        node = frontier.pop(0)
        for neighbour in sorted(graph[node]):
            if neighbour not in nodes and len(nodes) < num_nodes:
                nodes.append(neighbour)
                if degrees[neighbour] <= hub:
                    frontier.append(neighbour)
    sub = graph.subgraph(nodes)
    figure = Figure(figsize=(7, 7))
    axes = figure.subplots()
    layout = nx.spring_layout(sub, seed=seed)
    nx.draw_networkx(sub, layout, ax=axes, node_size=40, with_labels=False,
                     node_color=[labels[n] for n in sub.nodes], cmap="tab10",
                     vmin=0, vmax=9, width=0.5, edge_color="#999999")
    axes.set_title(title)
    axes.set_axis_off()
    figure.tight_layout()
    return figure


def curves_figure(history: Sequence[Mapping[str, float]], title: str,
                  metrics: Sequence[str] = ("loss", "acc")) -> Figure:
    """One panel per metric (loss and accuracy by default) per epoch:
    `train_<metric>` against `val_<metric>`."""
    figure = Figure(figsize=(5 * len(metrics), 4))
    panels = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axes, metric in zip(panels, metrics, strict=True):
        for split in ("train", "val"):
            key = f"{split}_{metric}"
            values = [row[key] for row in history if key in row]
            axes.plot(range(1, len(values) + 1), values, label=split)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.legend()
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def sweep_figure(values: Sequence[float], metrics: Sequence[Mapping[str, float]],
                 setting: str, title: str) -> Figure:
    """Scores against one swept setting: FID and KID (± their spread),
    precision and recall, and `label_accuracy` where the samples had
    requested labels. `metrics[i]` are the scores at `values[i]`."""
    panels = [("fid", "FID ↓"), ("kid", "KID ↓")]
    figure = Figure(figsize=(12, 3.6))
    axes = figure.subplots(1, 3)
    for ax, (key, label) in zip(axes[:2], panels, strict=True):
        ax.errorbar(values, [m[key] for m in metrics],
                    yerr=[m.get(f"{key}_std", 0.0) for m in metrics],
                    marker="o", capsize=3)
        ax.set_ylabel(label)
    for key in ("precision", "recall", "label_accuracy"):
        if all(key in m for m in metrics):
            axes[2].plot(values, [m[key] for m in metrics], marker="o", label=key)
    axes[2].set_ylim(-0.02, 1.02)
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel(setting)
        ax.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def sample_grid(images: torch.Tensor, rows: int, title: str) -> Figure:
    """The first rows x rows images, tiled into one figure."""
    n = min(rows * rows, len(images))
    tiles = torch.zeros(rows * rows, *images.shape[2:])
    tiles[:n] = images[:n, 0]
    h, w = tiles.shape[1:]
    grid = tiles.reshape(rows, rows, h, w).permute(0, 2, 1, 3)
    grid = grid.reshape(rows * h, rows * w)
    figure = Figure(figsize=(rows * 0.6, rows * 0.6 + 0.4))
    axes = figure.subplots()
    axes.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure
