"""Which process of a distributed (DDP) `kedro run` this is, from the environment.

Every rank of a DDP training runs the *whole* `kedro run` command: Lightning's
`ddp` strategy re-runs the command once per extra local process (`LOCAL_RANK=1`
...), and a cluster launcher (torchrun, SLURM, two shells with `NODE_RANK`)
starts it on every node. The process of global rank 0 is the *primary*: it
alone opens the MLflow run, writes outputs and checkpoints. Every other one is
a *replica*: it trains its shard in step with the primary and keeps its
outputs in memory (`genpipe.hooks.ReplicaHooks`).

Read from the environment only (no torch), so `settings.py` can decide which
hooks to load before anything else is imported.
"""

from __future__ import annotations

import os

# torchrun sets RANK (and LOCAL_RANK), SLURM one SLURM_PROCID per task,
# Lightning's launcher LOCAL_RANK for the processes it starts and NODE_RANK
# for the nodes a user starts by hand: a non-zero one is a replica.
RANK_VARIABLES = ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK")


def replica_rank() -> str | None:
    """None in the primary process; in a replica, the variable that says so
    (e.g. `LOCAL_RANK=1`), for messages."""
    for name in RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value and value != "0":
            return f"{name}={value}"
    return None
