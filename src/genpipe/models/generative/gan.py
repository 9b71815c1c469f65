"""GAN (Goodfellow et al., 2014) with DCGAN-style networks (Radford et al., 2016).

D maximises V(D, G) = E[log D(x)] + E[log(1 − D(G(z)))]; G minimises either the
game's own loss, E[log(1 − D(G(z)))] (`minimax`, which saturates when D wins),
or the non-saturating −E[log D(G(z))] (`non_saturating`, the paper's fix). D
takes `d_steps` = k steps per G step (Algorithm 1). The losses are in
`genpipe.models.generative._gan`, written on logits with softplus.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from genpipe.models.generative._gan import GANConfig, MinimaxGAN


class Config(GANConfig):
    generator_loss: Literal["minimax", "non_saturating"] = "non_saturating"
    beta1: float = Field(0.5, ge=0, lt=1)  # Adam β1 (DCGAN: 0.5)


class GAN(MinimaxGAN):
    Config = Config
    curves = ("d_loss", "g_loss", "d_fake")


MODEL = GAN
