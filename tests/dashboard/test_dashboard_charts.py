"""Chart data: sampling for the browser and per-class distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.utils.charts import HISTOGRAM_BINS, class_scale, distribution_frame
from dashboard.utils.dataset import NOT_LABELLED, thin_out


def test_thin_out_keeps_the_ends_and_the_limit() -> None:
    """A long frame is cut to the limit, evenly, first and last rows kept."""
    frame = pd.DataFrame({"id": np.arange(100_000)})

    thinned = thin_out(frame, 2000)

    assert len(thinned) == 2000
    assert thinned["id"].iloc[0] == 0
    assert thinned["id"].iloc[-1] == 99_999
    assert thinned["id"].is_monotonic_increasing
    assert thin_out(frame.head(10), 2000).equals(frame.head(10))


@pytest.mark.parametrize("log_scale", [False, True])
def test_distribution_shares_per_class(log_scale: bool) -> None:
    """Each class's histogram sums to one, whatever the class sizes."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "label": pd.Categorical(
                ["lighter"] * 300 + ["daylight"] * 30 + [NOT_LABELLED] * 5
            ),
            "lux": np.concatenate(
                [rng.uniform(1, 10, 300), rng.uniform(1000, 5000, 30), [np.nan] * 5]
            ),
        }
    )

    histograms = distribution_frame(frame, ["lux"], log_scale=log_scale)

    assert set(histograms["label"]) == {"lighter", "daylight"}
    shares = histograms.groupby("label")["share"].sum()
    assert shares.to_numpy() == pytest.approx([1.0, 1.0])
    assert (histograms.groupby("label").size() == HISTOGRAM_BINS).all()
    daylight = histograms[
        (histograms["label"] == "daylight") & (histograms["share"] > 0)
    ]
    assert daylight["value"].min() > 500


def test_distribution_skips_unmeasured_readings() -> None:
    """A reading nobody measured gives no rows rather than an error."""
    frame = pd.DataFrame(
        {"label": pd.Categorical(["lighter"] * 3), "distance": [np.nan] * 3}
    )

    assert distribution_frame(frame, ["distance"], log_scale=True).empty


def test_class_colours_are_stable() -> None:
    """A class keeps its colour whatever else is on the chart."""
    alone = class_scale(["lighter"]).to_dict()
    together = class_scale(["flashlight", "lighter", "extra"]).to_dict()

    assert alone["range"] == [together["range"][1]]
    assert together["range"][2] not in together["range"][:2]
