"""Gaussian mixture fitted by EM (scikit-learn's `GaussianMixture`).

    p(x) = Σ_k π_k N(x; m_k, Σ_k)

EM alternates the responsibilities γ_nk = π_k N(x_n; m_k, Σ_k) / p(x_n) (E)
and the weighted ML updates of π_k, m_k, Σ_k (M); scikit-learn runs it.

A full covariance in the 784-d pixel space costs ~10⁹ operations per component
and iteration (and is singular on the constant border pixels), so by default
the mixture lives in the top `pca_dim` principal directions V (d x D,
orthonormal rows) of the dequantized training images, and the remaining D − d
directions carry an isotropic Gaussian whose variance σ_r² is the mean of the
discarded eigenvalues (its ML value, as in PPCA). That is a proper density on
all D pixels:

    log p(x) = log Σ_k π_k N(V(x − μ); m_k, Σ_k) + log N_{D−d}(r; 0, σ_r² I),
    ||r||² = ||x − μ||² − ||V(x − μ)||².

`pca_dim: null` fits the mixture to the pixels themselves (use `diag` or
`spherical` covariances there). The fitted parameters are torch buffers
(weights, means, Cholesky factors of the covariances, the projection):
likelihoods and sampling run in torch, with the global torch RNG.

Samplers: `ancestral` draws k ~ π, z ~ N(m_k, Σ_k), x = μ + Vᵀz + r with r
the isotropic residual noise; `noise_free` leaves r out.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
import torch
from matplotlib.figure import Figure
from pydantic import Field

from genpipe.config import ModelConfig
from genpipe.models.generative._dequantize import (
    LEVELS,
    DequantizedDensity,
    bits_per_dim,
    dequantize,
)
from genpipe.models.generative._nets import PIXELS
from genpipe.models.generative.ppca import covariance

logger = logging.getLogger(__name__)
LOG_2PI = math.log(2 * math.pi)


class Config(ModelConfig):
    n_components: int = Field(10, ge=1)  # K
    covariance_type: Literal["full", "tied", "diag", "spherical"] = "full"
    pca_dim: int | None = Field(50, ge=1, lt=PIXELS)  # d; None: the pixels
    max_iter: int = Field(100, ge=1)  # EM iterations
    tol: float = Field(1e-3, gt=0)  # on the mean log-likelihood's gain
    reg_covar: float = Field(1e-6, ge=0)  # added to every covariance's diagonal
    n_init: int = Field(1, ge=1)
    init_params: Literal["kmeans", "k-means++", "random", "random_from_data"] = \
        "kmeans"
    fit_images: int | None = Field(None, ge=10)  # training images EM sees (None: all)


def full_covariances(covariances: np.ndarray, kind: str, k: int, d: int
                     ) -> np.ndarray:
    """scikit-learn's `covariances_` of any `covariance_type` -> K x d x d."""
    if kind == "full":
        return covariances
    if kind == "tied":
        return np.broadcast_to(covariances, (k, d, d)).copy()
    if kind == "diag":
        return np.stack([np.diag(row) for row in covariances])
    return covariances[:, None, None] * np.eye(d)  # spherical


class GaussianMixtureModel(DequantizedDensity):
    Config = Config
    what = "the mixture"
    figures = ("components",)

    def __init__(self, config: Config):
        super().__init__(config)
        d, k = config.pca_dim or PIXELS, config.n_components
        f64 = torch.float64
        self.register_buffer("mu", torch.zeros(PIXELS, dtype=f64))
        self.register_buffer("projection", torch.eye(d, PIXELS, dtype=f64))  # V
        self.register_buffer("residual_var", torch.ones((), dtype=f64))  # σ_r²
        self.register_buffer("weights", torch.full((k,), 1 / k, dtype=f64))  # π
        self.register_buffer("means", torch.zeros(k, d, dtype=f64))
        self.register_buffer("scale_tril", torch.eye(d, dtype=f64).repeat(k, 1, 1))
        self.register_buffer("converged", torch.tensor(False))
        self.register_buffer("em_iterations", torch.tensor(0))

    @property
    def residual_dims(self) -> int:
        return PIXELS - self.projection.shape[0]

    @torch.no_grad()
    def after_fit(self, x: torch.Tensor, batch_size: int) -> None:
        """PCA of the dequantized training images, then EM on the projections."""
        from sklearn.mixture import GaussianMixture

        y = dequantize(x)
        mean, s = covariance(y)
        if self.config.pca_dim is not None:
            eigenvalues, eigenvectors = torch.linalg.eigh(s)  # ascending
            d = self.config.pca_dim
            self.projection.copy_(eigenvectors[:, -d:].flip(1).T)
            self.residual_var.copy_(eigenvalues[:-d].mean())
        self.mu.copy_(mean)
        z = ((y - mean) @ self.projection.T).cpu().numpy()
        if self.config.fit_images is not None:
            z = z[:self.config.fit_images]
        config = self.config
        mixture = GaussianMixture(
            config.n_components, covariance_type=config.covariance_type,
            tol=config.tol, reg_covar=config.reg_covar, max_iter=config.max_iter,
            n_init=config.n_init, init_params=config.init_params,
            random_state=int(torch.randint(2**31 - 1, ()).item()))  # torch RNG
        mixture.fit(z)
        if not mixture.converged_:
            logger.warning("gmm: EM did not converge in %d iterations", config.max_iter)
        covariances = full_covariances(mixture.covariances_, config.covariance_type,
                                       config.n_components, z.shape[1])
        self.weights.copy_(torch.from_numpy(mixture.weights_))
        self.means.copy_(torch.from_numpy(mixture.means_))
        self.scale_tril.copy_(torch.linalg.cholesky(torch.from_numpy(covariances)))
        self.converged.fill_(bool(mixture.converged_))
        self.em_iterations.fill_(int(mixture.n_iter_))

    def _components(self) -> torch.distributions.MultivariateNormal:
        return torch.distributions.MultivariateNormal(self.means,
                                                      scale_tril=self.scale_tril)

    def log_density(self, y: torch.Tensor) -> torch.Tensor:
        """log p(y) per row of N x D float64 `y` (mixture x residual Gaussian)."""
        centred = y - self.mu
        z = centred @ self.projection.T
        per_component = self._components().log_prob(z[:, None]) + self.weights.log()
        log_p = torch.logsumexp(per_component, dim=1)
        if self.residual_dims:
            r2 = (centred.pow(2).sum(1) - z.pow(2).sum(1)).clamp_min(0)
            log_p = log_p - 0.5 * (self.residual_dims * (
                LOG_2PI + self.residual_var.log()) + r2 / self.residual_var)
        return log_p

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """Test NLL of the 8-bit images (dequantized): nats/image and bits/dim;
        whether EM converged and in how many iterations."""
        log_p = torch.cat([self.log_density(dequantize(chunk))
                           for chunk in x.split(batch_size)])
        nll = (-log_p.mean() + PIXELS * math.log(LEVELS)).item()
        return {"test_nll": nll, "test_bits_per_dim": bits_per_dim(nll, PIXELS),
                "em_converged": float(self.converged.item()),
                "em_iterations": float(self.em_iterations.item())}

    @torch.no_grad()
    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """k ~ π, z ~ N(m_k, Σ_k), x = μ + Vᵀ z (+ residual noise), in [0, 1]."""
        k = torch.multinomial(self.weights, n, replacement=True)
        eps = torch.randn(n, self.means.shape[1], 1, dtype=self.means.dtype,
                          device=self.means.device)
        z = self.means[k] + (self.scale_tril[k] @ eps)[..., 0]
        x = self.mu + z @ self.projection
        if sampler != "noise_free" and self.residual_dims:
            noise = torch.randn_like(x)
            # Only the component orthogonal to the PCA subspace: (I − VᵀV) ε.
            noise = noise - (noise @ self.projection.T) @ self.projection
            x = x + self.residual_var.sqrt() * noise
        return x.clamp(0, 1).float().view(n, 1, 28, 28)

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        return {"nfe_per_image": 1.0}

    def report(self, x, y, classify) -> tuple[dict[str, float], dict[str, Figure]]:
        """The components' means as images, titled with their weights π_k."""
        means = (self.mu + self.means @ self.projection).clamp(0, 1).cpu().numpy()
        order = np.argsort(-self.weights.cpu().numpy())
        shown = order[:20]
        columns = min(len(shown), 10)
        rows = math.ceil(len(shown) / columns)
        figure = Figure(figsize=(columns * 1.0, rows * 1.2 + 0.3))
        axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
        for ax in axes:
            ax.axis("off")
        for ax, k in zip(axes, shown, strict=False):
            ax.imshow(means[k].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"π={self.weights[k].item():.3f}", fontsize=7)
        figure.suptitle(f"GMM: component means (K = {len(order)}, heaviest first)",
                        fontsize=8)
        figure.tight_layout()
        return {}, {"components": figure}


MODEL = GaussianMixtureModel
