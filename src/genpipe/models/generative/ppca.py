"""Probabilistic PCA (Tipping & Bishop, 1999), fitted by maximum likelihood.

The generative model: z ~ N(0, I_q), x = μ + W z + σ ε with ε ~ N(0, I_D), so
x ~ N(μ, C) with C = W Wᵀ + σ² I. Given the sample covariance S of the
(dequantized, see `_dequantize`) training images, with eigenvalues
λ_1 >= ... >= λ_D and eigenvectors U, the maximum is in closed form:

    μ = x̄,   σ² = (1 / (D − q)) Σ_{j>q} λ_j,   W = U_q (Λ_q − σ² I)^{1/2}

(up to a rotation R of the latent space, here R = I). The EM algorithm of the
course reaches the same likelihood (Tipping & Bishop, eqs. 29-30, written with
S so that an iteration costs O(D² q)):

    M = Wᵀ W + σ² I,
    W_new = S W (σ² I + M⁻¹ Wᵀ S W)⁻¹,
    σ²_new = (1/D) tr(S − S W M⁻¹ W_newᵀ).

The log-likelihood uses the Woodbury identity (q x q work per image):
C⁻¹ = σ⁻² (I − W M⁻¹ Wᵀ), log|C| = (D − q) log σ² + log|M|.

Samplers: `ancestral` draws x = μ + W z + σ ε (the model's own samples);
`noise_free` draws E[x | z] = μ + W z (the isotropic pixel noise left out).
"""

from __future__ import annotations

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

LOG_2PI = math.log(2 * math.pi)


class Config(ModelConfig):
    latent_dim: int = Field(32, ge=1, lt=PIXELS)  # q
    method: Literal["closed_form", "em"] = "closed_form"
    em_iterations: int = Field(200, ge=1)
    # EM stops when the mean log-likelihood gains less than this (nats/image).
    em_tolerance: float = Field(1e-4, ge=0)


def covariance(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, ML sample covariance S = (1/N) Σ (y − ȳ)(y − ȳ)ᵀ) of N x D rows."""
    mean = y.mean(0)
    centred = y - mean
    return mean, centred.T @ centred / len(y)


def closed_form(s: torch.Tensor, q: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W, σ², eigenvalues of S in decreasing order): the ML solution."""
    eigenvalues, eigenvectors = torch.linalg.eigh(s)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    sigma2 = eigenvalues[q:].mean()
    w = eigenvectors[:, :q] * (eigenvalues[:q] - sigma2).clamp_min(0).sqrt()
    return w, sigma2, eigenvalues


def mean_log_likelihood(s: torch.Tensor, w: torch.Tensor,
                        sigma2: torch.Tensor) -> torch.Tensor:
    """(1/N) Σ log N(x_n; μ, C) with μ the sample mean: −½[D log 2π + log|C|
    + tr(C⁻¹ S)] (Woodbury for C⁻¹ and log|C|)."""
    d, q = w.shape
    m = w.T @ w + sigma2 * torch.eye(q, dtype=w.dtype, device=w.device)
    log_det = (d - q) * sigma2.log() + torch.logdet(m)
    trace = (s.trace() - (torch.linalg.solve(m, w.T) @ s @ w).trace()) / sigma2
    return -0.5 * (d * LOG_2PI + log_det + trace)


def em_step(s: torch.Tensor, w: torch.Tensor, sigma2: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """One EM iteration (Tipping & Bishop, 1999, eqs. 29-30)."""
    d, q = w.shape
    eye = torch.eye(q, dtype=w.dtype, device=w.device)
    m_inv = torch.linalg.inv(w.T @ w + sigma2 * eye)
    sw = s @ w
    w_new = sw @ torch.linalg.inv(sigma2 * eye + m_inv @ w.T @ sw)
    sigma2_new = (s.trace() - (sw @ m_inv @ w_new.T).trace()) / d
    return w_new, sigma2_new


def em(s: torch.Tensor, q: int, iterations: int, tolerance: float
       ) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """EM from a random W (torch RNG) and σ² = tr(S) / D; returns (W, σ², the
    mean log-likelihood before each iteration and after the last)."""
    w = torch.randn(len(s), q, dtype=s.dtype, device=s.device) * 0.1
    sigma2 = s.trace() / len(s)
    trace = [mean_log_likelihood(s, w, sigma2).item()]
    for _ in range(iterations):
        w, sigma2 = em_step(s, w, sigma2)
        trace.append(mean_log_likelihood(s, w, sigma2).item())
        if trace[-1] - trace[-2] < tolerance:
            break
    return w, sigma2, trace


class PPCA(DequantizedDensity):
    Config = Config
    what = "PPCA"
    figures = ("spectrum",)

    def __init__(self, config: Config):
        super().__init__(config)
        q = config.latent_dim
        self.register_buffer("mu", torch.zeros(PIXELS, dtype=torch.float64))
        self.register_buffer("w", torch.zeros(PIXELS, q, dtype=torch.float64))
        self.register_buffer("sigma2", torch.ones((), dtype=torch.float64))
        self.register_buffer("eigenvalues", torch.zeros(PIXELS, dtype=torch.float64))
        # Mean log-likelihood per EM iteration (NaN past the last; empty: closed form)
        iterations = config.em_iterations + 1 if config.method == "em" else 0
        self.register_buffer("em_trace", torch.full((iterations,), math.nan,
                                                    dtype=torch.float64))

    @torch.no_grad()
    def after_fit(self, x: torch.Tensor, batch_size: int) -> None:
        """Fits μ, W, σ² to the dequantized training images."""
        mean, s = covariance(dequantize(x))
        w, sigma2, eigenvalues = closed_form(s, self.config.latent_dim)
        if self.config.method == "em":
            w, sigma2, trace = em(s, self.config.latent_dim,
                                  self.config.em_iterations, self.config.em_tolerance)
            self.em_trace[:len(trace)] = torch.tensor(trace, dtype=torch.float64)
        self.mu.copy_(mean)
        self.w.copy_(w)
        self.sigma2.copy_(sigma2)
        self.eigenvalues.copy_(eigenvalues)

    def log_density(self, y: torch.Tensor) -> torch.Tensor:
        """log N(y; μ, W Wᵀ + σ² I) per row of N x D float64 `y`."""
        d, q = self.w.shape
        m = self.w.T @ self.w + self.sigma2 * torch.eye(q, dtype=y.dtype,
                                                        device=y.device)
        centred = y - self.mu
        projected = centred @ self.w  # N x q
        mahalanobis = (centred.pow(2).sum(1) - (projected * torch.linalg.solve(
            m, projected.T).T).sum(1)) / self.sigma2
        log_det = (d - q) * self.sigma2.log() + torch.logdet(m)
        return -0.5 * (d * LOG_2PI + log_det + mahalanobis)

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """Test NLL of the 8-bit images (dequantized): nats per image and
        bits/dim; σ² and the fraction of variance W explains."""
        log_p = torch.cat([self.log_density(dequantize(chunk))
                           for chunk in x.split(batch_size)])
        nll = (-log_p.mean() + PIXELS * math.log(LEVELS)).item()
        return {"test_nll": nll, "test_bits_per_dim": bits_per_dim(nll, PIXELS),
                "sigma2": self.sigma2.item(),
                # PCA's explained-variance ratio of the q components, and the
                # share of the total variance W carries (‖W‖²_F = Σ_{i≤q} λ_i − σ²).
                "explained_variance_ratio": (
                    self.eigenvalues[:self.w.shape[1]].sum()
                    / self.eigenvalues.sum()).item(),
                "latent_variance_fraction": (self.w.pow(2).sum()
                                             / self.eigenvalues.sum()).item()}

    @torch.no_grad()
    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """Ancestral sampling: z ~ N(0, I), x = μ + W z (+ σ ε unless
        `noise_free`), clipped to [0, 1]."""
        z = torch.randn(n, self.w.shape[1], dtype=self.w.dtype, device=self.w.device)
        x = self.mu + z @ self.w.T
        if sampler != "noise_free":
            x = x + self.sigma2.sqrt() * torch.randn_like(x)
        return x.clamp(0, 1).float().view(n, 1, 28, 28)

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        return {"nfe_per_image": 1.0}

    def report(self, x, y, classify) -> tuple[dict[str, float], dict[str, Figure]]:
        """The spectrum of S with σ² and q marked; the EM log-likelihood."""
        eigenvalues = self.eigenvalues.cpu().numpy()
        em_trace = self.em_trace.cpu().numpy()
        em_trace = em_trace[~np.isnan(em_trace)]
        figure = Figure(figsize=(9 if len(em_trace) else 5, 3.5))
        axes = figure.subplots(1, 2 if len(em_trace) else 1, squeeze=False)[0]
        q = self.config.latent_dim
        axes[0].semilogy(np.arange(1, len(eigenvalues) + 1),
                         np.clip(eigenvalues, 1e-12, None), lw=1)
        axes[0].axhline(self.sigma2.item(), color="C1", ls="--", label="σ²")
        axes[0].axvline(q, color="C2", ls=":", label=f"q = {q}")
        axes[0].set(xlabel="component", ylabel="eigenvalue of S",
                    title="PPCA: spectrum of the training covariance")
        axes[0].legend(fontsize=7)
        metrics = {}
        if len(em_trace):
            axes[1].plot(np.arange(len(em_trace)), em_trace, lw=1)
            axes[1].set(xlabel="EM iteration", ylabel="mean log-likelihood (nats)",
                        title="EM")
            metrics["em_iterations_run"] = float(len(em_trace) - 1)
        figure.tight_layout()
        return metrics, {"spectrum": figure}


MODEL = PPCA
