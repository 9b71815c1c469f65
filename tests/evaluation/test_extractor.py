import numpy as np
import pytest
import torch

from genpipe.config import ExtractorConfig, MnistClassifierConfig
from genpipe.evaluation.extractor import build_extractor, weights_checksum
from genpipe.models.mnist_classifier import MnistClassifier

CONFIG = MnistClassifierConfig(channels=(4, 8), feature_dim=16)


def test_checksum_follows_the_weights():
    torch.manual_seed(0)
    weights = MnistClassifier(CONFIG).state_dict()
    same = {k: v.clone() for k, v in weights.items()}
    assert weights_checksum(weights) == weights_checksum(same)
    same["head.1.bias"][0] += 1e-6
    assert weights_checksum(weights) != weights_checksum(same)


def test_classifier_extractor_features_and_probabilities():
    weights = MnistClassifier(CONFIG).state_dict()
    extractor = build_extractor(ExtractorConfig(), weights, CONFIG, torch.device("cpu"))
    out = extractor(torch.rand(7, 1, 28, 28), batch_size=3)
    assert out.features.shape == (7, 16) and out.probs.shape == (7, 10)
    assert out.probs.sum(1) == pytest.approx([1.0] * 7)
    assert extractor.checksum == weights_checksum(weights)


def test_inception_needs_a_weights_path():
    with pytest.raises(ValueError, match="needs weights_path"):
        ExtractorConfig(kind="inception_torchscript")


def test_missing_inception_weights_is_a_clear_error(tmp_path):
    config = ExtractorConfig(kind="inception_torchscript",
                             weights_path=str(tmp_path / "inception.pt"))
    with pytest.raises(FileNotFoundError, match="weights_path: .*inception.pt"):
        build_extractor(config, {}, CONFIG, torch.device("cpu"))


class _FakeInception(torch.nn.Module):
    """The calling convention of StyleGAN2-ADA's TorchScript Inception."""

    def forward(self, x: torch.Tensor, return_features: bool = False,
                no_output_bias: bool = False) -> torch.Tensor:
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        pooled = x.float().mean(dim=(2, 3))
        if return_features:
            return pooled.repeat(1, 4)
        bias = torch.zeros(3) if no_output_bias else torch.tensor([9.0, 0.0, 0.0])
        return (pooled + bias).softmax(dim=1)


def test_inception_torchscript_extractor(tmp_path):
    path = tmp_path / "inception.pt"
    torch.jit.script(_FakeInception()).save(str(path))
    config = ExtractorConfig(kind="inception_torchscript", weights_path=str(path))
    extractor = build_extractor(config, {}, CONFIG, torch.device("cpu"))
    images = torch.rand(5, 1, 28, 28)
    out = extractor(images)
    assert out.features.shape == (5, 12) and out.probs.shape == (5, 3)
    # Class probabilities without the output layer's bias, as StyleGAN2-ADA's
    # Inception Score computes them (its pooled gray inputs: uniform softmax).
    np.testing.assert_allclose(out.probs, np.full((5, 3), 1 / 3), rtol=1e-6)
    assert len(extractor.checksum) == 64
