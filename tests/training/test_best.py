"""Best-epoch selection (`BestWeights`): the score order, and the selection
surviving a checkpoint as a resumed run loads it."""

import io

import torch

from genpipe.config import TabularMLPConfig
from genpipe.models.tabular_mlp import TabularMLP


def _model() -> TabularMLP:
    torch.manual_seed(0)
    return TabularMLP(TabularMLPConfig(hidden=(4,)), num_features=3)


def _set_weights(model, value: float) -> None:
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(value)


def test_higher_scores_win_lexicographically_and_ties_keep_the_earlier_epoch():
    model = _model()
    kept = []
    for value, score in ((1.0, (0.8, -0.5)), (2.0, (0.8, -0.4)), (3.0, (0.8, -0.4)),
                         (4.0, (0.7, -0.1))):
        _set_weights(model, value)
        model.keep_if_best(score)
        kept.append(model.best_score)
    assert kept == [(0.8, -0.5), (0.8, -0.4), (0.8, -0.4), (0.8, -0.4)]
    _set_weights(model, 0.0)
    model.restore_best()
    assert all((p == 2.0).all() for p in model.parameters())  # the first (0.8, -0.4)
    assert all(v.device.type == "cpu" for v in model.best_state.values())


def test_the_selection_survives_a_weights_only_checkpoint():
    model = _model()
    _set_weights(model, 5.0)
    model.keep_if_best((-0.3,))
    checkpoint: dict = {}
    model.on_save_checkpoint(checkpoint)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    fresh = _model()
    fresh.on_load_checkpoint(torch.load(buffer, weights_only=True))
    assert (fresh.best_score, fresh.best_epoch) == ((-0.3,), model.best_epoch)
    fresh.keep_if_best((-0.4,))  # worse than the loaded best: ignored
    fresh.restore_best()
    assert all((p == 5.0).all() for p in fresh.parameters())
