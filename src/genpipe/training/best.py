"""Model selection on the validation split: the weights of the best epoch.

A mixin for a `LightningModule` that keeps a CPU copy of the state dict of its
best validation epoch so far and saves it in every checkpoint, so a resumed
run selects among *all* epochs, not only those after the resume (and ends on
the same weights as an uninterrupted one).
"""

from __future__ import annotations

import torch

CHECKPOINT_KEY = "genpipe_best_weights"


class BestWeights:
    """Mix in before `L.LightningModule` and call `keep_if_best` once per
    validation epoch; `restore_best` loads the winner.

    Attributes:
        best_state: CPU copy of the best epoch's state dict, or None before
            the first validation epoch.
        best_score: That epoch's score (a tuple, compared lexicographically,
            higher is better), or None.
        best_epoch: That epoch's index, or -1.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_score: tuple[float, ...] | None = None
        self.best_epoch = -1

    def keep_if_best(self, score: tuple[float, ...]) -> None:
        """Keeps the current weights if `score` beats the best so far (ties
        keep the earlier epoch). E.g. (val_acc, −val_loss): accuracy first,
        ties broken by the lower loss."""
        if self.best_score is None or score > self.best_score:
            self.best_state = {k: v.detach().to("cpu", copy=True)
                               for k, v in self.state_dict().items()}
            self.best_score, self.best_epoch = tuple(score), self.current_epoch

    def restore_best(self) -> None:
        """Loads the weights of the best validation epoch into the model.

        Raises:
            RuntimeError: If no validation epoch has run yet.
        """
        if self.best_state is None:
            raise RuntimeError("restore_best: no validation epoch has run yet")
        self.load_state_dict(self.best_state)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self.best_state is not None:
            checkpoint[CHECKPOINT_KEY] = {"state": self.best_state,
                                          "score": list(self.best_score),
                                          "epoch": self.best_epoch}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if CHECKPOINT_KEY in checkpoint:
            best = checkpoint[CHECKPOINT_KEY]
            self.best_state = best["state"]
            self.best_score, self.best_epoch = tuple(best["score"]), best["epoch"]
