import io

import numpy as np
import torch

from genpipe.models.mnist_classifier import (
    MnistClassifier,
    MnistClassifierConfig,
    predict,
    random_shift,
    to_tensors,
)

CONFIG = MnistClassifierConfig(channels=(4, 8), feature_dim=16)


def _batch(n: int = 6):
    return torch.rand(n, 1, 28, 28), torch.arange(n) % 10


def test_shapes_of_logits_and_features():
    model = MnistClassifier(CONFIG).eval()
    x, _ = _batch()
    assert model(x).shape == (6, 10)
    assert model.features(x).shape == (6, 16)
    logits, features = predict(model, x, batch_size=4)
    assert logits.shape == (6, 10) and features.shape == (6, 16)
    assert torch.allclose(logits, model(x), atol=1e-6)


def test_one_training_step_changes_the_weights():
    torch.manual_seed(0)
    model = MnistClassifier(CONFIG)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(_batch()[0]), _batch()[1])
    loss.backward()
    optimizer.step()
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_state_dict_round_trip():
    model = MnistClassifier(CONFIG).eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = MnistClassifier(CONFIG).eval()
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    x, _ = _batch()
    assert torch.equal(model(x), clone(x))


def test_random_shift_translates_without_changing_content():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0  # a centred square: no pixel leaves the frame
    shifted = random_shift(x, 2)
    assert shifted.shape == x.shape
    assert torch.equal(shifted.sum((1, 2, 3)), x.sum((1, 2, 3)))
    assert not torch.equal(shifted, x)
    rows = shifted[:, 0].sum(2).argmax(1)  # first row of the square
    assert set(rows.tolist()) <= set(range(8, 13))
    assert torch.equal(random_shift(x, 0), x)


def test_to_tensors_scales_to_unit_interval():
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, 0, 0] = 255
    x, y = to_tensors({"images": images, "labels": np.array([3], np.uint8)})
    assert x.shape == (1, 1, 28, 28) and x.max() == 1.0 and x.min() == 0.0
    assert y.dtype == torch.long and y.item() == 3
