import numpy as np
import pytest

from genpipe.bayes import em, experiments
from genpipe.bayes.config import EmConfig


def test_m_step_by_hand():
    labels = np.array([[0, 1], [1, 1]])
    q = np.array([[1.0, 0.0], [0.0, 1.0]])  # item 0 is class 0, item 1 class 1
    pi, theta = em.m_step(labels, q)
    np.testing.assert_allclose(pi, [0.5, 0.5])
    np.testing.assert_allclose(theta[0], [[1, 0], [0, 1]])  # always right
    np.testing.assert_allclose(theta[1], [[0, 1], [0, 1]])  # always says 1


def test_log_likelihood_by_hand():
    labels = np.array([[0, em.MISSING]])
    pi = np.array([0.5, 0.5])
    theta = np.array([[[0.8, 0.2], [0.3, 0.7]], [[0.5, 0.5], [0.5, 0.5]]])
    # log(0.5 x 0.8 + 0.5 x 0.3); the missing label contributes nothing
    assert em.log_likelihood(labels, pi, theta) == pytest.approx(np.log(0.55))


def test_majority_vote_ignores_missing_labels():
    labels = np.array([[1, 1, 0], [0, em.MISSING, em.MISSING]])
    assert em.majority_vote(labels, 2).tolist() == [1, 0]


def test_em_log_likelihood_never_decreases_and_beats_majority_vote():
    rng = np.random.default_rng(0)
    config = EmConfig(n_items=300)
    crowd = em.simulate_crowd(rng, config.n_items, 2, config.accuracies,
                              config.labels_per_item)
    result = em.dawid_skene(crowd.labels, 2, max_iter=100, tol=1e-10)
    assert (np.diff(result.log_likelihood) >= -1e-9).all()
    assert result.log_likelihood[-1] == pytest.approx(
        em.log_likelihood(crowd.labels, *em.m_step(crowd.labels, result.posterior)),
        abs=1e-3)
    majority = em.majority_vote(crowd.labels, 2)
    assert np.mean(result.labels == crowd.truth) > np.mean(majority == crowd.truth)


def test_a_decreasing_log_likelihood_is_an_error(monkeypatch):
    good = em.m_step
    calls = iter(range(100))

    def worse_on_second_call(labels, q):
        pi, theta = good(labels, q)
        if next(calls) == 1:  # replace the estimates with uninformative ones
            theta = np.full_like(theta, 1 / theta.shape[-1])
        return pi, theta

    monkeypatch.setattr(em, "m_step", worse_on_second_call)
    crowd = em.simulate_crowd(np.random.default_rng(0), 100, 2,
                              (0.9, 0.8, 0.7, 0.6), 3)
    with pytest.raises(RuntimeError, match="decreased"):
        em.dawid_skene(crowd.labels, 2, max_iter=10, tol=0.0)


def test_crowdsourcing_experiment_with_three_classes():
    config = EmConfig(n_items=300, n_classes=3)
    report = experiments.crowdsourcing(config, np.random.default_rng(0))
    m = report.metrics
    assert m["em_accuracy"] > m["majority_accuracy"]
    assert m["min_loglik_increase"] >= -1e-9
    assert m["loglik_final"] >= m["loglik_initial"]
    assert [s["step"] for s in m["loglik"]] == list(range(int(m["iterations"])))
    assert m["annotator_accuracy_mae"] < 0.1
