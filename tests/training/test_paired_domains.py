"""Two domains' training rows side by side (`paired_domains`)."""

import torch

from genpipe.training.data import paired_domains


def test_paired_repeats_the_target_in_seeded_orders():
    source = (torch.arange(10.0), torch.arange(10))
    target = (torch.arange(4.0) + 100, torch.arange(4))
    rows = paired_domains(source, target, seed=0)
    assert [len(r) for r in rows] == [10, 10, 10, 10]
    assert sorted(rows[2][:4].tolist()) == [100, 101, 102, 103]  # a permutation
    assert torch.equal(rows[3], (rows[2] - 100).long())  # labels follow images
    again = paired_domains(source, target, 0)
    assert all(torch.equal(a, b) for a, b in zip(rows, again, strict=True))
