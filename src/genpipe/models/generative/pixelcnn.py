"""PixelCNN (van den Oord et al., 2016a, "Pixel Recurrent Neural Networks"):
masked convolutions (mask A, then mask B) in residual blocks; exact likelihood,
sequential sampling. The network and the likelihoods are in `_autoregressive`.
"""

from genpipe.models.generative._autoregressive import (
    AutoregressiveModel,
    Config,
    PixelCNNNet,
)


class PixelCNN(AutoregressiveModel):
    Config = Config
    Net = PixelCNNNet


MODEL = PixelCNN
