"""The `report` pipeline on an in-memory catalog: every scored namespace."""

from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.pipelines.report import create_pipeline
from genpipe.pipelines.report.pipeline import sources

PROTOCOL = {"num_samples": 100}


def _scores(fid: float, binarized: bool = False) -> dict:
    metrics = {"fid": fid, "fid_std": 1.0, "kid": fid / 1000, "kid_std": 0.001,
               "precision": 0.5, "recall": 0.5, "inception_score": 5.0,
               "class_entropy": 2.0, "num_samples": 100.0}
    return {"metrics": metrics, "binarized": binarized, "protocol": PROTOCOL}


def test_the_report_reads_every_floor_and_sampler_and_writes_the_trilemma():
    rows = sources()
    assert [row.namespace for row in rows[:2]] == ["reference", "reference_binarized"]
    assert {"vae", "ddpm.ddpm", "ddpm.ddim", "pixelcnn", "gmm.noise_free"} <= {
        row.namespace for row in rows}
    catalog = DataCatalog()
    for rank, row in enumerate(rows):
        catalog[f"{row.namespace}.scores"] = _scores(10.0 * (rank + 1))
        if row.costs:
            catalog[f"{row.namespace}.sampling_metrics"] = {
                "sampling_images_per_s": 100.0 / (rank + 1), "nfe_per_image": 1.0}
            catalog[f"{row.family}.train_metrics"] = {"train_seconds": 5.0,
                                                      "num_params": 1e4}
            catalog[f"{row.family}.test_metrics"] = {}
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    table = outputs["report_table"].load()
    assert len(table) == len(rows) and set(table["num_samples"]) == {100}
    assert table["namespace"].tolist()[0] == "reference"  # floors first
    metrics = outputs["report_metrics"].load()
    assert metrics["ddpm.ddim"]["nfe_per_image"] == 1.0
    assert "| ddpm.ddim |" in outputs["report_markdown"].load()
    assert outputs["report_trilemma_plot"].load().axes[0].get_xscale() == "log"
