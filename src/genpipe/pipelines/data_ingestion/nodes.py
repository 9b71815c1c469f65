"""Nodes of the `data_ingestion` pipeline."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from torch_geometric.data import Data

from genpipe.config import DataIngestionConfig, SourceConfig
from genpipe.data import breast_cancer, cora, digits, mnist
from genpipe.data.fetch import fetch_file, mirror_dirs

logger = logging.getLogger(__name__)

Split = dict[str, np.ndarray]


def _fetch_all(config: DataIngestionConfig, subdir: str, source: SourceConfig,
               names: list[str] | tuple[str, ...]) -> dict[str, bytes]:
    missing = sorted(set(names) - set(source.sha256))
    if missing:
        raise ValueError(f"parameters.data_ingestion.{subdir}.sha256 pins no "
                         f"checksum for {missing}")
    mirrors = mirror_dirs(config.mirrors, subdir)
    fetched = {name: fetch_file(name, source.sha256[name], mirrors,
                                Path(source.cache_dir), source.urls,
                                config.download_timeout_s) for name in names}
    for item in fetched.values():
        logger.info("%s verified (sha256 %s…) from %s", item.name, item.sha256[:12],
                    item.source)
    return {name: item.payload for name, item in fetched.items()}


def ingest_mnist(params: dict, seed: int) -> tuple[Split, Split, Split, dict]:
    """Fetches and verifies the four MNIST files, parses them, splits off validation.

    Args:
        params: The `data_ingestion` block.
        seed: Seeds the train/validation permutation.

    Returns:
        train, validation and test splits (`images` N x 28 x 28 uint8, `labels`),
        and their sizes as metrics.
    """
    config = DataIngestionConfig.model_validate(params)
    payloads = _fetch_all(config, "mnist", config.mnist, mnist.FILES)
    train, test = mnist.parse_mnist(payloads)
    train, val = mnist.split_validation(train, config.mnist.val_size, seed)
    if limit := config.mnist.max_examples_per_split:
        train, val, test = ({k: v[:limit] for k, v in split.items()}
                            for split in (train, val, test))
    sizes = {f"data/mnist_{name}_size": float(len(split["labels"]))
             for name, split in (("train", train), ("val", val), ("test", test))}
    return train, val, test, sizes


def ingest_cora(params: dict) -> tuple[Data, dict]:
    """Fetches and verifies the eight Planetoid files; builds the public split.

    Returns:
        The graph (x, edge_index, y, train/val/test masks) and its sizes.
    """
    config = DataIngestionConfig.model_validate(params)
    payloads = _fetch_all(config, "cora", config.cora, cora.raw_file_names())
    graph = cora.load_planetoid(payloads)
    stats = {
        "data/cora_nodes": graph.num_nodes,
        "data/cora_edges": graph.num_edges,
        "data/cora_features": graph.num_node_features,
        "data/cora_train_nodes": int(graph.train_mask.sum()),
        "data/cora_val_nodes": int(graph.val_mask.sum()),
        "data/cora_test_nodes": int(graph.test_mask.sum()),
    }
    return graph, {key: float(value) for key, value in stats.items()}


def ingest_breast_cancer(params: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Loads Breast Cancer Wisconsin and makes the course's stratified split.

    Returns:
        train and test frames (30 named features, `target`, original `row_id`)
        and their sizes.
    """
    config = DataIngestionConfig.model_validate(params).breast_cancer
    train, test = breast_cancer.stratified_split(
        breast_cancer.load_frame(), config.test_size, config.random_state)
    return train, test, {"data/breast_cancer_train_size": float(len(train)),
                         "data/breast_cancer_test_size": float(len(test))}


def ingest_digits(params: dict, seed: int) -> tuple[Split, Split, dict]:
    """scikit-learn's digits, checked, resized to 28 x 28 and split (the second
    domain of `dann` and `cyclegan`; see `genpipe.data.digits`).

    Args:
        params: The `data_ingestion` block (`digits.sha256`, `digits.test_size`).
        seed: Draws the stratified train/test split.

    Returns:
        train and test splits (`images` N x 28 x 28 uint8, `labels` uint8), as
        MNIST's, and their sizes as metrics.
    """
    config = DataIngestionConfig.model_validate(params).digits
    images, labels = digits.check_table(*digits.load_table(), config.sha256)
    train, test = digits.split(digits.to_28x28(images), labels, config.test_size,
                               seed)
    return train, test, {"data/digits_train_size": float(len(train["labels"])),
                         "data/digits_test_size": float(len(test["labels"]))}
