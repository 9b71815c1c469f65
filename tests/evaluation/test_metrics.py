import math

import numpy as np
import pytest

from genpipe.evaluation import metrics


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


def test_fid_of_a_set_against_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16))
    mu, sigma = metrics.feature_statistics(features)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-6)


def test_fid_closed_form_for_two_gaussians():
    # ||(1, 2)||^2 + tr(I + 4I - 2 sqrt(4I)) = 5 + (2 + 8 - 8) = 7
    fid = metrics.frechet_distance(np.zeros(2), np.eye(2), np.array([1.0, 2.0]),
                                   4 * np.eye(2))
    assert fid == pytest.approx(7.0)
    # diag(1, 4) vs diag(9, 16): 1 + 4 + 9 + 16 - 2 (3 + 8) = 8
    fid = metrics.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.zeros(2),
                                   np.diag([9.0, 16.0]))
    assert fid == pytest.approx(8.0)


def test_fid_is_symmetric():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = _spd(rng, 5), _spd(rng, 5)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        metrics.frechet_distance(mu2, s2, mu1, s1), rel=1e-9)


def test_fid_of_singular_covariances_is_finite():
    # 5 samples in 20 dimensions: rank-4 covariances, sqrtm near-singular
    rng = np.random.default_rng(2)
    mu1, s1 = metrics.feature_statistics(rng.normal(size=(5, 20)))
    mu2, s2 = metrics.feature_statistics(rng.normal(size=(5, 20)) + 1)
    fid = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert math.isfinite(fid) and fid > 10


def test_inception_score_extremes():
    constant = np.tile([0.1, 0.7, 0.2], (40, 1))
    assert metrics.inception_score(constant, splits=4) == pytest.approx((1.0, 0.0))
    confident = np.eye(10)[np.arange(100) % 10]
    mean, std = metrics.inception_score(confident, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-6) and std == pytest.approx(0, abs=1e-6)


def test_inception_score_hand_computed():
    # p(y) = (0.75, 0.25); KL rows: 0.5 ln(2/3) + 0.5 ln 2, ln(4/3)
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    kl_rows = [0.5 * math.log(2 / 3) + 0.5 * math.log(2), math.log(4 / 3)]
    expected = math.exp(sum(kl_rows) / 2)
    assert metrics.inception_score(probs, splits=1)[0] == pytest.approx(expected)


def test_precision_recall_identical_sets():
    features = np.random.default_rng(3).normal(size=(300, 8))
    assert metrics.precision_recall(features, features, k=3) == (1.0, 1.0)


def test_precision_recall_separates_quality_from_coverage():
    rng = np.random.default_rng(4)
    centres = rng.normal(scale=10, size=(10, 8))  # ten well-separated modes
    real = np.concatenate([c + rng.normal(size=(100, 8)) for c in centres])
    collapsed = centres[0] + rng.normal(size=(1000, 8))  # one mode, drawn well
    precision, recall = metrics.precision_recall(real, collapsed, k=3)
    assert precision > 0.8  # its samples are realistic (100 real points a mode)...
    assert recall < 0.2  # ...but cover one mode in ten
    off_manifold = rng.normal(scale=10, size=(1000, 8)) + 100
    assert metrics.precision_recall(real, off_manifold, k=3)[0] == 0.0


def test_discrete_kl_and_js():
    # KL((1/2, 1/2) || (1/4, 3/4)) = 1/2 ln 2 + 1/2 ln(2/3)
    kl = metrics.kl_divergence([0.5, 0.5], [0.25, 0.75])
    assert kl == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert metrics.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert metrics.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert metrics.js_divergence([1, 0], [0, 1]) == pytest.approx(math.log(2))
    p, q = [0.2, 0.5, 0.3], [0.6, 0.1, 0.3]
    assert metrics.js_divergence(p, q) == pytest.approx(metrics.js_divergence(q, p))
    assert metrics.js_divergence(p, p) == 0.0
    with pytest.raises(ValueError, match="probability distribution"):
        metrics.kl_divergence([0.5, 0.6], [0.5, 0.5])


def test_gaussian_kl_closed_form():
    # KL(N(0, 1) || N(1, 4)) = 1/2 (1/4 + 1/4 - 1 + ln 4)
    kl = metrics.gaussian_kl(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1))
    assert kl == pytest.approx(0.5 * (0.25 + 0.25 - 1 + math.log(4)))
    rng = np.random.default_rng(5)
    mu, sigma = rng.normal(size=4), _spd(rng, 4)
    assert metrics.gaussian_kl(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-9)
    # agrees with a Monte-Carlo estimate E_p[log p - log q]
    from scipy.stats import multivariate_normal as mvn
    mu2, sigma2 = rng.normal(size=4), _spd(rng, 4)
    x = mvn(mu, sigma).rvs(200_000, random_state=6)
    monte_carlo = np.mean(mvn(mu, sigma).logpdf(x) - mvn(mu2, sigma2).logpdf(x))
    assert metrics.gaussian_kl(mu, sigma, mu2, sigma2) == pytest.approx(monte_carlo,
                                                                       abs=0.01)


def test_class_histogram_and_entropy():
    probs = np.eye(4)[[0, 0, 1, 3]]
    assert metrics.class_histogram(probs).tolist() == [0.5, 0.25, 0.0, 0.25]
    assert metrics.entropy([0.25] * 4) == pytest.approx(math.log(4))
    assert metrics.entropy([1.0, 0.0]) == 0.0


def test_bits_per_dim():
    assert metrics.bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    # a density of 1 on [0, 1]^D is 8 bits/dim once the 256 bins are counted
    assert metrics.bits_per_dim(0.0, 784, num_bins=256) == pytest.approx(8.0)
