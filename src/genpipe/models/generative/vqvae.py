"""VQ-VAE (van den Oord et al., 2017) with EMA codebook updates.

A convolutional encoder maps x to a 7 x 7 grid of vectors z_e; each is replaced
by its nearest codebook vector e_k (k = argmin_j ||z_e − e_j||). Gradients pass
the non-differentiable lookup straight through (z_q = z_e + sg(e_k − z_e)).
The loss is the reconstruction error (pixel-wise cross-entropy on the
intensities) plus the commitment term
β ||z_e − sg(e_k)||²; the codebook itself follows exponential moving averages
(decay γ) of the encoder outputs assigned to each code:

    N_i ← γ N_i + (1 − γ) n_i,    m_i ← γ m_i + (1 − γ) Σ_{j: k_j = i} z_e,j,
    e_i = m_i / N_i

with n_i the number of vectors assigned to code i in the batch (N is Laplace-
smoothed so unused codes do not divide by zero). The codebook starts at
encoder outputs of the first training batch, and a code whose count N_i drops
below `dead_code_threshold` restarts at a random encoder output of the batch
(the usual guard against codebook collapse).

Sampling needs a prior over the 7 x 7 code grid: here an independent
categorical distribution per grid position, fitted by counting the codes of
the training images (add-α smoothed). It ignores the dependence between
positions, so its samples are the family's floor; an autoregressive prior over
codes (a PixelCNN) is the paper's and would be stronger.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genpipe.config import ModelConfig
from genpipe.models.generative._base import GenerativeModel

GRID = 7  # 28 / 4: two stride-2 convolutions


class Config(ModelConfig):
    channels: int = Field(64, ge=1)
    codebook_size: int = Field(128, ge=2)  # K
    embedding_dim: int = Field(32, ge=1)  # D
    beta: float = Field(0.25, ge=0)  # commitment weight
    decay: float = Field(0.99, ge=0, lt=1)  # γ of the EMA updates
    epsilon: float = Field(1e-5, gt=0)  # Laplace smoothing of the counts N
    prior_smoothing: float = Field(0.5, gt=0)  # α of the per-position prior
    # A code whose EMA count N_i falls below this restarts at an encoder output
    # of the batch (0: never), so the codebook does not collapse onto few codes.
    dead_code_threshold: float = Field(1.0, ge=0)


def nearest_codes(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook row (squared Euclidean) for each row of z.

    Always in fp32, also under bf16 autocast: bf16's 8-bit mantissa would
    round nearby distances together and pick other codes.
    """
    with torch.autocast(z.device.type, enabled=False):
        z = z.float()
        distances = (z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.T
                     + codebook.pow(2).sum(1))
    return distances.argmin(1)


def ema_update(count: torch.Tensor, total: torch.Tensor, z: torch.Tensor,
               codes: torch.Tensor, decay: float,
               epsilon: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One EMA step of the counts N, sums m and codebook e = m / N.

    Args:
        count: N, shape K; total: m, shape K x D.
        z: The encoder outputs of the batch, B x D; codes: their codes, B.

    Returns:
        (N, m, e) after the step; N is Laplace-smoothed before the division.
    """
    onehot = F.one_hot(codes, len(count)).to(z.dtype)
    count = decay * count + (1 - decay) * onehot.sum(0)
    total = decay * total + (1 - decay) * onehot.T @ z
    n = count.sum()
    smoothed = (count + epsilon) / (n + len(count) * epsilon) * n
    return count, total, total / smoothed[:, None]


def perplexity(codes: torch.Tensor, codebook_size: int) -> float:
    """exp of the entropy of the codes' empirical distribution (K = uniform use)."""
    p = torch.bincount(codes.flatten(), minlength=codebook_size).double()
    p = p / p.sum()
    return math.exp(-(p[p > 0] * p[p > 0].log()).sum().item())


class VQVAE(GenerativeModel):
    Config = Config
    samples = True

    def __init__(self, config: Config):
        super().__init__(config)
        c, d, k = config.channels, config.embedding_dim, config.codebook_size
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c // 2, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(c // 2, c, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(c, d, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(d, c, 3, 1, 1), nn.ReLU(),
            nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(c // 2, 1, 4, 2, 1))  # logits
        codebook = torch.randn(k, d)
        self.register_buffer("codebook", codebook)
        self.register_buffer("ema_count", torch.ones(k))
        self.register_buffer("ema_total", codebook.clone())
        self.register_buffer("prior_logits", torch.zeros(GRID * GRID, k))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def _init_codebook(self, z_e: torch.Tensor) -> None:
        """Codes start at encoder outputs of the first batch (drawn with the
        torch RNG), not at random points the encoder may never come near."""
        picked = z_e[torch.randint(len(z_e), (len(self.codebook),),
                                   device=z_e.device)]
        self.codebook.copy_(picked)
        self.ema_total.copy_(picked)
        self.ema_count.fill_(1.0)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _restart_dead_codes(self, z_e: torch.Tensor) -> None:
        """Moves every code with N_i < threshold onto a random encoder output."""
        dead = self.ema_count < self.config.dead_code_threshold
        if dead.any():
            picked = z_e[torch.randint(len(z_e), (int(dead.sum()),),
                                       device=z_e.device)]
            self.codebook[dead] = picked
            self.ema_total[dead] = picked
            self.ema_count[dead] = 1.0

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        """B x 1 x 28 x 28 -> (B·49) x D encoder outputs."""
        z = self.encoder(x)
        return z.permute(0, 2, 3, 1).reshape(-1, self.config.embedding_dim)

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """B x 49 code indices."""
        return nearest_codes(self._flat(x), self.codebook).view(len(x), -1)

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        z_q = self.codebook[codes].view(len(codes), GRID, GRID, -1)
        return torch.sigmoid(self.decoder(z_q.permute(0, 3, 1, 2)))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        z_e = self._flat(x)
        # The codebook and its EMA statistics are fp32 buffers and are updated
        # in fp32 also when the encoder runs under bf16 autocast.
        z = z_e.detach().float()
        with torch.autocast(z.device.type, enabled=False):
            if self.training and not self.initialized:
                self._init_codebook(z)
            codes = nearest_codes(z, self.codebook)
            if self.training:
                count, total, codebook = ema_update(
                    self.ema_count, self.ema_total, z, codes,
                    self.config.decay, self.config.epsilon)
                self.ema_count.copy_(count)
                self.ema_total.copy_(total)
                self.codebook.copy_(codebook)
                self._restart_dead_codes(z)
        e = self.codebook[codes]
        commitment = F.mse_loss(z_e, e)
        z_q = z_e + (e - z_e).detach()  # straight-through estimator
        z_q = z_q.view(len(x), GRID, GRID, -1).permute(0, 3, 1, 2)
        logits = self.decoder(z_q)
        # Pixel-wise cross-entropy on the intensities: unlike MSE through a
        # sigmoid it does not stall when the decoder starts out saturated.
        reconstruction = F.binary_cross_entropy_with_logits(logits, x)
        mse = F.mse_loss(torch.sigmoid(logits), x)
        return {"loss": reconstruction + self.config.beta * commitment,
                "reconstruction_bce": reconstruction, "mse": mse,
                "commitment": commitment,
                "perplexity": torch.tensor(perplexity(codes, len(self.codebook)))}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).flatten(1)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_codes(self.codes(x))

    @torch.no_grad()
    def after_fit(self, x: torch.Tensor, batch_size: int) -> None:
        """Fits the per-position categorical prior to the training codes."""
        codes = torch.cat([self.codes(c) for c in x.split(batch_size)])
        counts = F.one_hot(codes, len(self.codebook)).sum(0).double()
        probs = counts + self.config.prior_smoothing
        self.prior_logits.copy_((probs / probs.sum(1, keepdim=True)).log().float())

    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        logits = self.prior_logits.expand(n, -1, -1).reshape(-1, len(self.codebook))
        codes = torch.multinomial(logits.softmax(1), 1).view(n, -1)
        return self.decode_codes(codes)

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """Codebook use on the test set: perplexity and fraction of codes used."""
        codes = torch.cat([self.codes(c) for c in x.split(batch_size)])
        used = torch.unique(codes).numel()
        return {"codebook_perplexity": perplexity(codes, len(self.codebook)),
                "codebook_usage": used / len(self.codebook)}


MODEL = VQVAE
