import numpy as np
import pytest

from genpipe.theory import experiments, games
from genpipe.theory.config import NashConfig


def test_one_step_of_each_scheme_by_hand():
    # from (1, 1), lr 0.1: x moves by -lr y, y by +lr x
    np.testing.assert_allclose(games.simultaneous((1, 1), 0.1, 1)[1], [0.9, 1.1])
    np.testing.assert_allclose(games.alternating((1, 1), 0.1, 1)[1], [0.9, 1.09])
    # half step (0.9, 1.1), then (1 - 0.1 x 1.1, 1 + 0.1 x 0.9)
    np.testing.assert_allclose(games.extragradient((1, 1), 0.1, 1)[1], [0.89, 1.09])


def test_radii_and_invariant_match_their_closed_forms():
    lr, steps = 0.2, 50
    t = np.arange(steps + 1)
    np.testing.assert_allclose(np.hypot(*games.simultaneous((1, 0), lr, steps).T),
                               games.simultaneous_radius(1.0, lr, t))
    np.testing.assert_allclose(np.hypot(*games.extragradient((1, 0), lr, steps).T),
                               games.extragradient_radius(1.0, lr, t))
    q = games.alternating_invariant(games.alternating((1, 0.5), lr, steps), lr)
    np.testing.assert_allclose(q, q[0])


def test_running_average():
    path = np.array([[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(games.running_average(path), [[2, 0], [1, 1]])


def test_simultaneous_spirals_out_the_others_do_not():
    report = experiments.nash(NashConfig(steps=200))
    m = report.metrics
    assert m["radius_simultaneous"] > 2 * m["radius_start"]
    assert m["radius_alternating_max"] == pytest.approx(m["radius_start"], rel=0.1)
    assert m["radius_averaged"] < 0.2 * m["radius_start"]
    assert m["radius_extragradient"] < m["radius_start"]
    assert (report.checks["abs_error"] < 1e-9).all()
