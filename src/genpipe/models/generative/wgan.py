"""WGAN (Arjovsky, Chintala & Bottou, 2017): a critic f without sigmoid
estimates W(P_r, P_g) = sup_{‖f‖_L ≤ K} E_r[f] − E_g[f] (Kantorovich–Rubinstein);
every critic weight is clipped into [−c, c] after each step (which bounds K),
n_critic = 5 critic steps per G step, RMSProp (lr 5e-5), as in Algorithm 1.

Unlike the JS-based GAN losses, the logged `wasserstein` estimate
E[f(x)] − E[f(G(z))] should fall as the samples improve.
"""

from __future__ import annotations

import torch
from pydantic import Field

from genpipe.models.generative._gan import (
    AdversarialModel,
    GANConfig,
    clip_weights,
    critic_loss,
    wasserstein_estimate,
    wasserstein_generator_loss,
)


class Config(GANConfig):
    clip: float = Field(0.01, gt=0)  # c
    d_steps: int = Field(5, ge=1)  # n_critic
    lr: float = Field(5e-5, gt=0, le=1)


class WassersteinGAN(AdversarialModel):
    """The critic/generator terms shared by WGAN and WGAN-GP."""

    curves = ("d_loss", "g_loss", "wasserstein")

    def d_terms(self, real, fake, y, train=True):
        real_scores, fake_scores = self.critic(real, y), self.critic(fake, y)
        return {"d_loss": critic_loss(real_scores, fake_scores),
                "wasserstein": wasserstein_estimate(real_scores, fake_scores)}

    def g_terms(self, fake, y):
        return {"g_loss": wasserstein_generator_loss(self.critic(fake, y))}


class WGAN(WassersteinGAN):
    Config = Config
    # No normalization (the paper's DCGAN critic had batch norm): dividing by
    # the batch's σ would undo the clipping of the convolution before it, and
    # a sample's score would depend on its batch.
    norm = "none"

    def after_d_step(self) -> None:
        clip_weights(self.discriminator, self.config.clip)

    def on_fit_start(self) -> None:
        clip_weights(self.discriminator, self.config.clip)  # start inside the box

    def configure_optimizers(self):
        # RMSProp: the paper found momentum-based Adam unstable with clipping.
        return [torch.optim.RMSprop(params, lr=self.config.lr,
                                    weight_decay=self.config.weight_decay)
                for params in (self.discriminator.parameters(),
                               self.generator.parameters())]


MODEL = WGAN
