"""ProGAN (Karras et al., 2018): a generator and critic grown 7 x 7 -> 14 x 14
-> 28 x 28 during training, trained with the WGAN-GP loss (Gulrajani et al.,
2017; the penalty is `_gan.gradient_penalty`) plus the paper's drift term
ε_drift E[D(x)²], ε_drift = 0.001.

Growing (§2): training runs in phases, one resolution each (`phase_epochs`
epochs a phase). When a phase adds a resolution, the new layers fade in:

    G(z) = (1 − α) · up(toRGB_{k−1}(h_{k−1})) + α · toRGB_k(block_k(h_{k−1})),
    D(x) = …((1 − α) · fromRGB_{k−1}(pool(x)) + α · block_k(fromRGB_k(x))),

α rising linearly from 0 to 1 over the phase's first `fade_fraction`; the real
images the critic sees are blended the same way, (1 − α) up(pool(x)) + α x, so
real and fake share the resolution's statistics.

Stabilisers (§3-4): the minibatch standard deviation (the mean over features
and pixels of each feature's batch std, appended as one more feature map before
the critic's last block); equalized learning rate (weights drawn N(0, 1) and
scaled at run time by He's constant √(2 / fan_in), so Adam's step is the same
for every layer); pixelwise feature normalisation in G, b = a / √(mean_c a² + ε).

The samples are drawn at the current resolution and upsampled (nearest) to
28 x 28: snapshots after each phase show its resolution; after the last, 28.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from pydantic import Field
from torch import nn

from genpipe.models.generative._base import GenerativeModel
from genpipe.models.generative._gan import (
    GANConfig,
    critic_loss,
    wasserstein_estimate,
    with_gradient_penalty,
)
from genpipe.models.generative.wgan import WassersteinGAN

RESOLUTIONS = (7, 14, 28)


class Config(GANConfig):
    gp_weight: float = Field(10.0, ge=0)  # λ of WGAN-GP
    drift: float = Field(1e-3, ge=0)  # ε_drift
    d_steps: int = Field(5, ge=1)  # n_critic, as wgan_gp: equal generator steps
    lr: float = Field(1e-3, gt=0, le=1)  # the paper's
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.99, ge=0, lt=1)
    phase_epochs: int = Field(1, ge=1)  # epochs per resolution
    fade_fraction: float = Field(0.5, gt=0, le=1)  # of a phase spent fading in


# --- the three stabilisers ------------------------------------------------------
def pixel_norm(a: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """b = a / √(mean over channels of a² + ε), per pixel (§4.2)."""
    return a * torch.rsqrt(a.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_std(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x with one more channel: the std over the batch of every feature at
    every pixel, averaged to one number, broadcast (§3)."""
    std = torch.sqrt(x.var(dim=0, unbiased=False) + eps).mean()
    return torch.cat([x, std.expand(x.shape[0], 1, *x.shape[2:])], 1)


class EqualizedConv2d(nn.Module):
    """Conv with w ~ N(0, 1) used as w · gain / √fan_in (§4.1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale, self.padding = gain / math.sqrt(c_in * kernel * kernel), kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    def __init__(self, d_in: int, d_out: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in))
        self.bias = nn.Parameter(torch.zeros(d_out))
        self.scale = gain / math.sqrt(d_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 2)


class _GeneratorBlock(nn.Module):
    """up x 2, two 3x3 convs, each followed by LeakyReLU and pixel norm."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = EqualizedConv2d(channels, channels, 3)
        self.conv2 = EqualizedConv2d(channels, channels, 3)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = pixel_norm(_lrelu(self.conv1(upsample(h))))
        return pixel_norm(_lrelu(self.conv2(h)))


class ProGenerator(nn.Module):
    """z -> C x 7 x 7 (dense, then a 3x3 conv) -> a block per doubling; one
    1x1 toRGB per resolution (linear output, images in [−1, 1])."""

    def __init__(self, latent_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        self.project = EqualizedLinear(latent_dim, channels * 7 * 7,
                                       gain=math.sqrt(2) / 4)  # the paper's 4x4 "conv"
        self.conv = EqualizedConv2d(channels, channels, 3)
        self.blocks = nn.ModuleList(_GeneratorBlock(channels) for _ in RESOLUTIONS[1:])
        self.to_rgb = nn.ModuleList(EqualizedConv2d(channels, 1, 1, gain=1)
                                    for _ in RESOLUTIONS)

    def trunk(self, z: torch.Tensor, depth: int) -> torch.Tensor:
        """Features at RESOLUTIONS[depth]."""
        h = pixel_norm(_lrelu(self.project(pixel_norm(z)))).view(
            -1, self.channels, 7, 7)
        h = pixel_norm(_lrelu(self.conv(h)))
        for block in self.blocks[:depth]:
            h = block(h)
        return h

    def low_path(self, z: torch.Tensor, phase: int) -> torch.Tensor:
        """up(toRGB_{k−1}(h_{k−1})): the previous resolution, upsampled."""
        return upsample(self.to_rgb[phase - 1](self.trunk(z, phase - 1)))

    def high_path(self, z: torch.Tensor, phase: int) -> torch.Tensor:
        """toRGB_k(block_k(h_{k−1})): the new resolution."""
        return self.to_rgb[phase](self.trunk(z, phase))

    def forward(self, z: torch.Tensor, phase: int, alpha: float) -> torch.Tensor:
        if phase == 0 or alpha >= 1:
            return self.high_path(z, phase)
        h = self.trunk(z, phase - 1)
        low = upsample(self.to_rgb[phase - 1](h))
        high = self.to_rgb[phase](self.blocks[phase - 1](h))
        return (1 - alpha) * low + alpha * high


class ProCritic(nn.Module):
    """A 1x1 fromRGB per resolution; blocks of two 3x3 convs and 2x2 average
    pooling halve it down to 7 x 7; then minibatch std, a 3x3 conv and two
    dense layers to one score (no sigmoid: a WGAN critic)."""

    def __init__(self, channels: int):
        super().__init__()
        self.from_rgb = nn.ModuleList(EqualizedConv2d(1, channels, 1)
                                      for _ in RESOLUTIONS)
        # down[k − 1] takes RESOLUTIONS[k] to RESOLUTIONS[k − 1]
        self.down = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(channels, channels, 3),
                           EqualizedConv2d(channels, channels, 3)])
            for _ in RESOLUTIONS[1:])
        self.conv = EqualizedConv2d(channels + 1, channels, 3)
        self.dense = EqualizedLinear(channels * 7 * 7, channels)
        self.out = EqualizedLinear(channels, 1, gain=1)

    def _down(self, k: int, h: torch.Tensor) -> torch.Tensor:
        conv1, conv2 = self.down[k - 1]
        return downsample(_lrelu(conv2(_lrelu(conv1(h)))))

    def low_path(self, x: torch.Tensor, phase: int) -> torch.Tensor:
        """fromRGB_{k−1}(pool(x)): features at RESOLUTIONS[k − 1]."""
        return _lrelu(self.from_rgb[phase - 1](downsample(x)))

    def high_path(self, x: torch.Tensor, phase: int) -> torch.Tensor:
        """block_k(fromRGB_k(x)): features at RESOLUTIONS[k − 1]."""
        return self._down(phase, _lrelu(self.from_rgb[phase](x)))

    def forward(self, x: torch.Tensor, phase: int, alpha: float) -> torch.Tensor:
        if phase == 0:
            h = _lrelu(self.from_rgb[0](x))
        else:
            h = self.high_path(x, phase)
            if alpha < 1:
                h = (1 - alpha) * self.low_path(x, phase) + alpha * h
            for k in range(phase - 1, 0, -1):
                h = self._down(k, h)
        h = _lrelu(self.conv(minibatch_std(h)))
        return self.out(_lrelu(self.dense(h.flatten(1)))).squeeze(1)


def real_at(x: torch.Tensor, phase: int, alpha: float) -> torch.Tensor:
    """28 x 28 images pooled to RESOLUTIONS[phase], blended with the previous
    resolution (upsampled) during the fade-in."""
    for _ in range(len(RESOLUTIONS) - 1 - phase):
        x = downsample(x)
    if phase == 0 or alpha >= 1:
        return x
    return (1 - alpha) * upsample(downsample(x)) + alpha * x


def schedule(epoch: int, batch: int, batches: int, config: Config
             ) -> tuple[int, float]:
    """(phase, α) at `batch` (0-based) of `epoch` with `batches` an epoch."""
    phase = min(epoch // config.phase_epochs, len(RESOLUTIONS) - 1)
    if phase == 0:
        return 0, 1.0
    done = (epoch - phase * config.phase_epochs) * batches + batch + 1
    fade = config.fade_fraction * config.phase_epochs * batches
    return phase, min(1.0, done / fade)


class ProGAN(WassersteinGAN):
    """The growing G and critic in the shared adversarial training step
    (`AdversarialModel`: n_critic critic steps per G step), at the current
    (phase, α), which `training_step` sets from the epoch and batch."""

    Config = Config
    figures = ("phases",)
    curves = ("d_loss", "g_loss", "alpha")

    def __init__(self, config: Config):
        # The growing networks replace the DCGAN pair AdversarialModel builds.
        GenerativeModel.__init__(self, config)
        self.automatic_optimization = False
        self.generator = ProGenerator(config.latent_dim, config.channels)
        self.discriminator = ProCritic(config.channels)
        # Where growing stands; saved with the weights, so a loaded model
        # samples at the resolution training reached.
        self.register_buffer("phase", torch.tensor(0))
        self.register_buffer("alpha", torch.tensor(1.0))

    def _at(self) -> tuple[int, float]:
        return int(self.phase), float(self.alpha)

    def generate(self, z, y):
        return self.generator(z, *self._at())

    def critic(self, x, y):
        return self.discriminator(x, *self._at())

    def d_terms(self, real, fake, y, train=True):
        real_scores, fake_scores = self.critic(real, y), self.critic(fake, y)
        # WGAN-GP's critic loss plus the drift ε_drift E[D(x)²] (§A.1)
        terms = {"d_loss": critic_loss(real_scores, fake_scores)
                 + self.config.drift * real_scores.pow(2).mean(),
                 "wasserstein": wasserstein_estimate(real_scores, fake_scores)}
        if train:
            terms = with_gradient_penalty(terms, lambda v: self.critic(v, y), real,
                                          fake, self.config.gp_weight)
        return terms

    def training_step(self, batch, batch_idx):
        phase, alpha = schedule(self.current_epoch, batch_idx,
                                int(self.trainer.num_training_batches), self.config)
        self.phase.fill_(phase)
        self.alpha.fill_(alpha)
        x, y = batch
        terms = super().training_step((real_at(x, phase, alpha), y), batch_idx)
        grown = {"resolution": torch.tensor(float(RESOLUTIONS[phase])),
                 "alpha": torch.tensor(alpha)}
        self._log_terms(grown, "train")
        return terms | grown

    def validation_step(self, batch, batch_idx):
        x, y = batch
        super().validation_step((real_at(x, *self._at()), y), batch_idx)

    def sample(self, n, sampler=None, labels=None):
        images = (self.generate(self.noise(n), None) + 1) / 2
        while images.shape[-1] < RESOLUTIONS[-1]:
            images = upsample(images)
        return images.clamp(0, 1)

    def report(self, x, y, classify):
        """The same z through every resolution's output (toRGB_k, α = 1)."""
        with torch.no_grad():
            z = self.noise(10)
            rows = []
            for phase in range(len(RESOLUTIONS)):
                images = self.generator(z, phase, 1.0)
                while images.shape[-1] < RESOLUTIONS[-1]:
                    images = upsample(images)
                rows.append(((images + 1) / 2).clamp(0, 1))
        grid = torch.cat([torch.cat(list(row[:, 0].cpu()), 1) for row in rows])
        figure = Figure(figsize=(7, 2.6))
        axes = figure.subplots()
        axes.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes.set_yticks([14, 42, 70], [f"{r} x {r}" for r in RESOLUTIONS], fontsize=7)
        axes.set_xticks([])
        axes.set_title(f"progan: each resolution's output for the same z "
                       f"(trained to {RESOLUTIONS[int(self.phase)]} x "
                       f"{RESOLUTIONS[int(self.phase)]})", fontsize=8)
        figure.tight_layout()
        return {}, {"phases": figure}

    def configure_optimizers(self):
        betas = (self.config.beta1, self.config.beta2)
        return [self._adam(self.discriminator.parameters(), betas),
                self._adam(self.generator.parameters(), betas)]


MODEL = ProGAN
