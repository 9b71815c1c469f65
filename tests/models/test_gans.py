"""The GAN families: each loss by hand, the Lipschitz constraints, the
conditional generator, learning on a tiny set, and the manual-optimization step
inside the shared engine (seeded, resumable, NaN-checked)."""

import math

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from genpipe.config import ParameterError, TrainerConfig
from genpipe.models.generative import build, validate_models
from genpipe.models.generative._gan import (
    ConditionalBatchNorm2d,
    clip_weights,
    critic_loss,
    discriminator_loss,
    gradient_penalty,
    minimax_generator_loss,
    non_saturating_generator_loss,
    wasserstein_estimate,
    wasserstein_generator_loss,
)
from genpipe.training import NonFiniteLossError, fit, seed_everything
from genpipe.training.data import TensorDataModule
from genpipe.training.engine import checkpoint_folder, fingerprint

GANS = ("gan", "cgan", "wgan", "wgan_gp")
TINY = {"channels": 4, "latent_dim": 8}


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


# --- losses by hand ---------------------------------------------------------------
def test_discriminator_loss_is_the_negated_value_by_hand():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([0.0, -1.0])
    # −½[log σ(0) + log σ(2)] − ½[log(1 − σ(0)) + log(1 − σ(−1))]
    expected = (-0.5 * (math.log(0.5) + math.log(_sigmoid(2.0)))
                - 0.5 * (math.log(0.5) + math.log(1 - _sigmoid(-1.0))))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_generator_losses_by_hand():
    fake = torch.tensor([0.0, math.log(3.0)])  # D(G(z)) = 1/2 and 3/4
    assert minimax_generator_loss(fake).item() == pytest.approx(
        0.5 * (math.log(0.5) + math.log(0.25)), rel=1e-6)  # E[log(1 − D)]
    assert non_saturating_generator_loss(fake).item() == pytest.approx(
        -0.5 * (math.log(0.5) + math.log(0.75)), rel=1e-6)  # −E[log D]


def test_minimax_saturates_where_non_saturating_does_not():
    """At D(G(z)) = σ(−8) (D wins), d/dl of the minimax loss is −σ(l) ≈ 0 and
    of the non-saturating one −(1 − σ(l)) ≈ −1."""
    for loss, expected in ((minimax_generator_loss, -_sigmoid(-8.0)),
                           (non_saturating_generator_loss, -(1 - _sigmoid(-8.0)))):
        logit = torch.tensor([-8.0], requires_grad=True)
        loss(logit).backward()
        assert logit.grad.item() == pytest.approx(expected, rel=1e-5)


def test_softplus_forms_stay_finite_where_the_probabilities_underflow():
    fake = torch.tensor([-200.0, 200.0])  # σ(−200) underflows to 0 in float32
    naive = -torch.log(torch.sigmoid(fake)).mean()
    assert not torch.isfinite(naive)
    assert non_saturating_generator_loss(fake).item() == pytest.approx(100.0)
    assert torch.isfinite(discriminator_loss(fake, fake))


def test_wasserstein_terms_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0, 0.5])
    assert wasserstein_estimate(real, fake).item() == pytest.approx(2.0 - (-0.5 / 3))
    assert critic_loss(real, fake).item() == pytest.approx(-0.5 / 3 - 2.0)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(0.5 / 3)


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    """f(x) = w·x + b has ∇f = w everywhere: the penalty is (‖w‖ − 1)², and its
    gradient in w is 2(‖w‖ − 1) w/‖w‖ (the penalty is trained through)."""
    torch.manual_seed(0)
    w = torch.tensor([3.0, 0.0, 4.0, 0.0], requires_grad=True)  # ‖w‖ = 5
    critic = lambda x: x.flatten(1) @ w + 0.7  # noqa: E731
    real, fake = torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2)
    penalty = gradient_penalty(critic, real, fake, torch.rand(6, 1, 1, 1))
    assert penalty.item() == pytest.approx(16.0, rel=1e-6)
    penalty.backward()
    torch.testing.assert_close(w.grad, 2 * (5 - 1) * w.detach() / 5)


def test_gradient_penalty_matches_autograd_at_the_interpolates():
    """f(x) = Σ x²: ∇f(x̂) = 2x̂ at x̂ = εx + (1 − ε)x̃, computed by hand."""
    torch.manual_seed(1)
    real, fake = torch.randn(5, 1, 3, 3), torch.randn(5, 1, 3, 3)
    eps = torch.rand(5, 1, 1, 1)
    mixed = eps * real + (1 - eps) * fake
    expected = ((2 * mixed).flatten(1).norm(dim=1) - 1).pow(2).mean()
    penalty = gradient_penalty(lambda x: x.pow(2).flatten(1).sum(1), real, fake, eps)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-6)


def test_wgan_gp_critic_loss_adds_lambda_times_the_penalty():
    torch.manual_seed(0)
    model = build("wgan_gp", {**TINY, "gp_weight": 10.0})
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    terms = model.d_terms(real, fake, None)
    held_out = model.d_terms(real, fake, None, train=False)
    assert "gradient_penalty" not in held_out
    assert terms["d_loss"].item() == pytest.approx(
        held_out["d_loss"].item() + 10 * terms["gradient_penalty"].item(), rel=1e-5)
    assert terms["wasserstein"].item() == pytest.approx(-held_out["d_loss"].item())


# --- the constraints and networks ----------------------------------------------------
def _datamodule(n: int = 96, batch_size: int = 16, seed: int = 0,
                labelled: bool = False) -> TensorDataModule:
    """Bars at random places (a horizontal and a vertical one), labels i % 10;
    `labelled`: the horizontal bar's row is the label's, 4 + 2 · label."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28)
    labels = torch.arange(n) % 10
    rows, cols = torch.randint(4, 21, (n, 2), generator=generator).T
    if labelled:
        rows = 4 + 2 * labels
    for image, row, col in zip(images, rows, cols, strict=True):
        image[0, row:row + 3, 4:24] = 1
        image[0, 4:24, col:col + 3] = 1
    return TensorDataModule((images, labels), (images[:32], labels[:32]),
                            batch_size=batch_size, seed=seed)


def _fit(family: str, directory, epochs: int, model_params: dict | None = None,
         data: TensorDataModule | None = None, callbacks=()):
    seed_everything(3)
    model = build(family, {**TINY, **(model_params or {})})
    config = TrainerConfig(max_epochs=epochs, checkpoint_dir=str(directory),
                           progress_bar=False, log_every_n_steps=1)
    trainer = fit(model, data or _datamodule(), config, device="cpu", family=family,
                  run_fingerprint=fingerprint(family, model_params, epochs),
                  callbacks=callbacks, log_to_mlflow=False)
    return model, trainer


def test_clipping_keeps_every_critic_weight_in_the_box(tmp_path):
    module = torch.nn.Linear(3, 2)
    torch.nn.init.normal_(module.weight, std=5.0)
    clip_weights(module, 0.01)
    assert module.weight.abs().max() <= 0.01 and module.bias.abs().max() <= 0.01
    # Through training: a large step pushes weights out, the clip brings them back.
    model, _ = _fit("wgan", tmp_path, 1, {"lr": 0.05, "clip": 0.01, "d_steps": 2})
    weights = torch.cat([p.flatten() for p in model.discriminator.parameters()])
    assert weights.abs().max() <= 0.01
    assert (weights.abs() == 0.01).float().mean() > 0.5  # the clip was active
    generator = torch.cat([p.flatten() for p in model.generator.parameters()])
    assert generator.abs().max() > 0.01  # G is not clipped


def test_conditional_batch_norm_is_the_class_affine_of_batch_norm():
    """γ_y ⊙ x̂ + β_y with x̂ the batch-normalized input, by hand; it starts as
    plain batch norm (γ = 1, β = 0)."""
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(2, num_classes=3)
    x, y = torch.randn(4, 2, 3, 3), torch.tensor([0, 2, 2, 1])
    mean = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    normalized = (x - mean) / torch.sqrt(var + 1e-5)
    torch.testing.assert_close(norm(x, y), normalized)
    scale = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # class x channel
    shift = torch.tensor([[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]])
    with torch.no_grad():
        norm.scale.weight.copy_(scale)
        norm.shift.weight.copy_(shift)
    expected = torch.stack([normalized[i] * scale[y[i]].view(2, 1, 1)
                            + shift[y[i]].view(2, 1, 1) for i in range(4)])
    torch.testing.assert_close(norm(x, y), expected)


def test_conditional_generator_shapes_and_labels():
    torch.manual_seed(0)
    model = build("cgan", TINY).eval()
    assert model.sample_labels(12).tolist() == [*range(10), 0, 1]
    with torch.no_grad():
        z = model.noise(1).repeat(10, 1)
        images = model.generate(z, torch.arange(10))
        drawn = model.sample(7, labels=torch.full((7,), 3))
    assert images.shape == (10, 1, 28, 28) and drawn.shape == (7, 1, 28, 28)
    assert drawn.min() >= 0 and drawn.max() <= 1
    # Same z, different label: different images (the label reaches G)...
    assert all(not torch.equal(images[0], images[k]) for k in range(1, 10))
    # ...and D (after training moves its label embedding off zero).
    with torch.no_grad():
        model.discriminator.embed.weight.normal_()
        x = torch.rand(2, 1, 28, 28)
        assert not torch.equal(model.critic(x, torch.tensor([0, 0])),
                               model.critic(x, torch.tensor([1, 1])))


def test_cgan_report_draws_the_class_grid_and_scores_labels():
    model = build("cgan", {**TINY, "label_samples": 5}).eval()
    always_three = lambda images: np.eye(10)[np.full(len(images), 3)]  # noqa: E731
    metrics, figures = model.report(torch.rand(4, 1, 28, 28), torch.arange(4),
                                    always_three)
    # 5 samples of each of 10 labels; only label 3's are "right".
    assert metrics == {"label_accuracy": 0.1, "label_accuracy_worst_class": 0.0}
    assert set(figures) == {"class_grid"}
    assert "label accuracy 0.100" in figures["class_grid"].axes[0].get_title()


def test_model_blocks_are_validated():
    with pytest.raises(ParameterError, match=r"parameters\.gan\.model\.generator_loss"):
        validate_models({"gan": {"model": {"generator_loss": "hinge"}}}, ["gan"])
    with pytest.raises(ParameterError, match=r"parameters\.wgan\.model\.clip"):
        validate_models({"wgan": {"model": {"clip": 0}}}, ["wgan"])
    with pytest.raises(ParameterError, match=r"parameters\.wgan_gp\.model\.d_steps"):
        validate_models({"wgan_gp": {"model": {"d_steps": 0}}}, ["wgan_gp"])


# --- training -----------------------------------------------------------------------
def _mean_image_error(model, data: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        torch.manual_seed(0)
        samples = model.sample(len(data))
    model.train()
    return (samples.mean(0) - data.mean(0)).pow(2).mean().item()


def _bar_rows(model) -> list[int]:
    """Per label, the first row of the brightest 3-row band of its samples' mean."""
    model.eval()
    with torch.no_grad():
        torch.manual_seed(0)
        labels = torch.arange(10).repeat_interleave(20)
        samples = model.sample(len(labels), labels=labels)
    model.train()
    rows = samples.view(10, 20, 28, 28).mean((1, 3))  # label x row intensity
    bands = rows.unfold(1, 3, 1).sum(2)  # label x band start
    return bands.argmax(1).tolist()


@pytest.mark.parametrize("family", GANS)
def test_each_family_learns_the_tiny_set(family, tmp_path):
    """The mean sample moves onto the mean training image (bars: a cross-hatch),
    closer than a black image is: the bars themselves were learned. The cGAN
    also draws each label's horizontal bar in the label's rows."""
    data = _datamodule(n=128, batch_size=32, labelled=family == "cgan")
    images = data.splits["train"].tensors[0]
    torch.manual_seed(3)
    before = _mean_image_error(build(family, {**TINY, "channels": 8}), images)
    params = {"channels": 8, "lr": {"gan": 2e-3, "cgan": 5e-3, "wgan": 2e-3,
                                    "wgan_gp": 3e-3}[family],
              "d_steps": 2 if family == "wgan" else 1}
    model, trainer = _fit(family, tmp_path, 40, params, data)
    after = _mean_image_error(model, images)
    blank = images.mean(0).pow(2).mean().item()  # all-black "samples"
    assert after < 0.5 * before and after < 0.3 * blank, (before, after, blank)
    if family == "cgan":  # and each label draws its own horizontal bar
        assert _bar_rows(model) == [4 + 2 * label for label in range(10)]
    logged = trainer.callback_metrics
    assert {"train_d_loss", "train_g_loss", "val_d_loss"} <= set(logged)
    if family.startswith("wgan"):
        assert {"train_wasserstein", "val_wasserstein"} <= set(logged)


class _Interrupted(Exception):
    pass


class _StopAt(Callback):
    """Interrupts training when `epoch` starts (its predecessor is checkpointed)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            raise _Interrupted


def _state(model, trainer) -> tuple[dict, list]:
    return model.state_dict(), [opt.state_dict() for opt in trainer.optimizers]


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return torch.equal(a, b) if torch.is_tensor(a) else a == b


@pytest.mark.parametrize("family", GANS)
def test_training_is_seeded_and_resumes_bitwise(family, tmp_path):
    """Two runs agree; a run interrupted after epoch 2 and resumed from its
    checkpoint ends with the same weights and both optimizers' states."""
    params = {"d_steps": 2}
    straight = _state(*_fit(family, tmp_path / "a", 3, params))
    assert _equal(straight, _state(*_fit(family, tmp_path / "b", 3, params)))
    assert all(opt["state"] for opt in straight[1])  # D's and G's moments
    with pytest.raises(_Interrupted):
        _fit(family, tmp_path / "c", 3, params, callbacks=[_StopAt(2)])
    folder = checkpoint_folder(tmp_path / "c", fingerprint(family, params, 3))
    last = torch.load(folder / "last.ckpt", weights_only=True)
    assert last["epoch"] == 1 and len(last["optimizer_states"]) == 2
    resumed = _state(*_fit(family, tmp_path / "c", 3, params))
    assert _equal(straight, resumed)


def test_a_non_finite_loss_stops_training_naming_the_term(tmp_path):
    data = _datamodule()
    data.splits["train"].tensors[0][:] = float("nan")
    with pytest.raises(NonFiniteLossError,
                       match=r"gan: d_loss became nan.*Lower the learning rate\.$"):
        _fit("gan", tmp_path, 2, {}, data)  # no clipping advice: manual optimization


def test_gradient_clipping_is_refused_under_manual_optimization(tmp_path):
    config = TrainerConfig(max_epochs=1, checkpoint_dir=str(tmp_path),
                           gradient_clip_val=1.0)
    with pytest.raises(ParameterError,
                       match=r"parameters\.wgan\.trainer\.gradient_clip_val"):
        fit(build("wgan", TINY), _datamodule(), config, device="cpu",
            family="wgan", run_fingerprint="x", log_to_mlflow=False)
