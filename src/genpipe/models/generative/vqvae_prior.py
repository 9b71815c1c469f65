"""The VQ-VAE's autoregressive prior (van den Oord et al., 2017, sec. 3.2): a
Gated PixelCNN over the 7 x 7 grid of codes, categorical over the K codes.

The first stage is the trained `vqvae` family, read from the catalog and
frozen. Its encoder maps every training image once to a code grid
c = (c_1, …, c_49), c_i ∈ {0, …, K − 1}; the prior factorises it in raster
order,

    p(c) = Π_i p(c_i | c_<i),

with the project's gated masked convolutions (`_autoregressive`: vertical and
horizontal stacks, no blind spot) on an embedding of the codes, and a 1x1
head giving K logits per position. Trained by the exact NLL (cross-entropy);
sampling draws the 49 codes one at a time and decodes them with the VQ-VAE's
decoder. The `vqvae` family itself samples every position independently
(`prior_logits`), which ignores how codes depend on each other.

NLL is reported over test code grids: `test_nll_codes` (nats per grid, this
prior) beside `test_nll_codes_independent` (the `vqvae`'s independent prior on
the same grids), and `test_prior_bits_per_dim` = `test_nll_codes` / (784 ln 2):
the bits per pixel the codes cost. The whole model's −log p(x) adds the
decoder's −log p(x | c), which a pixel-wise cross-entropy on intensities does
not give as a discrete likelihood, so it is not claimed here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn
from tqdm.auto import tqdm

from genpipe.config import ModelConfig
from genpipe.models.generative._autoregressive import GatedPixelCNNNet
from genpipe.models.generative._base import GenerativeModel, batched
from genpipe.models.generative._nets import PIXELS
from genpipe.models.generative.vqvae import GRID

POSITIONS = GRID * GRID


class Config(ModelConfig):
    channels: int = Field(64, ge=1)  # h, features per position
    layers: int = Field(5, ge=1)  # gated layers after the first
    first_kernel: int = Field(5, ge=3)  # odd; the grid is only 7 x 7
    kernel: int = Field(3, ge=3)
    head_channels: int = Field(128, ge=1)
    embedding_dim: int = Field(32, ge=1)  # of each code, the network's input

    @field_validator("first_kernel", "kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("must be odd (the kernel has a centre position)")
        return value


class VQVAEPrior(GenerativeModel):
    Config = Config
    group = "autoregressive"
    reconstructs = False
    samples = True
    first_stage = "vqvae"

    def __init__(self, config: Config):
        super().__init__(config)
        self.first: GenerativeModel | None = None  # K is the VQ-VAE's: on attach

    def attach_first_stage(self, model: GenerativeModel) -> None:
        """Freezes the trained VQ-VAE and builds the prior for its K codes."""
        self.first = model.eval().requires_grad_(False)
        c, k = self.config, model.config.codebook_size
        self.embedding = nn.Embedding(k, c.embedding_dim)
        self.net = GatedPixelCNNNet(c, in_channels=c.embedding_dim)
        self.head = nn.Sequential(
            nn.Conv2d(self.net.out_channels, c.head_channels, 1), nn.ReLU(),
            nn.Conv2d(c.head_channels, k, 1))

    def train(self, mode: bool = True) -> VQVAEPrior:
        super().train(mode)
        if self.first is not None:
            self.first.eval()
        return self

    def configure_optimizers(self):
        trained = [p for name, p in self.named_parameters()
                   if not name.startswith("first.")]
        return torch.optim.Adam(trained, lr=self.config.lr,
                                weight_decay=self.config.weight_decay)

    @property
    def num_codes(self) -> int:
        return self.embedding.num_embeddings

    # --- the codes ----------------------------------------------------------------
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """B x 7 x 7 code grids of images (the VQ-VAE's nearest codes)."""
        return self.first.codes(x).view(len(x), GRID, GRID)

    @torch.no_grad()
    def training_inputs(self, train: torch.Tensor, val: torch.Tensor,
                        batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The code grids of the training and validation images, encoded once."""
        return batched(self.codes, train, batch_size), \
            batched(self.codes, val, batch_size)

    def logits_of_embedding(self, e: torch.Tensor) -> torch.Tensor:
        """B x K x 7 x 7 logits from embedded codes B x E x 7 x 7; position
        (i, j) depends on the positions before it in raster order only."""
        return self.head(self.net(e))

    def logits(self, codes: torch.Tensor) -> torch.Tensor:
        """B x K x 7 x 7: the logits of p(c_i | c_<i) at every position."""
        return self.logits_of_embedding(self.embedding(codes).permute(0, 3, 1, 2))

    def nll(self, codes: torch.Tensor) -> torch.Tensor:
        """−log p(c) in nats per grid (exact: the sum of the conditionals)."""
        return F.cross_entropy(self.logits(codes), codes,
                               reduction="none").flatten(1).sum(1)

    def loss(self, codes: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        nll = self.nll(codes).mean()
        # Minimised per position (a learning rate that does not scale with 49).
        return {"loss": nll / POSITIONS, "nll": nll.detach(),
                "bits_per_code": (nll / (POSITIONS * math.log(2))).detach()}

    # --- sampling -----------------------------------------------------------------
    @torch.no_grad()
    def sample_codes(self, n: int) -> torch.Tensor:
        """Ancestral sampling of n code grids, position by position (49 passes)."""
        codes = torch.zeros(n, GRID, GRID, dtype=torch.long, device=self.device)
        for i in tqdm(range(POSITIONS), desc=f"sampling {n} code grids",
                      leave=False, disable=None):
            row, col = divmod(i, GRID)
            logits = self.logits(codes)[:, :, row, col].float()
            codes[:, row, col] = torch.multinomial(logits.softmax(1), 1)[:, 0]
        return codes

    @torch.no_grad()
    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """Codes from the prior, decoded by the VQ-VAE: n images in [0, 1]."""
        return self.first.decode_codes(self.sample_codes(n).flatten(1))

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        return {"nfe_per_image": float(POSITIONS)}

    # --- evaluation -----------------------------------------------------------------
    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """NLL of the test code grids under this prior and under the VQ-VAE's
        independent one, and the first stage's reconstruction MSE."""
        codes = batched(self.codes, x, batch_size)
        nll = batched(self.nll, codes, batch_size).double().mean().item()
        independent = -(self.first.prior_logits.log_softmax(1)
                        .gather(1, codes.flatten(1).T).sum(0)).double().mean().item()
        recon = batched(self.first.reconstruct, x, batch_size)
        return {"test_nll_codes": nll,
                "test_nll_codes_independent": independent,
                "test_prior_bits_per_dim": nll / (PIXELS * math.log(2)),
                "first_stage_test_mse": F.mse_loss(recon, x).item()}


MODEL = VQVAEPrior
