"""Nodes of the `xai` pipeline: XGBoost on Breast Cancer and its explanations."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
import xgboost
from matplotlib.figure import Figure
from sklearn.model_selection import train_test_split

from genpipe.config import XaiConfig, XGBoostConfig
from genpipe.data.tabular import feature_names, features_and_target
from genpipe.explain import figures, gradients, importance, lime_tabular, tree_shap
from genpipe.models.tabular_mlp import Standardizer, TabularMLP
from genpipe.models.xgb import classification_metrics, fit_classifier, margin
from genpipe.training import fit, seed_everything
from genpipe.training.data import TensorDataModule
from genpipe.training.device import torch_device
from genpipe.training.engine import fingerprint

logger = logging.getLogger(__name__)

CLASS_NAMES = ["malignant", "benign"]  # scikit-learn's coding: 0, 1


def _tables(train: pd.DataFrame, test: pd.DataFrame, config: XaiConfig):
    names = feature_names(train, config.features)
    X_train, y_train = features_and_target(train, names, "breast_cancer_train")
    X_test, y_test = features_and_target(test, names, "breast_cancer_test")
    return names, X_train, y_train, X_test, y_test


def _patient(config: XaiConfig, n_test: int) -> int:
    if config.patient >= n_test:
        raise ValueError(f"parameters.xai.patient = {config.patient}, but the test "
                         f"split has {n_test} rows")
    return config.patient


def train_xgboost(train: pd.DataFrame, test: pd.DataFrame, xgb_params: dict,
                  params: dict, seed: int,
                  ) -> tuple[xgboost.XGBClassifier, xgboost.XGBClassifier,
                             dict[str, float]]:
    """Fits the classifier on the training split and scores it on the test split.

    Args:
        train, test: The ingested Breast Cancer splits.
        xgb_params: The `xgboost` block (the course's 100 trees, lr 0.1).
        params: The `xai` block (feature selection).
        seed: XGBoost's random state.

    Returns:
        The model twice (a local MLflow-format copy for DVC and the next
        nodes; the one logged to the run with MLflow's xgboost flavour) and
        `xgboost/test_acc`, `test_roc_auc`, `test_log_loss`, `fit_seconds`.
    """
    config, xgb = XaiConfig.model_validate(params), XGBoostConfig.model_validate(
        xgb_params)
    names, X_train, y_train, X_test, y_test = _tables(train, test, config)
    model, seconds = fit_classifier(X_train, y_train, xgb.model_dump(), seed, names)
    metrics = classification_metrics(y_test, model.predict_proba(X_test)[:, 1])
    logger.info("XGBoost: test accuracy %.4f, ROC AUC %.4f", metrics["test_acc"],
                metrics["test_roc_auc"])
    metrics["fit_seconds"] = seconds
    return model, model, metrics


def explain_with_shap(model: xgboost.XGBClassifier, train: pd.DataFrame,
                      test: pd.DataFrame, params: dict,
                      ) -> tuple[pd.DataFrame, Figure, Figure, Figure, dict]:
    """TreeSHAP on every test row, checked for local accuracy, and its plots.

    Returns:
        The SHAP values (one row per test patient: `row_id`, a column per
        feature, `base_value`, `margin`); the beeswarm, mean-|SHAP| bar and
        patient waterfall figures; and `shap_max_additivity_error`,
        `shap_expected_value`.

    Raises:
        ShapAdditivityError: Some row's SHAP values plus the expected value
            miss the model's margin by more than `xai.shap_tolerance`.
    """
    config = XaiConfig.model_validate(params)
    names, _, _, X_test, _ = _tables(train, test, config)
    patient = _patient(config, len(X_test))
    explanation = tree_shap.tree_shap(model, X_test, names)
    max_error = tree_shap.check_local_accuracy(model, explanation, X_test,
                                               config.shap_tolerance)
    logger.info("SHAP local accuracy: max |sum + E[f] - margin| = %.3g", max_error)
    values = pd.DataFrame(np.asarray(explanation.values, np.float64), columns=names)
    values.insert(0, "row_id", test["row_id"].to_numpy())
    values["base_value"] = np.broadcast_to(
        np.asarray(explanation.base_values, np.float64), len(values))
    values["margin"] = margin(model, X_test)  # the model's own log-odds
    metrics = {"shap_max_additivity_error": max_error,
               "shap_expected_value": float(np.mean(explanation.base_values))}
    return (values, figures.shap_beeswarm(explanation), figures.shap_bar(explanation),
            figures.shap_waterfall(explanation, patient), metrics)


def compare_importances(model: xgboost.XGBClassifier, shap_values: pd.DataFrame,
                        ) -> tuple[pd.DataFrame, Figure, dict[str, float]]:
    """XGBoost's weight and gain importances against mean |SHAP|.

    Returns:
        One row per feature (`weight`, `gain`, `mean_abs_shap`), the
        three-panel figure, and the Spearman rank correlations
        `spearman_gain_shap`, `spearman_weight_shap`,
        `spearman_gain_weight`.
    """
    names = list(model.get_booster().feature_names)
    shap_importance = shap_values[names].abs().mean().rename("mean_abs_shap")
    table = {"weight": importance.xgboost_importance(model, names, "weight"),
             "gain": importance.xgboost_importance(model, names, "gain"),
             "mean_abs_shap": shap_importance}
    metrics = {
        "spearman_gain_shap": importance.spearman(table["gain"], shap_importance),
        "spearman_weight_shap": importance.spearman(table["weight"],
                                                        shap_importance),
        "spearman_gain_weight": importance.spearman(table["gain"],
                                                        table["weight"]),
    }
    figure = figures.importance_comparison(table, order_by="mean_abs_shap")
    return pd.DataFrame(table).rename_axis("feature").reset_index(), figure, metrics


def explain_with_lime(model: xgboost.XGBClassifier, train: pd.DataFrame,
                      test: pd.DataFrame, params: dict, seed: int,
                      ) -> tuple[pd.DataFrame, Figure, dict[str, float]]:
    """LIME's local linear explanation of the same test patient as the waterfall.

    Returns:
        The explanation (`feature`, `condition`, `weight`), its figure, and
        `lime_score` (R^2 of the local model), `lime_local_prediction`,
        `patient_proba` (the XGBoost probability it approximates).
    """
    config = XaiConfig.model_validate(params)
    names, X_train, _, X_test, _ = _tables(train, test, config)
    patient = _patient(config, len(X_test))
    table = lime_tabular.explain_row(
        model.predict_proba, X_train, X_test[patient], names, CLASS_NAMES,
        config.lime.num_features, config.lime.num_samples, seed)
    figure = figures.signed_bars(
        table["condition"], table["weight"],
        f"LIME, test patient {patient}: P(benign) = "
        f"{model.predict_proba(X_test[patient:patient + 1])[0, 1]:.3f}",
        "weight in the local linear model of P(benign)")
    metrics = {"lime_score": table.attrs["score"],
               "lime_local_prediction": table.attrs["prediction"],
               "patient_proba": float(
                   model.predict_proba(X_test[patient:patient + 1])[0, 1])}
    return table, figure, metrics


def explain_with_integrated_gradients(
        train: pd.DataFrame, test: pd.DataFrame, params: dict, seed: int,
        device: str) -> tuple[dict, pd.DataFrame, Figure, dict[str, float]]:
    """Trains the small MLP through the engine, then Integrated Gradients.

    The MLP sees standardized features (statistics of the training split);
    epochs are selected on a stratified validation part of the training split.
    Attributions explain its logit for every test row, from the baseline
    `xai.integrated_gradients.baseline` (the training mean by default).

    Returns:
        The MLP (state dict, standardization, feature names); a table per
        feature (`mean_abs_ig` over the test set and the patient's `patient_ig`);
        the figure; `test_acc`, `test_roc_auc`, `test_log_loss`, `best_epoch`,
        `ig_max_convergence_delta` (completeness error).
    """
    config = XaiConfig.model_validate(params)
    names, X_train, y_train, X_test, y_test = _tables(train, test, config)
    patient = _patient(config, len(X_test))
    scaler = Standardizer.fit(X_train)
    fit_idx, val_idx = train_test_split(np.arange(len(y_train)),
                                        test_size=config.mlp.val_size,
                                        random_state=seed, stratify=y_train)

    def tensors(rows):
        return (torch.as_tensor(scaler.transform(X_train[rows]), dtype=torch.float32),
                torch.as_tensor(y_train[rows]))

    seed_everything(seed)
    model = TabularMLP(config.mlp, len(names))
    fit(model, TensorDataModule(tensors(fit_idx), tensors(val_idx),
                                batch_size=config.mlp.batch_size, seed=seed),
        config.trainer, device=device, family="mlp",
        run_fingerprint=fingerprint(config, seed, names, tensors(fit_idx),
                                    tensors(val_idx)))
    model.restore_best()
    model = model.to(torch_device("cpu"))  # attributions and scores on CPU
    Z_test = scaler.transform(X_test)
    metrics = classification_metrics(
        y_test, model.predict_proba(torch.as_tensor(Z_test, dtype=torch.float32)))
    baseline = (np.zeros(len(names)) if config.integrated_gradients.baseline
                == "train_mean" else scaler.transform(np.zeros((1, len(names))))[0])
    attributions, delta = gradients.integrated_gradients(
        model, Z_test, baseline, config.integrated_gradients.n_steps)
    metrics["ig_max_convergence_delta"] = float(np.abs(delta).max())
    metrics["best_epoch"] = float(model.best_epoch)
    table = pd.DataFrame({"feature": names,
                          "mean_abs_ig": np.abs(attributions).mean(axis=0),
                          "patient_ig": attributions[patient]})
    top = table.reindex(table["patient_ig"].abs().sort_values(
        ascending=False).index[:config.top_k])
    figure = figures.signed_bars(
        top["feature"], top["patient_ig"],
        f"Integrated Gradients (MLP), test patient {patient}",
        "attribution to the logit of benign")
    weights = {"state_dict": model.state_dict(), "mean": torch.as_tensor(scaler.mean),
               "scale": torch.as_tensor(scaler.scale), "features": names,
               "hidden": list(config.mlp.hidden)}
    return weights, table, figure, metrics


def tabulate_top_features(importances: pd.DataFrame, lime_table: pd.DataFrame,
                          ig_table: pd.DataFrame, params: dict) -> pd.DataFrame:
    """The top-k features by each method, side by side.

    Columns: `gain` and `weight` (XGBoost, global), `shap` (mean |SHAP| over
    the test set), `lime` (|weight| for the explained patient: LIME is local),
    `integrated_gradients` (mean |IG| of the MLP over the test set).
    """
    config = XaiConfig.model_validate(params)
    by_feature = importances.set_index("feature")
    return importance.top_features({
        "gain": by_feature["gain"], "weight": by_feature["weight"],
        "shap": by_feature["mean_abs_shap"],
        "lime": lime_table.set_index("feature")["weight"],
        "integrated_gradients": ig_table.set_index("feature")["mean_abs_ig"],
    }, config.top_k).reset_index()
