"""The figures of `genpipe.plots`."""

import torch

from genpipe import plots


def test_sample_grid_tiles_the_first_images():
    images = torch.zeros(7, 1, 28, 28)
    images[0] = 1.0
    figure = plots.sample_grid(images, rows=3, title="t")
    grid = figure.axes[0].images[0].get_array()
    assert grid.shape == (84, 84)
    assert grid[:28, :28].min() == 1.0 and grid[28:, :].max() == 0.0
