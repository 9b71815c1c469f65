import numpy as np
import pytest
import torch

from genpipe.config import ExtractorConfig, MnistClassifierConfig, ProtocolConfig
from genpipe.evaluation import scoring
from genpipe.evaluation.extractor import build_extractor
from genpipe.models.mnist_classifier import MnistClassifier

CONFIG = MnistClassifierConfig(channels=(4, 8), feature_dim=16)


@pytest.fixture
def extractor():
    torch.manual_seed(0)
    weights = MnistClassifier(CONFIG).state_dict()
    return build_extractor(ExtractorConfig(), weights, CONFIG, torch.device("cpu"))


def test_as_images_accepts_the_usual_forms():
    uint8 = np.full((3, 28, 28), 255, np.uint8)
    for samples in (uint8, {"images": uint8}, torch.ones(3, 1, 28, 28)):
        images = scoring.as_images(samples)
        assert images.shape == (3, 1, 28, 28) and images.max() == 1.0
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        scoring.as_images(torch.full((2, 1, 28, 28), 2.0))
    with pytest.raises(ValueError, match="N x 1 x H x W"):
        scoring.as_images(torch.zeros(2, 3, 28, 28))


PROTOCOL = ProtocolConfig(num_samples=200, kid_subsets=10, kid_subset_size=100,
                          is_split_size=50, fid_bootstrap=3)


def test_real_images_against_their_own_statistics(extractor):
    images = torch.rand(200, 1, 28, 28)
    reference = scoring.reference_statistics(extractor, images, batch_size=64)
    metrics = scoring.score(extractor, images, {"": reference}, PROTOCOL,
                            batch_size=64, k=3, seed=0)
    assert metrics["fid"] == pytest.approx(0, abs=1e-4)
    assert metrics["precision"] == 1.0 and metrics["recall"] == 1.0
    assert metrics["num_samples"] == 200
    assert metrics["inception_score_splits"] == 4  # 200 // 50
    assert metrics["fid_std"] > 0 and metrics["kid_std"] > 0
    assert abs(metrics["kid"]) < 3 * metrics["kid_std"]
    assert 0 <= metrics["class_entropy"] <= np.log(10) + 1e-9


def test_each_reference_gets_its_suffix(extractor):
    images = torch.rand(200, 1, 28, 28)
    reference = scoring.reference_statistics(extractor, images, batch_size=64)
    binary = scoring.reference_statistics(extractor, (images > 0.5).float(), 64)
    metrics = scoring.score(extractor, images, {"": reference, "_binarized": binary},
                            PROTOCOL, batch_size=64, k=3, seed=0)
    assert metrics["fid_binarized"] > metrics["fid"]  # these are not binary images
    assert {"kid_binarized", "kid_std_binarized", "precision_binarized",
            "recall_binarized", "fid_std_binarized"} <= set(metrics)


def test_a_sample_count_off_the_protocol_is_refused(extractor):
    images = torch.rand(150, 1, 28, 28)
    reference = scoring.reference_statistics(extractor, images, batch_size=64)
    with pytest.raises(ValueError, match="protocol scores exactly 200"):
        scoring.score(extractor, images, {"": reference}, PROTOCOL, batch_size=64,
                      k=3, seed=0)


def test_stale_reference_statistics_are_refused(extractor):
    images = torch.rand(200, 1, 28, 28)
    reference = scoring.reference_statistics(extractor, images, batch_size=64)
    reference["evaluator_sha256"] = np.array("0" * 64)
    with pytest.raises(ValueError, match="recompute them"):
        scoring.score(extractor, images, {"": reference}, PROTOCOL, batch_size=64,
                      k=3, seed=0)
