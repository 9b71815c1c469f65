"""Hyper-parameter tuning with Optuna, shared by every pipeline that tunes.

Modules: `config` (the search space and `tuning:` block schema, pydantic only:
imported at Kedro start-up) and `study` (running a study: TPE, median
pruning, MLflow child runs).

Nothing is imported here, so `genpipe.tuning.config` stays free of optuna.
"""
