"""CycleGAN (Zhu et al., 2017): unpaired translation between two domains X
(MNIST) and Y (scikit-learn's digits at 28 x 28).

Two generators G: X -> Y and F: Y -> X and two discriminators D_Y, D_X, with
the least-squares adversarial loss (Mao et al., 2017; Zhu et al., §4)

    L_LSGAN(G, D_Y) = E_y[(D_Y(y) − 1)²] + E_x[D_Y(G(x))²]     (D_Y minimises)
                      G minimises E_x[(D_Y(G(x)) − 1)²],

the cycle-consistency loss (eq. 2)

    L_cyc(G, F) = E_x[‖F(G(x)) − x‖₁] + E_y[‖G(F(y)) − y‖₁],

and the identity loss of §5.2, L_id = E_y[‖G(y) − y‖₁] + E_x[‖F(x) − x‖₁],
which keeps a generator from changing what already looks like its target.
The full objective (eq. 3 plus identity):

    L = L_LSGAN(G, D_Y) + L_LSGAN(F, D_X) + λ L_cyc + λ_id L_id,

λ = 10 and λ_id = 0.5 λ = 5 in the paper; here λ_id is its own parameter so
that the ablation λ = 0 removes the cycle term only. No pairs are used: each
batch holds unrelated images of X and Y. (The paper's 50-image history buffer
of fakes for the discriminators is left out at this scale.)

Networks at MNIST scale, after the paper's: the ResNet generator
(c7s1-C, d2C, R2C x n, uC, c7s1-1; instance norm, tanh; 28 -> 14 -> 28) and
a 70x70-PatchGAN-style discriminator shrunk to 28 x 28 (C, 2C stride 2, then a
4x4 conv to a 6 x 6 map of real/fake scores).
"""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from genpipe.config import CycleGANModelConfig


# --- losses -------------------------------------------------------------------
def lsgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor
                 ) -> torch.Tensor:
    """½ (E[(D(y) − 1)²] + E[D(G(x))²]): the discriminator's LSGAN loss (the
    paper halves it to slow D relative to G)."""
    return 0.5 * ((real_scores - 1).pow(2).mean() + fake_scores.pow(2).mean())


def lsgan_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """E[(D(G(x)) − 1)²]: the generator's LSGAN loss."""
    return (fake_scores - 1).pow(2).mean()


def cycle_loss(g: nn.Module, f: nn.Module, x: torch.Tensor, y: torch.Tensor,
               fake_y: torch.Tensor | None = None,
               fake_x: torch.Tensor | None = None) -> torch.Tensor:
    """E[‖F(G(x)) − x‖₁] + E[‖G(F(y)) − y‖₁] (means over pixels: eq. 2);
    `fake_y` = G(x) and `fake_x` = F(y) when already computed."""
    fake_y = g(x) if fake_y is None else fake_y
    fake_x = f(y) if fake_x is None else fake_x
    return (f(fake_y) - x).abs().mean() + (g(fake_x) - y).abs().mean()


def identity_loss(g: nn.Module, f: nn.Module, x: torch.Tensor, y: torch.Tensor
                  ) -> torch.Tensor:
    """E[‖G(y) − y‖₁] + E[‖F(x) − x‖₁]."""
    return (g(y) - y).abs().mean() + (f(x) - x).abs().mean()


# --- networks -------------------------------------------------------------------
class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """1 x 28 x 28 in [−1, 1] -> the same shape in [−1, 1]."""

    def __init__(self, channels: int, blocks: int):
        super().__init__()
        c, c2 = channels, 2 * channels
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(1, c, 7), nn.InstanceNorm2d(c),
            nn.ReLU(),
            nn.Conv2d(c, c2, 3, 2, 1), nn.InstanceNorm2d(c2), nn.ReLU(),  # 14
            *(ResidualBlock(c2) for _ in range(blocks)),
            nn.ConvTranspose2d(c2, c, 3, 2, 1, output_padding=1),  # 28
            nn.InstanceNorm2d(c), nn.ReLU(),
            nn.ReflectionPad2d(3), nn.Conv2d(c, 1, 7), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """1 x 28 x 28 -> 6 x 6 patch scores (no sigmoid: least squares)."""

    def __init__(self, channels: int):
        super().__init__()
        c, c2 = channels, 2 * channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),  # 14
            nn.Conv2d(c, c2, 4, 2, 1), nn.InstanceNorm2d(c2), nn.LeakyReLU(0.2),  # 7
            nn.Conv2d(c2, 1, 2, 1))  # 6 x 6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# --- the model ------------------------------------------------------------------
class CycleGAN(L.LightningModule):
    """G (MNIST -> digits), F (digits -> MNIST), D_Y, D_X; manual optimization:
    per batch one generator step (G and F together), then one discriminator
    step (D_X and D_Y) on the same, detached fakes. Batches are
    `(x, y_x, y, y_y)` with images in [0, 1]; the labels are never read."""

    def __init__(self, config: CycleGANModelConfig):
        super().__init__()
        self.config = config
        self.automatic_optimization = False
        self.g = ResnetGenerator(config.channels, config.residual_blocks)
        self.f = ResnetGenerator(config.channels, config.residual_blocks)
        self.d_y = PatchDiscriminator(config.channels)
        self.d_x = PatchDiscriminator(config.channels)

    def translate(self, images: torch.Tensor, to: str) -> torch.Tensor:
        """Images in [0, 1] translated `to` "digits" (by G) or "mnist" (by F)."""
        net = self.g if to == "digits" else self.f
        return (net(2 * images - 1) + 1) / 2

    def g_terms(self, x: torch.Tensor, y: torch.Tensor
                ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        fake_y, fake_x = self.g(x), self.f(y)
        adversarial = lsgan_g_loss(self.d_y(fake_y)) + lsgan_g_loss(self.d_x(fake_x))
        cycle = cycle_loss(self.g, self.f, x, y, fake_y, fake_x) \
            if self.config.cycle_weight else torch.zeros((), device=x.device)
        identity = identity_loss(self.g, self.f, x, y) \
            if self.config.identity_weight else torch.zeros((), device=x.device)
        loss = adversarial + self.config.cycle_weight * cycle \
            + self.config.identity_weight * identity
        return ({"g_loss": loss, "g_adversarial": adversarial, "cycle": cycle,
                 "identity": identity}, fake_x, fake_y)

    def d_terms(self, x, y, fake_x, fake_y) -> dict[str, torch.Tensor]:
        d_y = lsgan_d_loss(self.d_y(y), self.d_y(fake_y))
        d_x = lsgan_d_loss(self.d_x(x), self.d_x(fake_x))
        return {"d_loss": d_x + d_y, "d_x_loss": d_x, "d_y_loss": d_y}

    def training_step(self, batch, batch_idx):
        x, _, y, _ = batch
        x, y = 2 * x - 1, 2 * y - 1
        opt_g, opt_d = self.optimizers()
        self.toggle_optimizer(opt_g)  # no gradient into D_X, D_Y
        terms, fake_x, fake_y = self.g_terms(x, y)
        opt_g.zero_grad()
        self.manual_backward(terms["g_loss"])
        opt_g.step()
        self.untoggle_optimizer(opt_g)
        self.toggle_optimizer(opt_d)
        d_terms = self.d_terms(x, y, fake_x.detach(), fake_y.detach())
        opt_d.zero_grad()
        self.manual_backward(d_terms["d_loss"])
        opt_d.step()
        self.untoggle_optimizer(opt_d)
        terms = {k: v.detach() for k, v in (terms | d_terms).items()}
        for name, value in terms.items():
            self.log(f"train_{name}", value, on_step=True, on_epoch=True,
                     prog_bar=name in ("g_loss", "d_loss"))
        return terms

    def configure_optimizers(self):
        # Adam(2e-4, β1 = 0.5), as in the paper (without its linear decay).
        betas = (self.config.beta1, 0.999)
        generators = [*self.g.parameters(), *self.f.parameters()]
        discriminators = [*self.d_x.parameters(), *self.d_y.parameters()]
        return [torch.optim.Adam(generators, lr=self.config.lr, betas=betas),
                torch.optim.Adam(discriminators, lr=self.config.lr, betas=betas)]


@torch.no_grad()
def translate_all(model: CycleGAN, images: torch.Tensor, to: str,
                  batch_size: int) -> torch.Tensor:
    return torch.cat([model.translate(chunk, to) for chunk in images.split(batch_size)])
