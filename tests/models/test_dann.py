"""The gradient-reversal layer, the schedules, and the DANN modes."""

import math

import pytest
import torch

from genpipe.config import DannModelConfig
from genpipe.models.dann import (
    DANN,
    MODES,
    grl_lambda,
    lr_factor,
    reverse_gradient,
)


def test_gradient_reversal_is_identity_forward_and_minus_lambda_backward():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    # d/dx of sum(w * R(x)) = -0.5 * w, by hand for w = (1, 2, 3)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.equal(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_gradient_reversal_backward_is_minus_lambda_times_identity():
    # The vector-Jacobian product with each basis vector e_i is −λ e_i.
    x = torch.randn(4, requires_grad=True)
    rows = [torch.autograd.grad(reverse_gradient(x, 2.0), x, e)[0]
            for e in torch.eye(4)]
    assert torch.equal(torch.stack(rows), -2.0 * torch.eye(4))


def test_ganin_schedules_by_hand():
    assert grl_lambda(0.0) == 0.0
    assert grl_lambda(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert grl_lambda(0.1) == pytest.approx(2 / (1 + math.exp(-1)) - 1)  # 0.4621
    assert lr_factor(0.0) == 1.0
    assert lr_factor(1.0) == pytest.approx(11 ** -0.75)


def _batch(n=8):
    torch.manual_seed(0)
    return (torch.rand(n, 1, 28, 28), torch.arange(n) % 10,
            torch.rand(n, 1, 28, 28) * 0.5, (torch.arange(n) + 3) % 10)


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_trains_what_it_should(mode):
    model = DANN(DannModelConfig(channels=(4, 8), hidden=16), mode)
    terms = model.loss(_batch(), progress=0.5)
    assert terms["loss"].ndim == 0
    terms["loss"].backward()
    domain_grad = model.domain_classifier[0].weight.grad
    if mode == "adapted":
        assert {"class_loss", "domain_loss", "domain_acc", "grl_lambda"} <= set(terms)
        assert terms["grl_lambda"] == pytest.approx(grl_lambda(0.5))
        assert domain_grad is not None and domain_grad.abs().sum() > 0
    else:
        assert domain_grad is None  # the bounds never touch the domain classifier


def test_target_labels_only_reach_the_target_only_mode():
    x_s, y_s, x_t, y_t = _batch()
    for mode in ("source_only", "adapted"):
        model = DANN(DannModelConfig(channels=(4, 8), hidden=16), mode)
        torch.manual_seed(1)
        first = model.loss((x_s, y_s, x_t, y_t), 0.3)["loss"]
        torch.manual_seed(1)
        second = model.loss((x_s, y_s, x_t, (y_t + 1) % 10), 0.3)["loss"]
        assert torch.equal(first, second), mode


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        DANN(DannModelConfig(), "both")
