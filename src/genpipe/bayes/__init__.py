"""The Bayesian theory minimum in numpy/scipy/ArviZ (never imports kedro):
MLE vs MAP, conjugate updates, Monte Carlo, Metropolis-Hastings, EM."""
