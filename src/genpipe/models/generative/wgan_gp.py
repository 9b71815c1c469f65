"""WGAN-GP (Gulrajani et al., 2017): the WGAN critic made 1-Lipschitz by a
penalty instead of clipping,

    L_D = E[f(G(z))] − E[f(x)] + λ E[(‖∇_x̂ f(x̂)‖₂ − 1)²],
    x̂ = ε x + (1 − ε) G(z),  ε ~ U[0, 1],

λ = 10, n_critic = 5, Adam(lr 1e-4, β = (0, 0.9)), and no batch norm in the
critic (the penalty is per sample; layer norm instead), as in Algorithm 1.
"""

from __future__ import annotations

from pydantic import Field

from genpipe.models.generative._gan import GANConfig, with_gradient_penalty
from genpipe.models.generative.wgan import WassersteinGAN


class Config(GANConfig):
    gp_weight: float = Field(10.0, ge=0)  # λ
    d_steps: int = Field(5, ge=1)  # n_critic
    lr: float = Field(1e-4, gt=0, le=1)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.9, ge=0, lt=1)


class WGANGP(WassersteinGAN):
    Config = Config
    norm = "layer"

    def d_terms(self, real, fake, y, train=True):
        terms = super().d_terms(real, fake, y)
        if train:
            terms = with_gradient_penalty(terms, lambda v: self.critic(v, y), real,
                                          fake, self.config.gp_weight)
        return terms

    def configure_optimizers(self):
        betas = (self.config.beta1, self.config.beta2)
        return [self._adam(self.discriminator.parameters(), betas),
                self._adam(self.generator.parameters(), betas)]


MODEL = WGANGP
