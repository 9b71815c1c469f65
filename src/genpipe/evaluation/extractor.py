"""Feature extractors for FID / IS: the project's MNIST classifier, or Inception.

Inception-v3 weights cannot be had offline, so the default feature space is the
penultimate layer of the MNIST classifier genpipe trains (`evaluator`
pipeline), and its softmax stands in for Inception's class posterior. A user
with local weights can select the classic extractor instead: the TorchScript
Inception of StyleGAN2-ADA / clean-fid (`inception-2015-12-05.pt`), which needs
no torchvision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genpipe.config import (
    EvaluationConfig,
    EvaluatorConfig,
    ExtractorConfig,
    MnistClassifierConfig,
)
from genpipe.models.mnist_classifier import MnistClassifier
from genpipe.training.device import torch_device


def weights_checksum(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


@dataclass
class Features:
    """What a metric needs of a set of images."""

    features: np.ndarray  # N x D, for FID and precision/recall
    probs: np.ndarray  # N x K class posterior, for IS and the class histogram


class FeatureExtractor:
    """Maps images (N x 1 x 28 x 28 in [0, 1]) to `Features`; knows its checksum."""

    checksum: str

    def __init__(self, network: torch.nn.Module, checksum: str, device: torch.device):
        self.network = network.to(device).eval()
        self.checksum, self.device = checksum, device

    def _forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int = 500) -> Features:
        features, probs = [], []
        for batch in images.split(batch_size):
            feats, prob = self._forward(batch.to(self.device, torch.float32))
            features.append(feats.float().cpu())
            probs.append(prob.double().cpu())
        return Features(torch.cat(features).numpy(), torch.cat(probs).numpy())


class ClassifierExtractor(FeatureExtractor):
    """The MNIST classifier: 128-d penultimate features, softmax over digits."""

    def _forward(self, batch):
        features = self.network.features(batch)
        return features, self.network.head(features).softmax(dim=1)


class InceptionExtractor(FeatureExtractor):
    """TorchScript Inception-v3 (2048-d pool features, 1008-way softmax).

    Called as in StyleGAN2-ADA's metrics: uint8 RGB NCHW in, resized inside;
    the class probabilities without the output layer's bias (`no_output_bias`,
    as its Inception Score matches the original implementation).
    """

    def _forward(self, batch):
        rgb = (batch * 255).round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1)
        return (self.network(rgb, return_features=True),
                self.network(rgb, no_output_bias=True))


def build_extractor(config: ExtractorConfig, evaluator_weights: dict[str, torch.Tensor],
                    evaluator_config: MnistClassifierConfig,
                    device: torch.device) -> FeatureExtractor:
    """The extractor the `evaluation.extractor` parameters ask for."""
    if config.kind == "inception_torchscript":
        path = Path(config.weights_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"parameters.evaluation.extractor.weights_path: {path} does not exist. "
                "Point it at a local TorchScript Inception-v3 "
                "(inception-2015-12-05.pt of StyleGAN2-ADA / clean-fid), or use "
                "kind: mnist_classifier (the default, needs no download).")
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        # Not a DVC output but a file the user names here (and whose sha256 is
        # recorded): TorchScript runs its own compiled graph, so it is trusted
        # like code, unlike every file the catalog loads (`genpipe.io`).
        return InceptionExtractor(torch.jit.load(str(path), map_location="cpu"),
                                  checksum, device)
    network = MnistClassifier(evaluator_config)
    network.load_state_dict(evaluator_weights)
    return ClassifierExtractor(network, weights_checksum(evaluator_weights), device)


def evaluator_extractor(weights: dict[str, torch.Tensor], evaluator: dict,
                        config: EvaluationConfig, device: str) -> FeatureExtractor:
    """The extractor `evaluation.extractor` asks for, from the evaluator's
    weights and its `evaluator` parameters block (features and class posterior)."""
    model_config = EvaluatorConfig.model_validate(evaluator).model
    return build_extractor(config.extractor, weights, model_config,
                           torch_device(device))
