"""Figures of the tabular pipelines (matplotlib `Figure`s for `FigureDataset`).

SHAP's own plots draw on pyplot's current figure: `_from_pyplot` gives each a
fresh figure and detaches it from pyplot afterwards, so no figure leaks. The
others are built without pyplot, as in `genpipe.plots`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:  # shap takes seconds to import (numba): only when plotting it
    import shap


def _from_pyplot(draw: Callable[[], None], title: str) -> Figure:
    plt.figure()
    draw()
    figure = plt.gcf()
    figure.suptitle(title)
    figure.tight_layout()
    plt.close(figure)  # the Figure stays drawable and savable
    return figure


def shap_beeswarm(explanation: shap.Explanation, max_display: int = 15) -> Figure:
    """Each dot a test patient, x its SHAP value, colour its feature value."""
    import shap

    return _from_pyplot(lambda: shap.plots.beeswarm(
        explanation, max_display=max_display, show=False),
        "SHAP values (log-odds of benign), test set")


def shap_bar(explanation: shap.Explanation, max_display: int = 15) -> Figure:
    """Mean |SHAP| per feature: the global importance SHAP gives."""
    import shap

    return _from_pyplot(lambda: shap.plots.bar(
        explanation, max_display=max_display, show=False),
        "mean |SHAP value|, test set")


def shap_waterfall(explanation: shap.Explanation, row: int,
                   max_display: int = 12) -> Figure:
    """How one patient's margin is built from E[f(x)], feature by feature."""
    import shap

    return _from_pyplot(lambda: shap.plots.waterfall(
        explanation[row], max_display=max_display, show=False),
        f"SHAP waterfall, test patient {row}")


def importance_comparison(importances: Mapping[str, pd.Series], order_by: str,
                          top: int = 15) -> Figure:
    """One panel per importance, features in the order of `order_by`."""
    features = importances[order_by].sort_values(ascending=False).index[:top][::-1]
    figure = Figure(figsize=(4.2 * len(importances), 0.32 * top + 1.6))
    axes = np.atleast_1d(figure.subplots(1, len(importances), sharey=True))
    for ax, (name, values) in zip(axes, importances.items(), strict=True):
        ax.barh(range(len(features)), values.reindex(features).to_numpy())
        ax.set_title(name)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(features)), list(features), fontsize=8)
    figure.suptitle(f"Feature importances (top {top} by {order_by})")
    figure.tight_layout()
    return figure


def signed_bars(labels: Sequence[str], values: Sequence[float], title: str,
                xlabel: str) -> Figure:
    """Horizontal bars, green for positive and red for negative, first on top."""
    values = np.asarray(values, dtype=np.float64)
    figure = Figure(figsize=(8, 0.35 * len(values) + 1.5))
    ax = figure.subplots()
    positions = np.arange(len(values))[::-1]
    ax.barh(positions, values, color=np.where(values >= 0, "#2ca02c", "#d62728"))
    ax.set_yticks(positions, list(labels), fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def cv_scores(cv_results: pd.DataFrame) -> Figure:
    """auto-sklearn's pipelines in the order tried: CV score, by classifier."""
    figure = Figure(figsize=(9, 4.5))
    ax = figure.subplots()
    done = cv_results[cv_results["status"] == "Success"]
    for name, group in done.groupby("classifier"):
        ax.scatter(group.index, group["mean_test_score"], label=name, s=30)
    failed = cv_results[cv_results["status"] != "Success"]
    if len(failed):
        low = done["mean_test_score"].min() if len(done) else 0.0
        ax.scatter(failed.index, [low] * len(failed), marker="x", color="black",
                   s=50, label="crash / timeout (no score)")
    ax.set_xlabel("pipeline (order tried)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("auto-sklearn: score of each pipeline tried")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def ensemble_weights(ensemble: pd.DataFrame) -> Figure:
    """The final ensemble: each member's weight, labelled by its pipeline."""
    labels = [f"#{row.model_id} {row.classifier} ({row.feature_preprocessor})"
              for row in ensemble.itertuples()]
    figure = Figure(figsize=(8, 0.35 * len(labels) + 1.5))
    ax = figure.subplots()
    positions = np.arange(len(labels))[::-1]
    ax.barh(positions, ensemble["ensemble_weight"].to_numpy())
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlabel("ensemble weight")
    ax.set_title("auto-sklearn ensemble (greedy ensemble selection)")
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure
