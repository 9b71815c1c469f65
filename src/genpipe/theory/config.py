"""Parameter schema of the `theory` pipeline (pydantic only).

`genpipe.config` imports this module at every Kedro start-up, so it stays
light. Every block has defaults, so `theory: {}` is a valid configuration.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _distribution(name: str, p: tuple[float, ...]) -> None:
    if min(p) < 0 or abs(sum(p) - 1) > 1e-9:
        raise ValueError(f"{name} must be non-negative and sum to 1, got {p}")


class EntropyConfig(_Strict):
    """The lecture's weather examples (after A. Géron's "A short introduction to
    entropy, cross-entropy and KL-divergence")."""

    sunny_rainy: tuple[float, float] = (0.75, 0.25)  # H = 0.811 bits
    # 8 weather states (sunny, partly cloudy, cloudy, ...): H = 2.23 bits
    weather: tuple[float, ...] = (0.35, 0.35, 0.10, 0.10, 0.04, 0.04, 0.01, 0.01)
    # a prefix code's lengths in bits: cross-entropy 2.42 bits on `weather`,
    # 4.58 bits on `weather` reversed (a place where the rare states are common)
    code_lengths: tuple[int, ...] = (2, 2, 3, 3, 4, 4, 5, 5)

    @model_validator(mode="after")
    def _valid(self) -> EntropyConfig:
        _distribution("sunny_rainy", self.sunny_rainy)
        _distribution("weather", self.weather)
        if len(self.code_lengths) != len(self.weather) or min(self.code_lengths) < 1:
            raise ValueError("code_lengths needs one length >= 1 per weather state")
        if sum(2.0 ** -n for n in self.code_lengths) > 1 + 1e-12:
            raise ValueError("code_lengths violate Kraft's inequality (no prefix code)")
        return self


class DivergencesConfig(_Strict):
    """KL and JS between N(0, 1) and N(mu, 1) for mu in [0, mu_max]."""

    mu_max: float = Field(6.0, gt=0)
    n_mu: int = Field(61, ge=3)


class KlFitConfig(_Strict):
    """One Gaussian fitted to w N(m1, sd^2) + (1 - w) N(m2, sd^2)."""

    mixture_means: tuple[float, float] = (-3.0, 3.0)
    mixture_sd: float = Field(1.0, gt=0)
    weight: float = Field(0.5, gt=0, lt=1)  # of the first component
    grid_points: int = Field(4001, ge=101)  # quadrature grid


class NashConfig(_Strict):
    """min_x max_y f(x, y) = x y from `start`, step `lr`, for `steps` steps."""

    start: tuple[float, float] = (1.0, 1.0)
    lr: float = Field(0.1, gt=0, lt=1)
    steps: int = Field(300, ge=2)


class SparseKlConfig(_Strict):
    """The sparse autoencoder's penalty KL(rho || rho_hat) over rho_hat."""

    rho: float = Field(0.25, gt=0, lt=1)
    n_points: int = Field(999, ge=11)


class GanGradientConfig(_Strict):
    """D trained towards optimal against a fixed, untrained G (the GAN family's
    networks), G's gradient norm measured under both generator losses."""

    d_steps: int = Field(300, ge=1)
    measure_every: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=2)
    n_images: int = Field(10000, ge=64)  # MNIST training images D sees
    latent_dim: int = Field(64, ge=1)
    channels: int = Field(32, ge=1)
    lr: float = Field(2e-4, gt=0)
    beta1: float = Field(0.5, ge=0, lt=1)


class KsparseConfig(_Strict):
    """The k-sparse autoencoder (the `ksparse_ae` family's model) trained once
    per k; its encoder's filters and test MSE over k (Makhzani & Frey 2013)."""

    ks: tuple[int, ...] = Field((10, 25, 40, 70), min_length=1)
    latent_dim: int = Field(1000, ge=1)  # the lecture's 1000 hidden units
    n_train: int = Field(10000, ge=100)  # MNIST training images used
    n_test: int = Field(2000, ge=100)
    max_epochs: int = Field(2, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(1e-3, gt=0)
    filters_shown: int = Field(64, ge=1)  # per k, the most used units' filters
    # Each k's checkpoints go to <checkpoint_dir>/ksparse_k<k>; the YAML sets it
    # under the environment's data root (`ci` runs keep out of `base`'s data).
    checkpoint_dir: str = "data/06_models/checkpoints"

    @model_validator(mode="after")
    def _ks_fit(self) -> KsparseConfig:
        if max(self.ks) > self.latent_dim:
            raise ValueError(f"ks {self.ks} exceed latent_dim ({self.latent_dim})")
        return self


class TheoryConfig(_Strict):
    """`theory`: one block per demo."""

    entropy: EntropyConfig = EntropyConfig()
    divergences: DivergencesConfig = DivergencesConfig()
    kl_fit: KlFitConfig = KlFitConfig()
    nash: NashConfig = NashConfig()
    sparse_kl: SparseKlConfig = SparseKlConfig()
    gan_gradient: GanGradientConfig = GanGradientConfig()
    ksparse: KsparseConfig = KsparseConfig()
