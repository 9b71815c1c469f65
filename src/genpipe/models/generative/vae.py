"""VAE (Kingma & Welling, 2014): a Gaussian encoder q(z|x) = N(μ(x), diag σ²(x)),
the prior p(z) = N(0, I) and a decoder p(x|z), Bernoulli or Gaussian.

Trained by maximising the ELBO with the reparameterization z = μ + σ ⊙ ε:

    ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) || N(0, I)),
    KL = ½ Σ_d (μ_d² + σ_d² − 1 − log σ_d²).

The test log-likelihood is estimated by importance sampling with q as proposal
(Burda et al., 2016): log p(x) ≈ log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x).
Everything is in nats per image. Binarized pixels are Bernoulli variables; for
8-bit ones the Gaussian decoder is a density on dequantized pixels, and its NLL
is turned into the discrete one's upper bound (`_dequantize`).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from genpipe.config import GenerativeDataConfig, ModelConfig
from genpipe.models.generative._base import GenerativeModel, pixels_match
from genpipe.models.generative._dequantize import LEVELS, bits_per_dim, dequantize
from genpipe.models.generative._nets import PIXELS, mlp

LOG_2PI = math.log(2 * math.pi)


class Config(ModelConfig):
    hidden: tuple[int, ...] = (512, 256)
    latent_dim: int = Field(16, ge=1)
    # bernoulli: binarized pixels (data.binarize true) are Bernoulli variables;
    # gaussian: dequantized 8-bit pixels (data.binarize false) have the density
    # N(y; x̂, s²), fixed standard deviation `gaussian_std`.
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    gaussian_std: float = Field(0.1, gt=0)
    nll_samples: int = Field(100, ge=1)  # K, importance samples per test image
    nll_images: int = Field(10000, ge=1)  # test images in the estimate


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag e^logvar) || N(0, I)) per row, in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, diag e^logvar), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


class VAE(GenerativeModel):
    Config = Config
    samples = True

    def __init__(self, config: Config):
        super().__init__(config)
        widths = (PIXELS, *config.hidden)
        self.encoder = mlp(widths, last=torch.nn.ReLU())
        self.to_stats = torch.nn.Linear(widths[-1], 2 * config.latent_dim)
        self.decoder = mlp((config.latent_dim, *reversed(widths)))  # logits / means

    @classmethod
    def check_data(cls, config: Config, data: GenerativeDataConfig) -> dict[str, str]:
        return pixels_match(data, "likelihood", config.likelihood,
                            config.likelihood == "bernoulli",
                            "the Gaussian density dequantized")

    def observed(self, x: torch.Tensor) -> torch.Tensor:
        """The pixels the likelihood models: binarized ones as they are, 8-bit
        ones dequantized for the Gaussian density, y = (k + u) / 256 (torch RNG;
        see `_dequantize`)."""
        if self.config.likelihood == "bernoulli":
            return x
        return dequantize(x).to(x.dtype).view_as(x)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z | x)."""
        mu, logvar = self.to_stats(self.encoder(x.flatten(1))).chunk(2, dim=1)
        return mu, logvar

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per image; z may carry leading sample dimensions."""
        out = self.decoder(z)
        target = x.flatten(1).expand_as(out)
        if self.config.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(out, target,
                                                       reduction="none").sum(-1)
        std = self.config.gaussian_std
        return -0.5 * ((target - out) ** 2 / std**2 + LOG_2PI
                       + 2 * math.log(std)).sum(-1)

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        out = torch.sigmoid(out) if self.config.likelihood == "bernoulli" else out
        return out.clamp(0, 1).view(-1, 1, 28, 28)

    def elbo_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.observed(x)
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)  # reparameterization
        reconstruction = self.log_likelihood(x, z)
        kl = gaussian_kl(mu, logvar)
        return {"reconstruction_ll": reconstruction, "kl": kl,
                "elbo": reconstruction - kl}

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = {k: v.mean() for k, v in self.elbo_terms(x).items()}
        return {"loss": -terms["elbo"], **terms}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.mean_image(self.encode(x))

    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        z = torch.randn(n, self.config.latent_dim, device=self.device)
        return self.mean_image(z)

    def importance_log_likelihood(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """log p(x) per image, estimated with `k` samples from q(z | x)."""
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * torch.randn(k, *mu.shape, device=mu.device)
        log_w = (self.log_likelihood(x, z)
                 + log_normal(z, torch.zeros_like(mu), torch.zeros_like(logvar))
                 - log_normal(z, mu, logvar))
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """Test ELBO and its terms, and the importance-sampled NLL of the
        discrete test images: nats per image and bits per dimension (for the
        Gaussian, −log p(y) + D ln 256 of dequantized pixels, an upper bound)."""
        sums: dict[str, float] = {}
        for chunk in x.split(batch_size):
            for name, value in self.elbo_terms(chunk).items():
                sums[name] = sums.get(name, 0.0) + value.sum().item()
        metrics = {f"test_{name}": total / len(x) for name, total in sums.items()}
        subset = self.observed(x[: self.config.nll_images])
        step = max(1, batch_size // 10)  # K copies of each image are in memory
        nll = -torch.cat([self.importance_log_likelihood(chunk, self.config.nll_samples)
                          for chunk in subset.split(step)])
        if self.config.likelihood == "gaussian":  # density -> probability of k
            nll = nll + PIXELS * math.log(LEVELS)
        metrics["test_nll_is"] = nll.mean().item()
        metrics["test_bits_per_dim"] = bits_per_dim(metrics["test_nll_is"], PIXELS)
        metrics["test_nll_is_samples"] = float(self.config.nll_samples)
        return metrics


MODEL = VAE
