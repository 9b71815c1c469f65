import numpy as np
import pytest

from genpipe.theory import experiments, fitting
from genpipe.theory.config import KlFitConfig


def test_mixture_moments_by_hand():
    p = fitting.Mixture((-3.0, 3.0), 1.0, 0.5)
    assert p.mean() == 0.0
    assert p.var() == pytest.approx(10.0)  # 1 + 9
    skewed = fitting.Mixture((0.0, 4.0), 1.0, 0.75)
    assert skewed.mean() == pytest.approx(1.0)
    assert skewed.var() == pytest.approx(1 + 0.75 * 0 + 0.25 * 16 - 1)


def test_forward_kl_is_moment_matching_and_reverse_kl_seeks_a_mode():
    report = experiments.kl_fit(KlFitConfig(grid_points=1201))
    m = report.metrics
    assert m["forward_mu"] == pytest.approx(0.0, abs=1e-4)
    assert m["forward_sd"] == pytest.approx(np.sqrt(10), rel=1e-4)
    assert m["reverse_mu"] == pytest.approx(-3.0, abs=0.1)  # one mode, not both
    assert m["reverse_sd"] == pytest.approx(1.0, abs=0.1)
    fits = report.table.set_index("fit")
    assert fits.loc["reverse_from_mode2", "mu"] == pytest.approx(3.0, abs=0.1)


def test_divergences_are_zero_for_a_single_gaussian():
    p = fitting.Mixture((1.0, 1.0), 2.0, 0.5)  # both components equal
    grid = fitting.grid_for(p, 2001)
    assert fitting.forward_kl(p, 1.0, 2.0, grid) == pytest.approx(0.0, abs=1e-9)
    assert fitting.reverse_kl(p, 1.0, 2.0, grid) == pytest.approx(0.0, abs=1e-9)
