"""Gated PixelCNN (van den Oord et al., 2016b, "Conditional Image Generation
with PixelCNN Decoders"): vertical and horizontal stacks (no blind spot), gated
units tanh ⊙ σ, residual horizontal stack. Shares the likelihoods, training and
sampling of `pixelcnn` (`_autoregressive`), so the two compare side by side.
"""

from genpipe.models.generative._autoregressive import (
    AutoregressiveModel,
    Config,
    GatedPixelCNNNet,
)


class GatedPixelCNN(AutoregressiveModel):
    Config = Config
    Net = GatedPixelCNNNet


MODEL = GatedPixelCNN
