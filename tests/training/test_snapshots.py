"""The samples-over-training callback."""

import io

import numpy as np
import torch

from genpipe.training.snapshots import SampleSnapshots, to_uint8


def test_snapshots_survive_a_checkpoint_round_trip():
    shots = SampleSnapshots(n=4, seed=0)
    shots.images = [np.full((4, 1, 28, 28), epoch, np.uint8) for epoch in range(3)]
    restored = SampleSnapshots(n=4, seed=0)
    # Through a file as Lightning loads checkpoints: weights_only refuses numpy.
    buffer = io.BytesIO()
    torch.save(shots.state_dict(), buffer)
    buffer.seek(0)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert np.array_equal(restored.stacked(), shots.stacked())
    assert SampleSnapshots(n=4, seed=0).stacked().shape == (0, 4, 1, 28, 28)


def test_to_uint8_clamps_and_rounds():
    images = torch.tensor([-0.5, 0.0, 0.5, 1.0, 1.5])
    assert to_uint8(images).tolist() == [0, 0, 128, 255, 255]
