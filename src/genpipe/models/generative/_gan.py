"""What the GAN families share: the adversarial losses, DCGAN-style networks
for 28 x 28 images, and the manual-optimization training step.

The game (Goodfellow et al., 2014), with D(x) = σ(l(x)) and l the logit:

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))].

Every loss is written on logits with softplus, softplus(a) = log(1 + e^a), which
is exact and never takes the log of a probability that underflows to 0:

    −log D(x)       = −log σ(l)     = softplus(−l)
    −log(1 − D(x))  = −log σ(−l)    = softplus(l)

The Wasserstein families (Arjovsky et al., 2017; Gulrajani et al., 2017) use the
Kantorovich–Rubinstein dual W(P_r, P_g) = sup_{‖f‖_L ≤ 1} E_r[f(x)] − E_g[f(x)]
with a critic f (no sigmoid), kept Lipschitz by weight clipping or by a
gradient penalty.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genpipe.config import ModelConfig
from genpipe.models.generative._base import GenerativeModel


# --- losses (every one a mean over the batch) ---------------------------------
def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor
                       ) -> torch.Tensor:
    """−E[log D(x)] − E[log(1 − D(G(z)))]: the negated value V, as BCE on logits."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """E[log(1 − D(G(z)))], minimised by G: the game's own (saturating) loss.

    log(1 − σ(l)) = −softplus(l). Its gradient in l is −σ(l) = −D(G(z)): where
    D confidently rejects the fakes (early training), G gets almost nothing.
    """
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """−E[log D(G(z))] = E[softplus(−l)]: the same fixed point, but the gradient
    in l is −(1 − D(G(z))), large exactly where D rejects the fakes."""
    return F.softplus(-fake_logits).mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E[f(G(z))] − E[f(x)]: minimising it maximises the dual's objective."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """−E[f(G(z))]: G moves its samples up the critic."""
    return -fake_scores.mean()


def wasserstein_estimate(real_scores: torch.Tensor, fake_scores: torch.Tensor
                         ) -> torch.Tensor:
    """E[f(x)] − E[f(G(z))]: the critic's estimate of W(P_r, P_g) (up to the
    Lipschitz constant the constraint actually enforces)."""
    return real_scores.mean() - fake_scores.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor) -> torch.Tensor:
    """E[(‖∇_x̂ f(x̂)‖₂ − 1)²] at x̂ = ε x + (1 − ε) G(z) (WGAN-GP, eq. 3).

    Args:
        critic: x -> N scores (extra inputs bound, e.g. labels).
        real, fake: N x ... batches; eps: N x 1 x 1 x 1 in [0, 1].
    The graph is kept (`create_graph`): the penalty is trained through.
    """
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def with_gradient_penalty(terms: dict[str, torch.Tensor], critic, real: torch.Tensor,
                          fake: torch.Tensor, weight: float) -> dict[str, torch.Tensor]:
    """The critic's `terms` with WGAN-GP's penalty at ε ~ U[0, 1] per row:
    `gradient_penalty` added to the terms, `weight` times it to `d_loss`."""
    eps = torch.rand(len(real), 1, 1, 1, device=real.device)
    penalty = gradient_penalty(critic, real, fake, eps)
    return {**terms, "gradient_penalty": penalty,
            "d_loss": terms["d_loss"] + weight * penalty}


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clamps every parameter of `module` into [−c, c] (WGAN, Algorithm 1)."""
    for parameter in module.parameters():
        parameter.clamp_(-c, c)


# --- networks -----------------------------------------------------------------
def _norm(kind: str, channels: int, size: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # WGAN-GP: no batch norm in a penalised critic
        return nn.LayerNorm([channels, size, size])
    return nn.Identity()


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (de Vries et
    al., 2017; the generator of Miyato & Koyama, 2018): γ_y ⊙ x̂ + β_y, starting
    at γ = 1, β = 0. Unconditional (`num_classes` 0): plain batch norm."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=not num_classes)
        self.scale = self.shift = None
        if num_classes:
            self.scale = nn.Embedding(num_classes, channels)
            self.shift = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.scale.weight)
            nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = self.norm(x)
        if self.scale is None:
            return x
        return self.scale(y)[:, :, None, None] * x + self.shift(y)[:, :, None, None]


class Generator(nn.Module):
    """DCGAN-style: z -> 2C x 7 x 7 -> C x 14 x 14 -> 1 x 28 x 28, transposed
    convolutions with batch norm and ReLU, tanh output in [−1, 1].

    Conditional (`num_classes` > 0): the label enters twice, as a one-hot code
    (a learnable embedding starting at the identity) concatenated to z, and as
    the class-wise scale and shift of both batch norms
    (`ConditionalBatchNorm2d`, as in Miyato & Koyama's generator). A dense
    64-d label embedding concatenated to z, the first design, swamped z: G drew
    one image per class whatever z was (per-class pixel std 0.03, against 0.15
    for the unconditional G).
    """

    def __init__(self, latent_dim: int, channels: int, num_classes: int = 0):
        super().__init__()
        c2 = 2 * channels
        self.embed = nn.Embedding(num_classes, num_classes) if num_classes else None
        if self.embed is not None:
            nn.init.eye_(self.embed.weight)
        self.project = nn.Sequential(
            nn.Linear(latent_dim + num_classes, c2 * 7 * 7, bias=False),
            nn.Unflatten(1, (c2, 7, 7)))
        self.norm1 = ConditionalBatchNorm2d(c2, num_classes)
        self.up1 = nn.ConvTranspose2d(c2, channels, 4, 2, 1, bias=False)
        self.norm2 = ConditionalBatchNorm2d(channels, num_classes)
        self.up2 = nn.ConvTranspose2d(channels, 1, 4, 2, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], 1)
        h = F.relu(self.norm1(self.project(z), y))
        h = F.relu(self.norm2(self.up1(h), y))
        return torch.tanh(self.up2(h))


class Discriminator(nn.Module):
    """DCGAN-style: 1 x 28 x 28 -> C x 14 x 14 -> 2C x 7 x 7 -> one logit/score,
    strided convolutions with LeakyReLU(0.2) (normalization selectable).

    Conditional (`num_classes` > 0): the projection discriminator (Miyato &
    Koyama, 2018), l(x, y) = w·φ(x) + e_y·φ(x), the label entering as an inner
    product with the image features.
    """

    def __init__(self, channels: int, norm: str = "batch", num_classes: int = 0):
        super().__init__()
        c2 = 2 * channels
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, c2, 4, 2, 1), _norm(norm, c2, 7), nn.LeakyReLU(0.2),
            nn.Flatten())
        self.head = nn.Linear(c2 * 7 * 7, 1)
        self.embed = nn.Embedding(num_classes, c2 * 7 * 7) if num_classes else None
        if self.embed is not None:  # start unconditional: e_y·φ(x) = 0
            nn.init.zeros_(self.embed.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(1)
        return out


# --- the shared model -----------------------------------------------------------
class GANConfig(ModelConfig):
    """What every GAN family's `model:` block has."""

    latent_dim: int = Field(64, ge=1)  # z ~ N(0, I)
    channels: int = Field(64, ge=1)  # C: the widths are C and 2C
    d_steps: int = Field(1, ge=1)  # k discriminator (critic) steps per G step
    lr: float = Field(2e-4, gt=0, le=1)


class AdversarialModel(GenerativeModel):
    """A generator G and a discriminator/critic D trained by alternating steps.

    Manual optimization: every training batch is one D step on that batch of
    real images and fresh fakes; every `d_steps`-th batch is followed by one G
    step on fresh noise. Subclasses give the two objectives (`d_terms`,
    `g_terms`), the optimizers, and what follows a D step (`after_d_step`,
    e.g. weight clipping). Images are rescaled to [−1, 1] for the tanh
    generator. `training_step` returns the detached terms (the engine's NaN
    check inspects them); they are logged per step and per epoch as
    `train_<term>` (MLflow: `<family>/train_<term>_step`).
    """

    reconstructs = False
    group = "adversarial"
    samples = True
    distributed = False  # manual optimization
    curves = ("d_loss", "g_loss")
    conditional: ClassVar[bool] = False
    norm: ClassVar[str] = "batch"

    def __init__(self, config: GANConfig):
        super().__init__(config)
        self.automatic_optimization = False
        classes = 10 if self.conditional else 0
        self.generator = Generator(config.latent_dim, config.channels, classes)
        self.discriminator = Discriminator(config.channels, self.norm, classes)

    # --- the family's objectives -----------------------------------------------
    def d_terms(self, real: torch.Tensor, fake: torch.Tensor,
                y: torch.Tensor | None, train: bool = True
                ) -> dict[str, torch.Tensor]:
        """D's terms on a real batch and a (detached) fake batch; `d_loss` is
        minimised. `train` False: held-out terms without regularisers that need
        gradients (validation runs without autograd)."""
        raise NotImplementedError

    def g_terms(self, fake: torch.Tensor, y: torch.Tensor | None
                ) -> dict[str, torch.Tensor]:
        """G's terms on fakes (graph kept); `g_loss` is minimised."""
        raise NotImplementedError

    def after_d_step(self) -> None:
        """After every D step (WGAN: weight clipping)."""

    # --- shared -----------------------------------------------------------------
    def critic(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(x, y if self.conditional else None)

    def generate(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """G(z, y) in [−1, 1]."""
        return self.generator(z, y if self.conditional else None)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, device=self.device)

    def sample_labels(self, n: int) -> torch.Tensor:
        """Balanced labels 0, 1, ..., 9, 0, ... (conditional families)."""
        return torch.arange(n, device=self.device) % 10

    def sample(self, n: int, sampler: str | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        """`n` images in [0, 1]; conditional families draw `labels` (default
        balanced, so the scored set has MNIST's near-uniform class mix)."""
        if self.conditional and labels is None:
            labels = self.sample_labels(n)
        return (self.generate(self.noise(n), labels) + 1) / 2

    def training_step(self, batch, batch_idx):
        x, y = batch
        opt_d, opt_g = self.optimizers()
        real, labels = 2 * x - 1, (y if self.conditional else None)
        # D step: real batch against fresh fakes (no gradient into G).
        with torch.no_grad():
            fake = self.generate(self.noise(len(x)), labels)
        terms = self.d_terms(real, fake, labels)
        opt_d.zero_grad()
        self.manual_backward(terms["d_loss"])
        opt_d.step()
        self.after_d_step()
        # G step every `d_steps` batches (epochs start a new count, so a resume
        # at an epoch end replays exactly).
        if (batch_idx + 1) % self.config.d_steps == 0:
            self.toggle_optimizer(opt_g)  # D's parameters get no gradient
            g_terms = self.g_terms(self.generate(self.noise(len(x)), labels), labels)
            opt_g.zero_grad()
            self.manual_backward(g_terms["g_loss"])
            opt_g.step()
            self.untoggle_optimizer(opt_g)
            terms |= g_terms
        terms = {name: value.detach() for name, value in terms.items()}
        self._log_terms(terms, "train")
        return terms

    def validation_step(self, batch, batch_idx):
        """Held-out D terms (a D that wins on train but not here overfits)."""
        x, y = batch
        labels = y if self.conditional else None
        fake = self.generate(self.noise(len(x)), labels)
        self._log_terms(self.d_terms(2 * x - 1, fake, labels, train=False), "val")

    def _adam(self, params, betas: tuple[float, float]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.config.lr, betas=betas,
                                weight_decay=self.config.weight_decay)


class MinimaxGAN(AdversarialModel):
    """D: the BCE of the game; G: minimax or non-saturating (`generator_loss`)."""

    def d_terms(self, real, fake, y, train=True):
        real_logits, fake_logits = self.critic(real, y), self.critic(fake, y)
        return {"d_loss": discriminator_loss(real_logits, fake_logits),
                "d_real": torch.sigmoid(real_logits).mean(),  # mean D(x)
                "d_fake": torch.sigmoid(fake_logits).mean()}  # mean D(G(z))

    def g_terms(self, fake, y):
        logits = self.critic(fake, y)
        if self.config.generator_loss == "minimax":
            loss = minimax_generator_loss(logits)
        else:
            loss = non_saturating_generator_loss(logits)
        return {"g_loss": loss}

    def configure_optimizers(self):
        # DCGAN (Radford et al., 2016): Adam, lr 2e-4, β1 = 0.5.
        betas = (self.config.beta1, 0.999)
        return [self._adam(self.discriminator.parameters(), betas),
                self._adam(self.generator.parameters(), betas)]
