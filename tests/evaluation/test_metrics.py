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


def test_polynomial_kernel_hand_computed():
    # d = 2: k(x, y) = (x.y / 2 + 1)^3; x.y = 1*3 + 2*4 = 11 -> (6.5)^3
    x, y = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])
    assert metrics.polynomial_kernel(x, y)[0, 0] == pytest.approx(6.5 ** 3)


def test_mmd2_unbiased_hand_computed():
    # 1-d points: k(a, b) = (ab + 1)^3. x = {0, 1}, y = {1, 2}:
    # within x (i != j): k(0, 1) = 1, twice / (2*1) = 1
    # within y: k(1, 2) = 27, twice / 2 = 27
    # across: k(0,1) + k(0,2) + k(1,1) + k(1,2) = 1 + 1 + 8 + 27 = 37, / 4
    x, y = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(1 + 27 - 2 * 37 / 4)


def _naive_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """The estimator written out with loops, independently of the vectorised one."""
    d = x.shape[1]

    def k(a, b):
        return (sum(ai * bi for ai, bi in zip(a, b, strict=True)) / d + 1) ** 3

    m, n = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    kyy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    kxy = sum(k(a, b) for a in x for b in y)
    return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2 * kxy / (m * n)


def test_mmd2_matches_a_naive_implementation_on_random_features():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 4)), rng.normal(0.5, 1.2, size=(9, 4))
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(_naive_mmd2(x, y), rel=1e-9)


def test_kid_is_unbiased_near_zero_for_one_law_and_grows_with_a_shift():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(2000, 8))
    same = rng.normal(size=(200, 8))
    kid, kid_std = metrics.kernel_inception_distance(real, same, 50, 100,
                                                     np.random.default_rng(0))
    assert abs(kid) < 3 * kid_std  # unbiased: zero within its spread, at N=100
    shifted = rng.normal(0.5, 1.0, size=(200, 8))
    far, _ = metrics.kernel_inception_distance(real, shifted, 50, 100,
                                               np.random.default_rng(0))
    assert far > kid + 5 * kid_std


def test_kid_averages_mmd2_over_subsets_capped_at_the_smaller_set():
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    value, std = metrics.kernel_inception_distance(real, fake, 3, 1000,
                                                   np.random.default_rng(0))
    draws, expected = np.random.default_rng(0), []
    for _ in range(3):  # subsets of min(1000, 30, 20) = 20 points each
        subset_real = real[draws.choice(30, 20, replace=False)]
        subset_fake = fake[draws.choice(20, 20, replace=False)]
        expected.append(_naive_mmd2(subset_real, subset_fake))
    assert value == pytest.approx(np.mean(expected), rel=1e-9)
    assert std == pytest.approx(np.std(expected), rel=1e-6)


@pytest.mark.parametrize(("n", "size", "expected"),
                         [(200, 100, 2), (1000, 500, 2), (10000, 500, 10),
                          (50, 500, 1), (499, 500, 1)])
def test_inception_score_splits_are_sized_to_the_sample_count(n, size, expected):
    assert metrics.inception_score_splits(n, size) == expected


def test_bootstrap_fid_spread_shrinks_with_n():
    rng = np.random.default_rng(8)
    real = rng.normal(size=(5000, 4))
    mu, sigma = metrics.feature_statistics(real)
    small = metrics.bootstrap_fid(mu, sigma, rng.normal(size=(100, 4)), 20,
                                  np.random.default_rng(0))
    large = metrics.bootstrap_fid(mu, sigma, rng.normal(size=(2000, 4)), 20,
                                  np.random.default_rng(0))
    assert 0 < large < small
