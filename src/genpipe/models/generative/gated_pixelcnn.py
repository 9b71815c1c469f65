"""Gated PixelCNN (van den Oord et al., 2016b, "Conditional Image Generation
with PixelCNN Decoders"): vertical and horizontal stacks (no blind spot), gated
units tanh ⊙ σ, residual horizontal stack. Shares the likelihoods, training and
sampling of `pixelcnn` (`_autoregressive`), so the two compare side by side.

Sampling uses the split of the two stacks: the vertical stack at row i sees
only the rows above, so it runs once per row, and each of the row's pixels
then needs the horizontal stack alone, on the pixels left of it (exact; the
same conditionals as the full network, about 20x less work per pixel).
"""

import torch

from genpipe.models.generative._autoregressive import (
    AutoregressiveModel,
    Config,
    GatedPixelCNNNet,
)


class GatedPixelCNN(AutoregressiveModel):
    Config = Config
    Net = GatedPixelCNNNet

    def _row_logits(self, rows):
        # In fp32 whatever the sampling precision: bf16 autocast makes these
        # one-row convolutions ~3x slower on CPU (casts outweigh the math).
        with torch.autocast(rows.device.type, enabled=False):
            context = self.net.row_context(2 * rows - 1)
            for j in range(rows.shape[-1]):
                features = self.net.row_forward(2 * rows[:, :, -1:, :j + 1] - 1,
                                                context)
                yield self.head(features[..., -1:])[:, :, 0, 0]


MODEL = GatedPixelCNN
