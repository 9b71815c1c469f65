"""Parameter schema of the `bayes` pipeline (pydantic only: no numpy work here).

`genpipe.config` imports this module at every Kedro start-up, so it stays
light. Each block configures one item of the lecture's Bayesian theory
minimum; every block has defaults, so `bayes: {}` is a valid configuration.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MleMapConfig(_Strict):
    """Linear regression y = w^T phi(x) + noise, noise ~ N(0, sigma^2), prior
    w ~ N(0, tau^2 I); phi(x) = (1, x, ..., x^degree)."""

    n_train: int = Field(12, ge=2)
    degree: int = Field(7, ge=1, le=15)  # rich enough for MLE to overfit
    true_weights: tuple[float, ...] = (0.5, -1.0, 0.8)  # the generating polynomial
    sigma: float = Field(0.3, gt=0)  # noise standard deviation (known)
    tau: float = Field(1.0, gt=0)  # prior standard deviation of each weight
    lambdas: tuple[float, ...] = Field(
        (1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0), min_length=2)
    n_test: int = Field(500, ge=10)
    x_range: tuple[float, float] = (-1.0, 1.0)


class ConjugacyConfig(_Strict):
    """Sequential conjugate updates on batches of simulated observations."""

    batches: int = Field(8, ge=1)
    batch_size: int = Field(5, ge=1)  # observations per batch
    growth: float = Field(2.0, ge=1)  # batch b holds batch_size * growth^b points
    beta_prior: tuple[float, float] = (2.0, 2.0)  # Beta(a, b)
    true_theta: float = Field(0.3, gt=0, lt=1)  # Bernoulli success probability
    gamma_prior: tuple[float, float] = (2.0, 1.0)  # Gamma(shape a, rate b)
    true_rate: float = Field(3.0, gt=0)  # Poisson rate

    @model_validator(mode="after")
    def _positive_priors(self) -> ConjugacyConfig:
        for name in ("beta_prior", "gamma_prior"):
            if min(getattr(self, name)) <= 0:
                raise ValueError(f"{name} parameters must be > 0, "
                                 f"got {getattr(self, name)}")
        return self


class RejectionConfig(_Strict):
    """Rejection sampling of Beta(a, b) from a uniform proposal, envelope c * M
    (M = the target's maximum density), for each c in `envelope_factors`."""

    target: tuple[float, float] = (3.0, 5.0)  # Beta(a, b), a, b >= 1 (bounded)
    n_proposals: int = Field(20000, ge=100)
    envelope_factors: tuple[float, ...] = Field((1.0, 1.5, 2.0, 4.0, 8.0),
                                                min_length=1)

    @model_validator(mode="after")
    def _bounded(self) -> RejectionConfig:
        if min(self.target) < 1:
            raise ValueError(f"target Beta{self.target} is unbounded: a, b >= 1")
        if min(self.envelope_factors) < 1:
            raise ValueError("envelope_factors must be >= 1 (c * M must bound p)")
        return self


class ImportanceConfig(_Strict):
    """E_p[x^2] = 1 under p = N(0, 1) with proposals q = N(0, s^2) over s."""

    n_samples: int = Field(2000, ge=10)
    repeats: int = Field(200, ge=2)  # independent estimates per proposal
    proposal_scales: tuple[float, ...] = Field(
        (0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0),
        min_length=2)
    good_scale: float = Field(1.5, gt=0)  # the proposal reported as metrics

    @model_validator(mode="after")
    def _finite_variance(self) -> ImportanceConfig:
        if self.good_scale ** 2 <= 0.5:
            raise ValueError(f"good_scale = {self.good_scale}: the weights' variance "
                             "is infinite for s^2 <= 1/2; pick s > 0.7072")
        return self


class McmcConfig(_Strict):
    """Random-walk Metropolis-Hastings, proposal x' ~ N(x, proposal_scale^2)."""

    chains: int = Field(4, ge=2)  # R-hat needs several chains
    draws: int = Field(5000, ge=50)  # per chain, after burn_in
    burn_in: int = Field(500, ge=0)
    proposal_scale: float = Field(1.0, gt=0)  # the lectures' N(x, 1)
    init_spread: float = Field(3.0, ge=0)  # chains start over-dispersed
    max_lag: int = Field(50, ge=1)  # autocorrelation plotted up to this lag
    counts: tuple[int, ...] = (4, 2, 3, 5, 1)  # Poisson data of the Gamma target
    gamma_prior: tuple[float, float] = (2.0, 1.0)
    mixture_means: tuple[float, float] = (-2.0, 2.0)  # 0.5 N(m1, 1) + 0.5 N(m2, 1)
    mixture_sd: float = Field(1.0, gt=0)


class EmConfig(_Strict):
    """Dawid-Skene EM on simulated annotators with known truth."""

    n_items: int = Field(500, ge=10)
    n_classes: int = Field(2, ge=2, le=10)
    # Annotator accuracies: reliable ones, coin-flippers and adversaries.
    accuracies: tuple[float, ...] = Field(
        (0.9, 0.85, 0.8, 0.55, 0.5, 0.5, 0.45, 0.3, 0.2), min_length=3)
    labels_per_item: int = Field(5, ge=1)  # each item seen by this many annotators
    class_prior: tuple[float, ...] | None = None  # null: uniform
    max_iter: int = Field(100, ge=1)
    tol: float = Field(1e-6, gt=0)  # stop below this log-likelihood gain

    @model_validator(mode="after")
    def _consistent(self) -> EmConfig:
        if self.labels_per_item > len(self.accuracies):
            raise ValueError(f"labels_per_item ({self.labels_per_item}) > number "
                             f"of annotators ({len(self.accuracies)})")
        if any(not 0 <= a <= 1 for a in self.accuracies):
            raise ValueError("accuracies must lie in [0, 1]")
        if self.class_prior is not None and (
                len(self.class_prior) != self.n_classes
                or abs(sum(self.class_prior) - 1) > 1e-9):
            raise ValueError("class_prior needs n_classes entries summing to 1")
        return self


class EvidenceConfig(_Strict):
    """Evidence maximisation on y = sinc(x) + N(0, sigma^2), Gaussian kernels
    centred on the training inputs (PRML fig. 7.9)."""

    n_train: int = Field(50, ge=5)
    n_test: int = Field(500, ge=10)
    sigma: float = Field(0.1, gt=0)
    x_range: tuple[float, float] = (-10.0, 10.0)
    kernel_width: float = Field(2.0, gt=0)
    max_iter: int = Field(1000, ge=2)
    tol: float = Field(1e-5, gt=0)  # stop when ln p(t) changes less
    alpha_max: float = Field(1e9, gt=0)  # a weight whose alpha reaches it is pruned


class BayesConfig(_Strict):
    """`bayes`: one block per item of the Bayesian theory minimum."""

    mle_map: MleMapConfig = MleMapConfig()
    conjugacy: ConjugacyConfig = ConjugacyConfig()
    rejection: RejectionConfig = RejectionConfig()
    importance: ImportanceConfig = ImportanceConfig()
    mcmc: McmcConfig = McmcConfig()
    em: EmConfig = EmConfig()
    evidence: EvidenceConfig = EvidenceConfig()

