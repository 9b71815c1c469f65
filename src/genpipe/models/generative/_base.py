"""What every generative family is: a LightningModule with a loss and abilities."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import lightning as L
import numpy as np
import torch
from matplotlib.figure import Figure

from genpipe.config import GenerativeDataConfig, ModelConfig

Classify = Callable[[torch.Tensor], np.ndarray]


def pixels_match(data: GenerativeDataConfig, key: str, value: str, bernoulli: bool,
                 eight_bit: str) -> dict[str, str]:
    """`check_data`'s answer for a likelihood that fixes the pixels: a
    Bernoulli one (`bernoulli`) models binarized pixels, the others (named by
    `eight_bit`) 8-bit ones; `model.<key>` is `value`."""
    if data.binarize == bernoulli:
        return {}
    return {"binarize": f"must be {str(bernoulli).lower()} for model.{key} {value!r} "
                        "(a Bernoulli likelihood models binarized pixels, "
                        f"{eight_bit} 8-bit ones)"}


class GenerativeModel(L.LightningModule):
    """Base of every family. Subclasses set `Config` and implement `loss`.

    Images are N x 1 x 28 x 28 floats in [0, 1] (binarized when the family's
    `data.binarize` is set); labels are int64 class indices.

    Abilities the pipeline template wires in:
    * `reconstructs`: `reconstruct` and `encode` (reconstruction grid and MSE,
      the latent map);
    * `samples`: `sample` (samples scored with the shared metrics, and drawn
      from fixed noise after every epoch: samples over training);
    * `samplers`: named samplers (e.g. `("ddpm", "ddim")`), each drawn, timed
      and scored on its own under `<family>.<sampler>`; empty: one sampler,
      scored under `<family>`;
    * `continues`: `{sampler: the sampler whose chain it finishes}` (NCSN's
      `langevin_denoised`, one Tweedie step after `langevin`'s chain): the
      template draws the chain once (`chain`), keeps its last state, and
      finishes each sampler from it (`from_chain`), instead of running the
      chain again; each sampler is still scored and costed on its own;
    * `figures`: names of the family's own plots, drawn by `report` and logged
      as `<family>/<family>_<name>.png`;
    * `trainable`: False for models fitted in closed form or by EM in
      `after_fit` (PPCA, Gaussian mixtures): no gradient loop runs;
    * `distributed`: trains under DDP (`trainer.devices`/`num_nodes` > 1);
      False where the model steps its optimizers itself (the GANs' manual
      optimization), which the engine does not run under DDP;
    * `curves`: the training terms drawn in the curves plot (at most three;
      empty: `loss` and the first two others), e.g. a GAN's `d_loss`, `g_loss`;
    * `first_stage`: the family whose trained model this one is built on (a
      VQ-VAE under its code prior, an autoencoder under a latent diffusion):
      the template reads `<first_stage>.model` and `params:<first_stage>` from
      the catalog and hands the model to `attach_first_stage`; it is never
      retrained here. None: the family stands alone;
    * `sweep`: `{sampler: value}` of samplers that differ in one setting
      (`sweep_setting`, e.g. the guidance scale w): the template draws their
      scores against that value (`<family>.sweep_plot`).

    `group` is the family's kind (latent, adversarial, diffusion,
    autoregressive, classical): a tag of its MLflow runs and a column of the
    report.
    """

    Config: ClassVar[type[ModelConfig]] = ModelConfig
    group: ClassVar[str] = "latent"
    reconstructs: ClassVar[bool] = True
    samples: ClassVar[bool] = False
    samplers: ClassVar[tuple[str, ...]] = ()
    continues: ClassVar[dict[str, str]] = {}
    figures: ClassVar[tuple[str, ...]] = ()
    trainable: ClassVar[bool] = True
    distributed: ClassVar[bool] = True
    curves: ClassVar[tuple[str, ...]] = ()
    first_stage: ClassVar[str | None] = None
    sweep: ClassVar[dict[str, float]] = {}
    sweep_setting: ClassVar[str] = ""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    @classmethod
    def check_data(cls, config: ModelConfig, data: GenerativeDataConfig
                   ) -> dict[str, str]:
        """Disagreements between the `model:` block and the `data:` block, as
        `{data key: reason}` (e.g. a Bernoulli likelihood on 8-bit pixels);
        reported as parameter errors before anything runs. None by default."""
        return {}

    # --- what a family defines ------------------------------------------------
    def attach_first_stage(self, model: GenerativeModel) -> None:
        """Takes the trained first stage (families with a `first_stage`)."""
        raise NotImplementedError(f"{type(self).__name__} has no first stage")

    def training_inputs(self, train: torch.Tensor, val: torch.Tensor,
                        batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """What the model trains and validates on, computed once from the
        training and validation images before training (e.g. a VQ-VAE's code
        grids; anything fitted, e.g. a latent scale, from the training ones);
        the images themselves here."""
        return train, val

    def requested_labels(self, n: int) -> torch.Tensor | None:
        """The classes that `sample(n)` was asked for (conditional families),
        scored as the evaluator's `label_accuracy`; None: unconditional."""
        return None

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The training objective's terms; `loss` is the one minimised."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """N x D codes (the latent map's input)."""
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The model's reconstruction of `x`, in [0, 1]."""
        raise NotImplementedError

    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """`n` new images in [0, 1], drawn with the global torch RNG.

        `sampler` is one of `samplers` (None: the family's default).
        """
        raise NotImplementedError(f"{type(self).__name__} does not sample")

    def chain(self, n: int, sampler: str) -> torch.Tensor:
        """The unfinished last state of `sampler`'s chain for `n` images
        (families with `continues`); `from_chain` makes it images."""
        raise NotImplementedError(f"{type(self).__name__} shares no chain")

    def from_chain(self, state: torch.Tensor, sampler: str) -> torch.Tensor:
        """`sampler`'s images in [0, 1] from a `chain` state: `sample(n,
        sampler)` is `from_chain(chain(n, continues.get(sampler, sampler)),
        sampler)`, draw for draw."""
        raise NotImplementedError(f"{type(self).__name__} shares no chain")

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        """What one image costs `sampler`, e.g. `{"nfe_per_image": 1000}`."""
        return {}

    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """Family-specific test metrics (ELBO, NLL, codebook use, ...)."""
        return {}

    def report(self, x: torch.Tensor, y: torch.Tensor, classify: Classify | None
               ) -> tuple[dict[str, float], dict[str, Figure]]:
        """Metrics and figures (one per name in `figures`) on test images.

        Args:
            x, y: Test images and labels, on the model's device.
            classify: The evaluator's class posterior (images -> N x 10 numpy),
                for families that sample (e.g. a conditional model's label
                accuracy); None for the others.
        """
        return {}, {}

    def after_fit(self, x: torch.Tensor, batch_size: int) -> None:
        """Post-training work on the training images (fitting a prior; the
        whole fit when the family is not `trainable`)."""

    # --- Lightning --------------------------------------------------------------
    def _log_terms(self, terms: dict[str, torch.Tensor], stage: str) -> None:
        on_step = stage == "train"
        for name, value in terms.items():
            # sync_dist: under DDP an epoch's value is the mean over every
            # rank's shard, as in one process (a no-op in one process).
            self.log(f"{stage}_{name}", value, on_step=on_step, on_epoch=True,
                     prog_bar=name == "loss", sync_dist=True)

    def training_step(self, batch, batch_idx):
        terms = self.loss(*batch)
        self._log_terms(terms, "train")
        return terms["loss"]

    def validation_step(self, batch, batch_idx):
        self._log_terms(self.loss(*batch), "val")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.config.lr,
                                weight_decay=self.config.weight_decay)


@torch.no_grad()
def batched(fn, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """`fn` over `x` in chunks, concatenated (evaluation-time helper)."""
    return torch.cat([fn(chunk) for chunk in x.split(batch_size)])
