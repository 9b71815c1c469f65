"""The Bayesian theory minimum, computed: MLE vs MAP, conjugacy, Monte Carlo
(rejection, importance sampling, Metropolis-Hastings) and EM for crowdsourcing,
each beside its closed form."""

from genpipe.pipelines.bayes.pipeline import create_pipeline

__all__ = ["create_pipeline"]
