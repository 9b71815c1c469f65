"""RL figures (matplotlib `Figure`s built without pyplot, as in `genpipe.plots`)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from genpipe.rl.evaluation import moving_average


def eval_rewards_figure(episodes: pd.DataFrame, title: str,
                        threshold: float | None = None) -> Figure:
    """The course's plot: the reward of each evaluation episode, and their mean."""
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    x = episodes["episode"] + 1
    axes.plot(x, episodes["reward"], marker="o", label="episode reward")
    mean = episodes["reward"].mean()
    axes.axhline(mean, color="C1", linestyle="--",
                 label=f"mean {mean:.1f} ± {episodes['reward'].std(ddof=0):.1f}")
    if threshold is not None:
        axes.axhline(threshold, color="C2", linestyle=":",
                     label=f"solved ({threshold:g})")
    axes.set_xlabel("evaluation episode")
    axes.set_ylabel("reward")
    axes.set_xticks(x)
    axes.set_ylim(bottom=0)
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    axes.set_title(title)
    figure.tight_layout()
    return figure


def comparison_figure(training: Mapping[str, pd.DataFrame],
                      evaluation: Mapping[str, pd.DataFrame], window: int,
                      threshold: float | None, title: str) -> Figure:
    """Learning curves (training reward, `window`-episode moving average, against
    timesteps) and the evaluation episodes of every algorithm, side by side."""
    figure = Figure(figsize=(12, 4.5))
    curves, evals = figure.subplots(1, 2)
    for i, (name, episodes) in enumerate(training.items()):
        if len(episodes):
            curves.plot(episodes["timestep"],
                        moving_average(episodes["reward"].to_numpy(), window),
                        color=f"C{i}", label=name.upper())
    for i, (name, episodes) in enumerate(evaluation.items()):
        # shrinking markers of different shapes: equal rewards stay visible
        evals.plot(episodes["episode"] + 1, episodes["reward"], marker="os^Dv"[i % 5],
                   markersize=9 - 2 * (i % 4), color=f"C{i}", label=name.upper())
    evals.xaxis.get_major_locator().set_params(integer=True)
    for axes in (curves, evals):
        if threshold is not None:
            axes.axhline(threshold, color="grey", linestyle=":", label="solved")
        axes.set_ylabel("reward")
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right")
    curves.set_xlabel("environment timesteps")
    curves.set_title(f"training: mean of the last {window} episodes")
    evals.set_xlabel("evaluation episode")
    evals.set_title("evaluation (deterministic policy)")
    figure.suptitle(title)
    figure.tight_layout()
    return figure
