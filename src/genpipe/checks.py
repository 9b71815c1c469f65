"""What a closed-form demo returns (the `bayes` and `theory` items): its
results table, each computed quantity beside its closed form, a figure and
flat metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Report:
    table: pd.DataFrame
    checks: pd.DataFrame
    figure: Figure
    metrics: dict[str, float] = field(default_factory=dict)


def checks_table(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    """Computed quantities beside their closed forms, with the absolute error."""
    table = pd.DataFrame(rows, columns=["quantity", "computed", "closed_form"])
    table["abs_error"] = (table["computed"] - table["closed_form"]).abs()
    return table
