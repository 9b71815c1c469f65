"""Autoregressive image models: PixelCNN (van den Oord et al., 2016a) and
Gated PixelCNN (van den Oord et al., 2016b), shared by the `pixelcnn` and
`gated_pixelcnn` families.

The chain rule orders the 784 pixels row by row (raster order):

    p(x) = Π_i p(x_i | x_<i),

and one network computes every conditional at once, in parallel, because each
output position sees only earlier pixels:

* PixelCNN: convolutions whose kernels are masked (mask A on the first layer
  hides the centre pixel itself, mask B on later layers lets a position see
  its own features, which already depend only on earlier pixels), inside the
  paper's residual blocks (1x1 -> 3x3 masked -> 1x1). Stacked masked 3x3
  kernels leave a *blind spot*: the pixels up and to the right of the current
  one fall out of the receptive field.
* Gated PixelCNN: a vertical stack (everything strictly above the current row)
  and a horizontal stack (the current row, left of the pixel) with the vertical
  stack fed into the horizontal one, so no earlier pixel is blind; gated units
  y = tanh(W_f * x) ⊙ σ(W_g * x) instead of ReLUs; residual connections on the
  horizontal stack.

Outputs per pixel: one Bernoulli logit (binarized MNIST; NLL in nats per image,
81.30 for the paper's PixelCNN) or a 256-way softmax over the 8-bit intensities
(NLL in bits per dimension). Both are exact, discrete likelihoods.

Sampling is sequential, 784 network evaluations per image: the slow corner of
the course's trilemma. Row i's conditionals depend only on rows <= i, so the
network runs on the image cropped to the rows its receptive field reaches
(exact: `receptive_rows` above the current one).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn
from tqdm.auto import tqdm

from genpipe.config import GenerativeDataConfig, ModelConfig
from genpipe.models.generative._base import GenerativeModel, pixels_match
from genpipe.models.generative._dequantize import bits_per_dim
from genpipe.models.generative._nets import PIXELS

LEVELS = 256  # intensities of 8-bit MNIST


class Config(ModelConfig):
    # bernoulli: binarized MNIST (data.binarize true), nats per image;
    # categorical: 256-way softmax on 8-bit MNIST (data.binarize false).
    output: Literal["bernoulli", "categorical"] = "bernoulli"
    channels: int = Field(64, ge=1)  # h (PixelCNN's residual streams carry 2h)
    layers: int = Field(6, ge=1)  # residual blocks / gated layers after the first
    first_kernel: int = Field(7, ge=3)  # the first (mask A) layer, odd
    kernel: int = Field(3, ge=3)  # later layers, odd
    head_channels: int = Field(128, ge=1)  # the 1x1 output network's width

    @field_validator("first_kernel", "kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("must be odd (the kernel has a centre pixel)")
        return value


# --- PixelCNN ---------------------------------------------------------------------
def causal_mask(kernel: int, mask_type: Literal["A", "B"]) -> torch.Tensor:
    """k x k mask of the kernel taps a raster-order model may use.

    Rows above the centre are open; in the centre row the taps left of the
    centre, and the centre itself for mask B (not for mask A).
    """
    mask = torch.zeros(kernel, kernel)
    centre = kernel // 2
    mask[:centre] = 1
    mask[centre, :centre + (mask_type == "B")] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 'same' convolution whose kernel is multiplied by a causal mask."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int,
                 mask_type: Literal["A", "B"]):
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2)
        self.register_buffer("mask", causal_mask(kernel, mask_type), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class ResidualBlock(nn.Module):
    """PixelCNN's residual block (van den Oord et al., 2016a, Fig. 5):
    2h -> ReLU, 1x1 -> h -> ReLU, k x k mask B -> h -> ReLU, 1x1 -> 2h, + input."""

    def __init__(self, h: int, kernel: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(), nn.Conv2d(2 * h, h, 1),
            nn.ReLU(), MaskedConv2d(h, h, kernel, "B"),
            nn.ReLU(), nn.Conv2d(h, 2 * h, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PixelCNNNet(nn.Module):
    """Mask A 'first_kernel' convolution, residual blocks: 2h features per pixel."""

    def __init__(self, config: Config):
        super().__init__()
        h = config.channels
        self.first = MaskedConv2d(1, 2 * h, config.first_kernel, "A")
        self.blocks = nn.Sequential(*[ResidualBlock(h, config.kernel)
                                      for _ in range(config.layers)])
        self.out_channels = 2 * h
        # How many rows above its own an output position sees.
        self.receptive_rows = config.first_kernel // 2 + config.layers * (
            config.kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(self.first(x)))


# --- Gated PixelCNN -----------------------------------------------------------------
def shift_down(x: torch.Tensor) -> torch.Tensor:
    """Row i takes row i - 1 (zeros enter at the top)."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def shift_right(x: torch.Tensor) -> torch.Tensor:
    """Column j takes column j - 1 (zeros enter at the left)."""
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


def gate(x: torch.Tensor) -> torch.Tensor:
    """y = tanh(a) ⊙ σ(b) for the two halves (a, b) of the channels."""
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated layer of both stacks (van den Oord et al., 2016b, Fig. 2).

    The vertical stack convolves a (k//2 + 1) x k window ending at the current
    row; the horizontal one a 1 x (k//2 + 1) window ending at the current
    column. In the first layer both results are shifted (down, right) so that
    a position sees strictly earlier pixels; every later vertical feature at
    row i then depends only on rows < i, every horizontal one only on pixels
    before (i, j), and the vertical stack feeds the horizontal one through a
    1x1 convolution: nothing above, left or up-right is blind.
    """

    def __init__(self, in_channels: int, h: int, kernel: int, first: bool):
        super().__init__()
        self.kernel, self.first = kernel, first
        half = kernel // 2
        self.vertical = nn.Conv2d(in_channels, 2 * h, (half + 1, kernel))
        self.horizontal = nn.Conv2d(in_channels, 2 * h, (1, half + 1))
        self.vertical_to_horizontal = nn.Conv2d(2 * h, 2 * h, 1)
        self.horizontal_out = nn.Conv2d(h, h, 1)

    def vertical_features(self, v: torch.Tensor) -> torch.Tensor:
        """The vertical stack's pre-gate features: row i sees rows < i of the
        image (the first layer's shift; later layers keep it)."""
        half = self.kernel // 2
        features = self.vertical(F.pad(v, (half, half, half, 0)))
        return shift_down(features) if self.first else features

    def horizontal_step(self, h: torch.Tensor, from_vertical: torch.Tensor
                        ) -> torch.Tensor:
        """The horizontal stack's output given its input `h` and the vertical
        stack's contribution `vertical_to_horizontal(vertical_features)`."""
        features = self.horizontal(F.pad(h, (self.kernel // 2, 0, 0, 0)))
        if self.first:  # mask A: the pixel itself is not yet known
            features = shift_right(features)
        out = self.horizontal_out(gate(features + from_vertical))
        return out if self.first else h + out

    def forward(self, v: torch.Tensor, h: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        v_features = self.vertical_features(v)
        return gate(v_features), self.horizontal_step(
            h, self.vertical_to_horizontal(v_features))


class GatedPixelCNNNet(nn.Module):
    """A first gated layer (kernel `first_kernel`) and `layers` more (`kernel`);
    the horizontal stack's h features per pixel. `in_channels`: features per
    input position (1 for a pixel; an embedding's size for discrete codes)."""

    def __init__(self, config: Config, in_channels: int = 1):
        super().__init__()
        h = config.channels
        self.layers = nn.ModuleList(
            [GatedLayer(in_channels, h, config.first_kernel, first=True)]
            + [GatedLayer(h, h, config.kernel, first=False)
               for _ in range(config.layers)])
        self.out_channels = h
        # Rows above its own an output position sees (the first layer's shift
        # adds one).
        self.receptive_rows = config.first_kernel // 2 + 1 + config.layers * (
            config.kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h)
        return F.relu(h)

    def row_context(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per layer, the vertical stack's input to the horizontal one at the
        last row of `x` (N x 2h x 1 x W). It depends on the rows above only, so
        one pass serves all W pixels of the row."""
        context, v = [], x
        for layer in self.layers:
            features = layer.vertical_features(v)
            context.append(layer.vertical_to_horizontal(features[:, :, -1:]))
            v = gate(features)
        return context

    def row_forward(self, row: torch.Tensor, context: list[torch.Tensor]
                    ) -> torch.Tensor:
        """`forward`'s output on one row (N x 1 x 1 x w, the first w pixels)
        given `row_context` of the rows above: the horizontal stack alone."""
        h = row
        for layer, from_vertical in zip(self.layers, context, strict=True):
            h = layer.horizontal_step(h, from_vertical[..., :row.shape[-1]])
        return F.relu(h)


# --- the family -----------------------------------------------------------------------
class AutoregressiveModel(GenerativeModel):
    """A PixelCNN-type model of p(x) = Π p(x_i | x_<i); subclasses set `Net`."""

    Config = Config
    Net: type[nn.Module] = PixelCNNNet
    reconstructs = False
    group = "autoregressive"
    samples = True

    def __init__(self, config: Config):
        super().__init__(config)
        self.net = self.Net(config)
        outputs = 1 if config.output == "bernoulli" else LEVELS
        # The output network: 1x1 convolutions, causal by construction.
        self.head = nn.Sequential(
            nn.Conv2d(self.net.out_channels, config.head_channels, 1), nn.ReLU(),
            nn.Conv2d(config.head_channels, outputs, 1))

    @classmethod
    def check_data(cls, config: Config, data: GenerativeDataConfig) -> dict[str, str]:
        return pixels_match(data, "output", config.output,
                            config.output == "bernoulli", "the 256-way softmax")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W: the conditionals' logits (C = 1 or 256) given `x` in
        [0, 1]; position (i, j) depends on the pixels before it only."""
        return self.head(self.net(2 * x - 1))

    def pixel_nll(self, x: torch.Tensor) -> torch.Tensor:
        """−log p(x_i | x_<i) in nats, N x H x W."""
        logits = self.logits(x)
        if self.config.output == "bernoulli":
            return F.binary_cross_entropy_with_logits(logits[:, 0], x[:, 0],
                                                      reduction="none")
        target = (x[:, 0] * (LEVELS - 1)).round().long()
        return F.cross_entropy(logits, target, reduction="none")

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """−log p(x) in nats per image (exact: the sum of the conditionals)."""
        return self.pixel_nll(x).flatten(1).sum(1)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        nll = self.nll(x).mean()
        # Minimised per dimension (a learning rate that does not scale with D).
        return {"loss": nll / PIXELS, "nll": nll.detach(),
                "bits_per_dim": (nll / (PIXELS * math.log(2))).detach()}

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """Exact test NLL: nats per image and bits per dimension."""
        nll = torch.cat([self.nll(chunk) for chunk in x.split(batch_size)])
        mean = nll.double().mean().item()
        return {"test_nll": mean, "test_bits_per_dim": bits_per_dim(mean, PIXELS)}

    @torch.no_grad()
    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """Ancestral sampling, pixel by pixel in raster order (784 conditionals
        per image)."""
        x = torch.zeros(n, 1, 28, 28, device=self.device)
        with tqdm(total=PIXELS, desc=f"sampling {n} images", unit="px",
                  leave=False, disable=None) as bar:
            for i in range(28):
                # Row i's conditionals see rows i − R .. i only: crop to them.
                rows = x[:, :, max(0, i - self.net.receptive_rows):i + 1]
                for j, logits in enumerate(self._row_logits(rows)):
                    if self.config.output == "bernoulli":
                        x[:, 0, i, j] = torch.bernoulli(torch.sigmoid(logits[:, 0]))
                    else:
                        level = torch.multinomial(logits.float().softmax(1), 1)[:, 0]
                        x[:, 0, i, j] = level.to(x.dtype) / (LEVELS - 1)
                    bar.update()
        return x

    def _row_logits(self, rows: torch.Tensor):
        """Yields the logits (N x C) of the last row's pixels, left to right,
        each computed after the caller has filled the pixels before it (`rows`
        is a view of the image being sampled): one network pass per pixel."""
        for j in range(rows.shape[-1]):
            yield self.logits(rows)[:, :, -1, j]

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        return {"nfe_per_image": float(PIXELS)}
