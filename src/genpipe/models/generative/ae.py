"""AE: an MLP encoder and decoder trained on the mean squared reconstruction error.

The other autoencoders (`dae`, `sparse_ae`, `ksparse_ae`, `cae`) are this model
with a corruption, a penalty or a different code layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genpipe.config import ModelConfig
from genpipe.models.generative._base import GenerativeModel
from genpipe.models.generative._nets import PIXELS, mlp


class Config(ModelConfig):
    hidden: tuple[int, ...] = (512, 256)  # encoder widths; the decoder mirrors them
    latent_dim: int = Field(32, ge=1, le=PIXELS)


class AutoEncoder(GenerativeModel):
    Config = Config

    def __init__(self, config: Config):
        super().__init__(config)
        widths = (PIXELS, *config.hidden)
        self.encoder = mlp((*widths, self.code_dim), last=self.code_activation())
        self.decoder = mlp((self.code_dim, *reversed(widths)), last=nn.Sigmoid())

    # The code layer: linear here; sigmoid units for the sparse and contractive AEs.
    @property
    def code_dim(self) -> int:
        return self.config.latent_dim

    def code_activation(self) -> nn.Module | None:
        return None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(h).view(-1, 1, 28, 28)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def code_penalty(self, h: torch.Tensor
                     ) -> tuple[torch.Tensor | float, dict[str, torch.Tensor]]:
        """The regulariser on the code h that the loss adds to the MSE (weight
        included), and the terms to log; none here (sparse, contractive AEs)."""
        return 0.0, {}

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.encode(x)
        mse = F.mse_loss(self.decode(h), x)
        penalty, terms = self.code_penalty(h)
        return {"loss": mse + penalty, "mse": mse, **terms}


MODEL = AutoEncoder
