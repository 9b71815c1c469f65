"""Nodes of the generative template: train, evaluate, reconstruct and sample.

Every node takes the family's name (bound when the template is instantiated)
and its parameters block; the family's model comes from the registry in
`genpipe.models.generative`, and what a node returns follows the family's
abilities (`samples`, `reconstructs`, `trainable`, `figures`): the template
wires exactly those outputs.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from genpipe import plots
from genpipe.config import EvaluationConfig, FamilyBlock
from genpipe.evaluation import metrics as sample_metrics
from genpipe.evaluation.extractor import evaluator_extractor
from genpipe.models import generative
from genpipe.models.generative import GenerativeModel
from genpipe.models.mnist_classifier import to_tensors
from genpipe.training import fit, seed_everything, torch_device
from genpipe.training.data import TensorDataModule
from genpipe.training.engine import MetricHistory, fingerprint
from genpipe.training.snapshots import SampleSnapshots, to_uint8

EVAL_BATCH = 500
SNAPSHOT_ROWS = 10  # epochs shown in the samples-over-training grid


def _images(split: dict, config: FamilyBlock) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = to_tensors(split)
    return ((images > 0.5).float() if config.data.binarize else images), labels


def _built(family: str, block: FamilyBlock, first_stage_model: dict | None,
           first_stage_params: dict | None) -> GenerativeModel:
    """Family `family`'s untrained model, holding its trained first stage
    (`GenerativeModel.first_stage`) when it has one."""
    model = generative.build(family, block.model)
    if model.first_stage is None:
        return model
    if first_stage_model is None or first_stage_params is None:
        raise ValueError(f"{family} needs the trained {model.first_stage} model "
                         f"({model.first_stage}.model, params:{model.first_stage})")
    stage = generative.build(model.first_stage, FamilyBlock.model_validate(
        first_stage_params).model)
    stage.load_state_dict(first_stage_model)
    model.attach_first_stage(stage.eval())
    return model


def _trained(family: str, block: FamilyBlock, weights: dict[str, torch.Tensor],
             device: str, first_stage_model: dict | None = None,
             first_stage_params: dict | None = None) -> GenerativeModel:
    model = _built(family, block, first_stage_model, first_stage_params)
    model.load_state_dict(weights)
    return model.to(torch_device(device)).eval()


def _num_params(model: GenerativeModel) -> int:
    """Trainable parameters (an EMA copy is not counted); for families fitted
    in closed form or by EM, the size of the fitted state."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable or sum(t.numel() for t in model.state_dict().values())


def train_family(train: dict, val: dict, params: dict, seed: int, device: str,
                 first_stage_model: dict | None = None,
                 first_stage_params: dict | None = None, *, family: str) -> dict:
    """Trains `family` through the shared engine (resumable, curves to MLflow).

    Families that are not `trainable` (closed form, EM) are fitted by their
    `after_fit` alone. A family with a `first_stage` trains on what
    `training_inputs` makes of the images with that (frozen) model.

    Args:
        train, val: MNIST splits (`images`, `labels`).
        params: The family's block (`model`, `data`, `trainer`, ...).
        seed: The run's seed; device: the `device` parameter.
        first_stage_model, first_stage_params: The first stage's weights and
            block (families with a `first_stage`; part of the checkpoints'
            fingerprint, so a retrained first stage is never resumed on).
        family: The family's registered name.

    Returns:
        `model`: the weights (a state dict); `mlflow_model`: the trained model
        (MLflow's pytorch flavour); `train_metrics`: `train_seconds` (wall,
        fit and `after_fit`), `num_params`, `train_images`; `history`:
        per-epoch loss terms (trainable families); `snapshots`:
        `{"images": epochs x n x 1 x 28 x 28 uint8}` drawn after each epoch
        (trainable families that sample).
    """
    config = FamilyBlock.model_validate(params)
    generative.check_block(family, params)
    start = time.perf_counter()
    seed_everything(seed, config.trainer.deterministic)
    model = _built(family, config, first_stage_model, first_stage_params)
    train_x, train_y = _images(train, config)
    val_x, val_y = _images(val, config)
    train_x, val_x = model.training_inputs(train_x, val_x, EVAL_BATCH)
    outputs = {}
    if model.trainable:
        data = TensorDataModule((train_x, train_y), (val_x, val_y),
                                batch_size=config.data.batch_size, seed=seed,
                                num_workers=config.data.num_workers)
        history = MetricHistory()
        callbacks = [history]
        snapshots = SampleSnapshots(config.snapshot_samples, seed)
        if model.samples and config.snapshot_samples:
            callbacks.append(snapshots)
        upstream = () if first_stage_model is None else (first_stage_model,)
        fit(model, data, config.trainer, device=device, family=family,
            run_fingerprint=fingerprint(family, config, seed, train, val, *upstream),
            callbacks=callbacks)
        outputs["history"] = history.history
        if model.samples:  # no epochs drawn when snapshots are off
            outputs["snapshots"] = {"images": snapshots.stacked()}
    model.to(torch_device(device)).eval()
    model.after_fit(train_x.to(model.device), EVAL_BATCH)
    weights = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    cost = {"train_seconds": time.perf_counter() - start,
            "num_params": float(_num_params(model)),
            "train_images": float(len(train_x))}
    return {"model": weights, "mlflow_model": model.cpu(), "train_metrics": cost,
            **outputs}


def _classifier(evaluator_model: dict[str, torch.Tensor], evaluator: dict,
                evaluation: dict, device: str):
    """The evaluator's class posterior: images -> N x 10 numpy."""
    config = EvaluationConfig.model_validate(evaluation)
    extractor = evaluator_extractor(evaluator_model, evaluator, config, device)
    return lambda images: extractor(images, config.batch_size).probs


def _curves(history: list, family: str, chosen: tuple[str, ...] = ()) -> Figure:
    terms = sorted({key[len("train_"):] for row in history for key in row
                    if key.startswith("train_") and not key.endswith("_epoch")})
    rest = [term for term in terms if term != "loss"]
    shown = ("loss", *rest[:2]) if "loss" in terms else tuple(rest[:3])
    if chosen:  # the family's own choice (`GenerativeModel.curves`)
        shown = tuple(term for term in chosen if term in terms)
    return plots.curves_figure(history, f"{family}: training curves", shown)


def _training_samples(snapshots: np.ndarray, classify, family: str
                      ) -> tuple[dict[str, list], Figure]:
    """Class entropy of each epoch's snapshot (as a metric history) and the
    grid of snapshots: one row per epoch (at most `SNAPSHOT_ROWS`, evenly spread)."""
    epochs = len(snapshots)
    entropies = [sample_metrics.entropy(sample_metrics.class_histogram(
        classify(torch.from_numpy(images).float() / 255))) for images in snapshots]
    shown = np.unique(np.linspace(0, epochs - 1, min(epochs, SNAPSHOT_ROWS)).round()
                      .astype(int))
    columns = min(snapshots.shape[1], 10)
    figure = Figure(figsize=(columns * 0.6 + 0.8, len(shown) * 0.6 + 0.5))
    axes = figure.subplots()
    tiles = snapshots[shown, :columns, 0].astype(np.float32) / 255
    grid = tiles.transpose(0, 2, 1, 3).reshape(len(shown) * 28, columns * 28)
    axes.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_yticks(np.arange(len(shown)) * 28 + 14,
                    [f"epoch {e + 1}\nH={entropies[e]:.2f}" for e in shown], fontsize=6)
    axes.set_xticks([])
    axes.set_title(f"{family}: samples over training (same noise); H = class "
                   f"entropy (ln 10 = {np.log(10):.2f})", fontsize=8)
    figure.tight_layout()
    history = [{"value": value, "step": epoch + 1}
               for epoch, value in enumerate(entropies)]
    return {"snapshot_class_entropy": history}, figure


def evaluate_family(weights: dict[str, torch.Tensor], test: dict, params: dict,
                    seed: int, device: str, history: list | None = None,
                    snapshots: dict | None = None,
                    evaluator_model: dict[str, torch.Tensor] | None = None,
                    evaluator: dict | None = None, evaluation: dict | None = None,
                    first_stage_model: dict | None = None,
                    first_stage_params: dict | None = None,
                    *, family: str) -> dict:
    """The family's test metrics and plots.

    Args:
        weights, test, params, seed, device, first_stage_model,
            first_stage_params: as in `train_family`.
        history: The per-epoch loss terms (trainable families): the curves.
        snapshots: Samples after each epoch (trainable families that sample).
        evaluator_model, evaluator, evaluation: The evaluator's weights and
            blocks, for families that sample: class entropy over training and
            `report`'s `classify`.

    Returns:
        `test_metrics` (the family's `test_metrics` and `report` metrics, e.g.
        the VAE's `test_elbo`, a cGAN's label accuracy); `curves_plot`;
        `samples_over_training_plot` and `training_metrics` (class entropy per
        epoch) when there are snapshots; `<name>_plot` per name in `figures`.
    """
    config = FamilyBlock.model_validate(params)
    seed_everything(seed)
    model = _trained(family, config, weights, device, first_stage_model,
                     first_stage_params)
    images, labels = _images(test, config)
    images, labels = images.to(model.device), labels.to(model.device)
    classify = _classifier(evaluator_model, evaluator, evaluation, device) \
        if model.samples else None
    with torch.no_grad():
        metrics = model.test_metrics(images, EVAL_BATCH)
        reported, figures = model.report(images, labels, classify)
    if set(figures) != set(model.figures):
        raise ValueError(f"{family}.report drew {sorted(figures)}, but the family "
                         f"declares figures {list(model.figures)}")
    outputs = {"test_metrics": {**metrics, **reported},
               **{f"{name}_plot": figure for name, figure in figures.items()}}
    if history is not None:
        outputs["curves_plot"] = _curves(history, family, model.curves)
    if snapshots is not None:
        shots = snapshots["images"]
        if len(shots):
            outputs["training_metrics"], outputs["samples_over_training_plot"] = \
                _training_samples(shots, classify, family)
        else:
            outputs["training_metrics"] = {}
            outputs["samples_over_training_plot"] = plots.sample_grid(
                torch.zeros(1, 1, 28, 28), 1, f"{family}: snapshots off")
    return outputs


def reconstruct_family(weights: dict[str, torch.Tensor], test: dict, params: dict,
                       seed: int, device: str, first_stage_model: dict | None = None,
                       first_stage_params: dict | None = None, *,
                       family: str) -> tuple[dict[str, float], Figure, Figure]:
    """Test reconstruction error and plots (families that `reconstruct`).

    Returns:
        `{"test_mse"}`, the input-vs-reconstruction grid, and the t-SNE map of
        test codes coloured by digit.
    """
    config = FamilyBlock.model_validate(params)
    seed_everything(seed)
    model = _trained(family, config, weights, device, first_stage_model,
                     first_stage_params)
    images, labels = _images(test, config)
    images = images.to(model.device)
    with torch.no_grad():
        recon = torch.cat([model.reconstruct(c) for c in images.split(EVAL_BATCH)])
        metrics = {"test_mse": F.mse_loss(recon, images).item()}
        n = min(config.latent_map_points, len(images))
        codes = model.encode(images[:n]).cpu().numpy()
    rows = config.reconstruction_rows
    pairs = torch.stack([images[:rows * rows // 2], recon[:rows * rows // 2]], 1)
    grid = plots.sample_grid(pairs.flatten(0, 1).cpu(), rows,
                               f"{family}: input | reconstruction (test), "
                               f"MSE {metrics['test_mse']:.4f}")
    latent = plots.tsne_figure(codes, labels[:n].numpy(),
                               f"{family}: t-SNE of {codes.shape[1]}-d test codes",
                               seed=seed, perplexity=config.tsne_perplexity)
    return metrics, grid, latent


def _draw(model: GenerativeModel, sizes: list[int], draw, protocol, desc: str
          ) -> tuple[list[np.ndarray], list[torch.Tensor | None], float]:
    """`draw(i, size)` for batch i of each size, without gradients, in the
    protocol's `sampling_precision`, under a progress bar: the uint8 images,
    the requested labels of each batch, and the seconds it took."""
    start = time.perf_counter()
    with torch.no_grad(), torch.autocast(
            model.device.type, dtype=torch.bfloat16,
            enabled=protocol.sampling_precision == "bf16-mixed"), \
            tqdm(total=sum(sizes), desc=desc, unit="img", disable=None) as progress:
        chunks, labels = [], []
        for i, size in enumerate(sizes):
            chunks.append(to_uint8(draw(i, size)))
            labels.append(model.requested_labels(size))
            progress.update(size)
    return chunks, labels, time.perf_counter() - start


def _drawn(chunks: list[np.ndarray], labels: list[torch.Tensor | None],
           config: FamilyBlock) -> dict[str, np.ndarray]:
    samples = {"images": np.concatenate(chunks),
               "binarized": np.array(config.data.binarize)}
    if labels[0] is not None:
        samples["labels"] = torch.cat(labels).cpu().numpy().astype(np.int64)
    return samples


def sample_family(weights: dict[str, torch.Tensor], params: dict, evaluation: dict,
                  seed: int, device: str, first_stage_model: dict | None = None,
                  first_stage_params: dict | None = None, *, family: str,
                  sampler: str | None = None, keep_chain: bool = False
                  ) -> tuple:
    """Draws the protocol's N images (`evaluation.protocol.num_samples`, the
    same for every family) with `sampler`, in batches, in the protocol's
    `sampling_precision`, and times it.

    Returns:
        `{"images": N x 1 x 28 x 28 uint8, "binarized": bool}` (scored by the
        shared evaluation nodes; conditional families add the requested
        `labels`) and `sampling_images_per_s`, `sampling_seconds` with the
        sampler's cost per image (`nfe_per_image`); with `keep_chain` (a
        sampler that others continue, `GenerativeModel.continues`), also the
        chain's last states, N x 1 x 28 x 28 float32, for `continue_sampling`.
    """
    config = FamilyBlock.model_validate(params)
    protocol = EvaluationConfig.model_validate(evaluation).protocol
    n = protocol.num_samples
    seed_everything(seed)
    model = _trained(family, config, weights, device, first_stage_model,
                     first_stage_params)
    sizes = [min(EVAL_BATCH, n - i) for i in range(0, n, EVAL_BATCH)]
    states = []

    def draw(i: int, size: int) -> torch.Tensor:
        if not keep_chain:
            return model.sample(size, sampler)
        states.append(model.chain(size, sampler).float())
        return model.from_chain(states[-1], sampler)

    chunks, labels, seconds = _draw(model, sizes, draw, protocol,
                                    f"{family} {sampler or 'sample'}")
    outputs = (_drawn(chunks, labels, config), {
        "sampling_images_per_s": n / seconds, "sampling_seconds": seconds,
        **model.sampling_cost(sampler)})
    return (*outputs, torch.cat(states).cpu().numpy()) if keep_chain else outputs


def continue_sampling(weights: dict[str, torch.Tensor], params: dict,
                      evaluation: dict, chain: np.ndarray, chain_metrics: dict,
                      seed: int, device: str, first_stage_model: dict | None = None,
                      first_stage_params: dict | None = None, *, family: str,
                      sampler: str) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """`sampler`'s N images finished from the chain states that the sampler it
    continues drew (`GenerativeModel.continues`; `sample_family` with
    `keep_chain`), in the same batches and precision: the images
    `sample_family` would draw for `sampler`, without running the chain again.

    Returns:
        The samples, as `sample_family`'s, and their cost as if `sampler` had
        run alone: the chain's `sampling_seconds` (`chain_metrics`) plus the
        finishing step's.
    """
    config = FamilyBlock.model_validate(params)
    protocol = EvaluationConfig.model_validate(evaluation).protocol
    n = protocol.num_samples
    if chain.shape[0] != n:
        raise ValueError(f"{family}.{sampler}: the chain it continues has "
                         f"{chain.shape[0]} states, the protocol draws {n}")
    seed_everything(seed)
    model = _trained(family, config, weights, device, first_stage_model,
                     first_stage_params)
    batches = torch.from_numpy(chain).split(EVAL_BATCH)
    chunks, labels, seconds = _draw(
        model, [len(batch) for batch in batches],
        lambda i, size: model.from_chain(batches[i].to(model.device), sampler),
        protocol, f"{family} {sampler}")
    seconds += chain_metrics["sampling_seconds"]
    return _drawn(chunks, labels, config), {
        "sampling_images_per_s": n / seconds, "sampling_seconds": seconds,
        **model.sampling_cost(sampler)}


def plot_sweep(*scores: dict, family: str, values: tuple[float, ...],
               setting: str) -> Figure:
    """The scores of a family's swept samplers (one `scores` per value of
    `setting`, in order) against that value: FID, KID, precision/recall and,
    for conditional samplers, the evaluator's label accuracy.

    Returns:
        The figure (`<family>.sweep_plot`).
    """
    return plots.sweep_figure(list(values), [s["metrics"] for s in scores],
                              setting, f"{family}: scores by {setting} "
                              f"(N = {int(scores[0]['metrics']['num_samples'])})")
