import math

import pytest

from genpipe.evaluation import report

PROTOCOL = {"num_samples": 100, "kid_subsets": 5}


def _scores(fid: float, kid: float = 0.01, recall: float = 0.5,
            binarized: bool = False, protocol: dict | None = None) -> dict:
    metrics = {"fid": fid, "fid_std": 0.1, "kid": kid, "kid_std": 0.001,
               "precision": 0.6, "recall": recall, "inception_score": 8.0,
               "class_entropy": 2.2, "num_samples": 100.0}
    if binarized:
        metrics |= {"fid_binarized": fid / 2, "kid_binarized": kid / 2}
    return {"metrics": metrics, "binarized": binarized,
            "protocol": protocol or PROTOCOL}


def _rows() -> list[report.Row]:
    return [
        report.Row("gan", "gan", "adversarial", _scores(30.0, 0.02, 0.3),
                   {"sampling_images_per_s": 5000.0, "nfe_per_image": 1.0},
                   {"train_seconds": 60.0, "num_params": 1e6}, {}),
        report.Row("ddpm.ddim", "ddpm", "diffusion", _scores(10.0, 0.005, 0.8),
                   {"sampling_images_per_s": 2.0, "nfe_per_image": 50.0},
                   {"train_seconds": 600.0, "num_params": 2e5},
                   {"test_loss": 0.03}),
        report.Row("pixelcnn", "pixelcnn", "autoregressive",
                   _scores(20.0, 0.01, 0.6, binarized=True),
                   {"sampling_images_per_s": 1.0, "nfe_per_image": 784.0},
                   {"train_seconds": 300.0, "num_params": 1e5},
                   {"test_bits_per_dim": 0.12}),
        report.Row("reference", "reference", "reference", _scores(1.0, 0.0001, 0.9)),
    ]


def test_table_puts_the_floor_first_then_ranks_by_fid():
    frame = report.table(_rows())
    assert frame["namespace"].tolist() == ["reference", "ddpm.ddim", "pixelcnn",
                                           "gan"]
    assert frame.columns.tolist() == report.COLUMNS
    row = frame.set_index("namespace").loc["pixelcnn"]
    assert row["data"] == "binarized" and row["fid_binarized"] == 10.0
    assert row["test_bits_per_dim"] == 0.12 and row["nfe_per_image"] == 784
    assert math.isnan(frame.set_index("namespace").loc["gan", "test_bits_per_dim"])
    assert math.isnan(frame.set_index("namespace").loc["reference", "train_seconds"])


def test_rows_under_different_protocols_are_refused():
    rows = _rows()
    rows.append(report.Row("vae", "vae", "latent",
                           _scores(5.0, protocol={"num_samples": 10000})))
    with pytest.raises(ValueError, match="different protocols"):
        report.table(rows)


def test_summary_names_the_leader_of_each_axis():
    lines = report.summary(report.table(_rows()))
    text = "\n".join(lines)
    assert "N = 100" in text
    assert "- Quality: **ddpm.ddim** (FID 10)" in text
    assert "- Coverage: **ddpm.ddim** (recall 0.8)" in text
    assert "- Speed: **gan** (images/s 5000)" in text
    assert "Real-data floor at this N: FID 1.0 ± 0.1" in text
    assert "Likelihood on binarized pixels: **pixelcnn** (0.120 bits/dim)" in text
    assert "Spearman ρ = 1.00" in text  # FID and KID agree on these rows


def test_markdown_and_dvc_metrics_hold_every_row():
    frame = report.table(_rows())
    text = report.markdown(frame)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(frame)  # the header and one line per row
    assert "| ddpm.ddim | diffusion | 8-bit | 100 | 10.0 ± 0.1 | 5.00 ± 1.00 |" in text
    metrics = report.dvc_metrics(frame)
    assert metrics["gan"]["fid"] == 30.0 and "test_bits_per_dim" not in metrics["gan"]


def test_trilemma_figure_has_a_point_per_family_and_the_floor_line():
    figure = report.trilemma_figure(report.table(_rows()))
    axes = figure.axes[0]
    points = sum(len(collection.get_offsets()) for collection in axes.collections)
    assert points == 3  # the floor is a line, not a point
    assert axes.get_xscale() == "log"
    assert any("real data" in text.get_text()
               for text in axes.get_legend().get_texts())


def test_ranks_agree_needs_three_families():
    frame = report.table(_rows()[:2] + [_rows()[3]])
    assert math.isnan(report.ranks_agree(frame))
    assert report.ranks_agree(report.table(_rows())) == pytest.approx(1.0)
