"""The trilemma report: every scored family and sampler side by side.

Quality (FID, KID, precision), coverage (recall) and speed (sampling images/s,
network evaluations per image) are the three corners of the generative
trilemma (Xiao et al. 2022): no family wins all three. The table, figure and
summary here are built from what the families' pipelines wrote, under one
scoring protocol; nothing in them is typed by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# Columns of the table, in order; a family without a value gets NaN (e.g.
# bits/dim for a GAN).
COLUMNS = ["namespace", "family", "group", "data", "num_samples",
           "fid", "fid_std", "kid", "kid_std", "precision", "recall",
           "inception_score", "class_entropy", "fid_binarized", "kid_binarized",
           "test_bits_per_dim", "sampling_images_per_s", "nfe_per_image",
           "train_seconds", "num_params"]
FLOOR_GROUP = "reference"


@dataclass(frozen=True)
class Row:
    """One row's sources: the namespace's scores, and (for a family's sampler)
    its sampling cost and the family's training cost and test metrics."""

    namespace: str
    family: str
    group: str
    scores: dict
    sampling: dict | None = None
    training: dict | None = None
    test: dict | None = None


def table(rows: list[Row]) -> pd.DataFrame:
    """One line per row, in `COLUMNS` order, floors first, then by FID.

    Raises:
        ValueError: rows scored under different protocols (not comparable).
    """
    protocols = {str(sorted(row.scores.get("protocol", {}).items())) for row in rows}
    if len(protocols) > 1:
        raise ValueError("the scores were measured under different protocols "
                         f"({len(protocols)}): re-run the stale families")
    records = []
    for row in rows:
        metrics = dict(row.scores["metrics"])
        for extra in (row.sampling, row.training, row.test):
            metrics |= {k: v for k, v in (extra or {}).items()
                        if isinstance(v, int | float)}
        records.append({
            "namespace": row.namespace, "family": row.family, "group": row.group,
            "data": "binarized" if row.scores.get("binarized") else "8-bit",
            **{column: metrics.get(column, math.nan) for column in COLUMNS[4:]}})
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["num_samples"] = frame["num_samples"].astype(int)
    floor_first = (frame["group"] != FLOOR_GROUP).astype(int)
    return (frame.assign(_floor=floor_first).sort_values(["_floor", "fid"])
            .drop(columns="_floor").reset_index(drop=True))


def dvc_metrics(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """`{namespace: {metric: value}}` for `dvc metrics show` (NaNs dropped)."""
    numeric = frame.set_index("namespace").drop(columns=["family", "group", "data"])
    return {namespace: {key: float(value) for key, value in row.items()
                        if not pd.isna(value)}
            for namespace, row in numeric.iterrows()}


def _fmt(value: float, spread: float | None = None, digits: int = 1) -> str:
    if pd.isna(value):
        return "–"
    text = f"{value:.{digits}f}"
    if spread is None or pd.isna(spread):
        return text
    return f"{text} ± {spread:.{digits}f}"


def markdown(frame: pd.DataFrame) -> str:
    """The table as Markdown (values rounded for reading; the CSV keeps all
    digits) and the generated summary below it."""
    header = ["family", "group", "data", "N", "FID", "KID ×10³", "precision",
              "recall", "IS", "class H", "bits/dim", "images/s", "NFE",
              "train s", "params"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in frame.itertuples(index=False):
        cells = [row.namespace, row.group, row.data, str(row.num_samples),
                 _fmt(row.fid, row.fid_std),
                 _fmt(row.kid * 1e3, row.kid_std * 1e3, 2),
                 _fmt(row.precision, digits=3), _fmt(row.recall, digits=3),
                 _fmt(row.inception_score, digits=2), _fmt(row.class_entropy, digits=2),
                 _fmt(row.test_bits_per_dim, digits=3),
                 _fmt(row.sampling_images_per_s, digits=1),
                 _fmt(row.nfe_per_image, digits=0), _fmt(row.train_seconds, digits=0),
                 "–" if pd.isna(row.num_params) else f"{row.num_params / 1e6:.2f}M"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *summary(frame)]) + "\n"


def summary(frame: pd.DataFrame) -> list[str]:
    """Which family leads on which axis, in sentences."""
    families = frame[frame["group"] != FLOOR_GROUP]
    floor = frame[(frame["group"] == FLOOR_GROUP) & (frame["data"] == "8-bit")]
    if families.empty:
        return ["No family was scored."]
    n = int(frame["num_samples"].iloc[0])
    lines = [f"All rows are scored on N = {n} samples against the same reference "
             "statistics, in the feature space of the project's MNIST classifier."]
    if not floor.empty:
        real = floor.iloc[0]
        lines.append(f"- Real-data floor at this N: FID "
                     f"{_fmt(real.fid, real.fid_std)}, KID ×10³ "
                     f"{_fmt(real.kid * 1e3, real.kid_std * 1e3, 2)}: "
                     "a family cannot be told apart from real data below it.")
    leaders = [("Quality", "fid", True, "FID"),
               ("Quality, unbiased at small N", "kid", True, "KID"),
               ("Fidelity", "precision", False, "precision"),
               ("Coverage", "recall", False, "recall"),
               ("Speed", "sampling_images_per_s", False, "images/s")]
    for axis, column, lowest, label in leaders:
        values = families[column].dropna()
        if values.empty:
            continue
        best = families.loc[values.idxmin() if lowest else values.idxmax()]
        lines.append(f"- {axis}: **{best.namespace}** ({label} {best[column]:.4g}).")
    rho = ranks_agree(frame)
    if not math.isnan(rho):
        lines.append(f"- FID and KID rank the families alike: Spearman ρ = {rho:.2f}.")
    likelihood = families.dropna(subset=["test_bits_per_dim"])
    for data, rows in likelihood.groupby("data"):
        best = rows.loc[rows["test_bits_per_dim"].idxmin()]
        lines.append(f"- Likelihood on {data} pixels: **{best.family}** "
                     f"({best.test_bits_per_dim:.3f} bits/dim).")
    return lines


def trilemma_figure(frame: pd.DataFrame) -> Figure:
    """FID against sampling speed (log-log), colour = recall: one point per
    family and sampler; the real-data floor as a line."""
    families = frame[frame["group"] != FLOOR_GROUP].dropna(
        subset=["fid", "sampling_images_per_s"])
    figure = Figure(figsize=(8, 5.5))
    axes = figure.subplots()
    markers = dict(zip(sorted(families["group"].unique()), "osD^vP*X", strict=False))
    points = None
    for group, rows in families.groupby("group"):
        points = axes.scatter(rows["sampling_images_per_s"], rows["fid"],
                              c=rows["recall"], cmap="viridis", vmin=0, vmax=1,
                              marker=markers[group], s=70, edgecolors="black",
                              linewidths=0.5, label=group)
        for row in rows.itertuples(index=False):
            axes.annotate(row.namespace, (row.sampling_images_per_s, row.fid),
                          textcoords="offset points", xytext=(5, 4), fontsize=7)
    floor = frame[(frame["group"] == FLOOR_GROUP) & (frame["data"] == "8-bit")]
    if not floor.empty:
        axes.axhline(floor["fid"].iloc[0], color="grey", linestyle="--",
                     label=f"real data (FID {floor['fid'].iloc[0]:.1f})")
    axes.set_xscale("log")
    if len(families) and (families["fid"] > 0).all():
        axes.set_yscale("log")
    axes.set_xlabel("sampling speed (images/s, log)")
    axes.set_ylabel("FID (lower is better)")
    n = int(frame["num_samples"].iloc[0]) if len(frame) else 0
    axes.set_title(f"The generative trilemma: quality, speed, coverage (N = {n})")
    if points is not None:
        figure.colorbar(points, ax=axes, label="recall (coverage)")
    axes.legend(fontsize=8, loc="best")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    return figure


def ranks_agree(frame: pd.DataFrame, first: str = "fid", second: str = "kid"
                ) -> float:
    """Spearman correlation of two metrics over the families (a check that
    FID and KID tell the same story at this N)."""
    families = frame[frame["group"] != FLOOR_GROUP].dropna(subset=[first, second])
    if len(families) < 3:
        return math.nan
    ranks = families[[first, second]].rank()
    return float(np.corrcoef(ranks[first], ranks[second])[0, 1])
