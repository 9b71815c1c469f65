"""Nodes of the `gnn_tuning` pipeline."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
from matplotlib.figure import Figure
from torch_geometric.data import Data

from genpipe.config import GNNConfig, GnnTuningConfig
from genpipe.data.cora import model_input
from genpipe.models.gnn import train_seed
from genpipe.tuning.study import history_figure, report_and_maybe_prune, run_study

STUDY_DB = "data/07_model_output/optuna.db"  # when `study.storage` is null


def tune_gnn(graph: Data, params: dict, seed: int,
             device: str) -> tuple[dict, pd.DataFrame, Figure, dict[str, float]]:
    """TPE over the search space; objective = mean validation accuracy over seeds.

    Each trial is an MLflow child run of this run; a trial whose running mean
    falls below the median of earlier trials at the same seed count is pruned.

    Args:
        graph: Cora with its public split masks.
        params: The `gnn_tuning` block.
        seed: Trials train with seeds seed .. seed + seeds_per_trial - 1.
        device: The `device` parameter.

    Returns:
        The best configuration, a table of every trial of the study, the
        optimisation-history figure and summary metrics.
    """
    config = GnnTuningConfig.model_validate(params)
    graph = model_input(graph, config.normalize_features)

    def objective(trial: optuna.Trial, suggested: dict) -> float:
        model_config = GNNConfig.model_validate({**config.model.model_dump(),
                                                 **suggested})
        accuracies = []
        for step in range(config.seeds_per_trial):
            model, _, _ = train_seed(graph, model_config, config.trainer,
                                     seed + step, device, log_to_mlflow=False,
                                     block=config)
            accuracies.append(model.accuracies(graph)["val_acc"])
            report_and_maybe_prune(trial, float(np.mean(accuracies)), step)
        return float(np.mean(accuracies))

    study = run_study(objective, config.search_space, config.study, STUDY_DB,
                      metric_name="val_acc_mean")
    states = pd.Series([t.state.name for t in study.trials])
    best = {**config.model.model_dump(), **study.best_params}
    figure = history_figure(study)
    metrics = {"best_val_acc": float(study.best_value),
               "trials": float(len(study.trials)),
               "pruned": float((states == "PRUNED").sum())}
    return best, study.trials_dataframe(), figure, metrics
