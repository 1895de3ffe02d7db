"""Altair charts of readings, labels and model scores, in one colour per class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import altair as alt
import numpy as np
import pandas as pd

from dashboard.utils.dataset import NOT_LABELLED, thin_out
from node.const import READING_UNITS, UNKNOWN

CLASS_COLOURS: Final = {
    "flashlight": "#eab308",
    "lighter": "#f97316",
    "infrared": "#8b5cf6",
    "daylight": "#0ea5e9",
    UNKNOWN: "#64748b",
    NOT_LABELLED: "#cbd5e1",
}
EXTRA_COLOURS: Final = ("#14b8a6", "#ec4899", "#84cc16", "#a855f7", "#f43f5e")
# Vega-Lite draws every point as an SVG mark; past a few thousand a browser stalls.
MAX_PLOT_POINTS: Final = 2000
HISTOGRAM_BINS: Final = 30
BAR_HEIGHT: Final = 34


def class_scale(names: Sequence[str]) -> alt.Scale:
    """Return a colour scale that keeps each class's colour on every chart."""
    domain = list(dict.fromkeys(names))
    colours = [
        CLASS_COLOURS.get(name, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])
        for index, name in enumerate(domain)
    ]
    return alt.Scale(domain=domain, range=colours)


def axis_title(name: str) -> str:
    """Return a reading's name with its unit, for an axis."""
    unit = READING_UNITS.get(name)
    return f"{name} ({unit})" if unit else name


def time_series(
    readings: pd.DataFrame, name: str, classes: Sequence[str], *, by_time: bool
) -> alt.Chart:
    """Return a reading over time, or in recording order, each point coloured by label.

    In recording order the sessions sit side by side without the hours between
    them, which on a real dataset are most of the time axis.
    """
    shown = thin_out(
        readings[["id", "time", "label", "session_id", name]].dropna(), MAX_PLOT_POINTS
    )
    shown = shown.assign(order=np.arange(len(shown)), label=shown["label"].astype(str))
    x = (
        alt.X("time:T", title=None)
        if by_time
        else alt.X(
            "order:Q", title="readings in recording order", axis=alt.Axis(labels=False)
        )
    )
    chart: alt.Chart = (
        alt.Chart(shown)
        .mark_circle(size=16, opacity=0.8)
        .encode(
            x=x,
            y=alt.Y(f"{name}:Q", title=axis_title(name)),
            color=alt.Color(
                "label:N", scale=class_scale([*classes, NOT_LABELLED]), title="label"
            ),
            tooltip=["id:Q", "session_id:Q", "time:T", "label:N", f"{name}:Q"],
        )
        .properties(height=180)
    )
    return chart


def distribution_frame(
    readings: pd.DataFrame, names: Sequence[str], *, log_scale: bool
) -> pd.DataFrame:
    """Return per-class histograms of each reading, as shares of that class."""
    labels = readings["label"].astype("category")
    codes = labels.cat.codes.to_numpy()
    categories = np.asarray(labels.cat.categories, dtype=object)
    parts = []
    for name in names:
        values = readings[name].to_numpy(dtype=np.float64, na_value=np.nan)
        present = np.isfinite(values) & (codes >= 0)
        if log_scale:
            present &= values > 0
        if not present.any():
            continue
        shown = np.log10(values[present]) if log_scale else values[present]
        edges = np.histogram_bin_edges(shown, bins=HISTOGRAM_BINS)
        bins = np.clip(
            np.searchsorted(edges, shown, side="right") - 1, 0, HISTOGRAM_BINS - 1
        )
        # One bincount over (class, bin) pairs counts every class in a single pass.
        counts = np.bincount(
            codes[present] * HISTOGRAM_BINS + bins,
            minlength=len(categories) * HISTOGRAM_BINS,
        ).reshape(len(categories), HISTOGRAM_BINS)
        totals = counts.sum(axis=1, keepdims=True)
        measured = totals[:, 0] > 0
        shares = counts[measured] / totals[measured]
        centres = (edges[:-1] + edges[1:]) / 2
        parts.append(
            pd.DataFrame(
                {
                    "reading": axis_title(name),
                    "label": np.repeat(categories[measured], HISTOGRAM_BINS),
                    "value": np.tile(
                        10**centres if log_scale else centres, int(measured.sum())
                    ),
                    "share": shares.ravel(),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["reading", "label", "value", "share"])
    return pd.concat(parts, ignore_index=True)


def distribution(
    histograms: pd.DataFrame, reading: str, classes: Sequence[str], *, log_scale: bool
) -> alt.Chart:
    """Return the per-class distribution of one reading."""
    chart: alt.Chart = (
        alt.Chart(histograms[histograms["reading"] == reading])
        .mark_line(interpolate="step-after", strokeWidth=2)
        .encode(
            x=alt.X(
                "value:Q",
                title=reading,
                scale=alt.Scale(type="log" if log_scale else "linear"),
            ),
            y=alt.Y("share:Q", title="share of class", axis=alt.Axis(format="%")),
            color=alt.Color(
                "label:N",
                scale=class_scale([*classes, NOT_LABELLED]),
                title="label",
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["label:N", "value:Q", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=200)
    )
    return chart


def _with_minimum(bars: alt.Chart, minimum: float, rows: int) -> alt.LayerChart:
    """Return horizontal bars with a dashed rule at the minimum they should reach."""
    rule = (
        alt.Chart(pd.DataFrame({"minimum": [minimum]}))
        .mark_rule(color="#dc2626", strokeDash=[6, 4], size=2)
        .encode(x="minimum:Q")
    )
    chart: alt.LayerChart = (bars + rule).properties(height=BAR_HEIGHT * max(rows, 1))
    return chart


def class_balance(
    counts: pd.DataFrame, classes: Sequence[str], minimum: int
) -> alt.LayerChart:
    """Return bars of samples per class with a rule at the minimum a class needs."""
    bars = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="readings"),
            y=alt.Y("label:N", sort=list(counts["label"]), title=None),
            color=alt.Color(
                "label:N", scale=class_scale([*classes, NOT_LABELLED]), legend=None
            ),
            opacity=alt.condition(alt.datum.enough, alt.value(1.0), alt.value(0.45)),
            tooltip=["label:N", "count:Q", "enough:N"],
        )
    )
    return _with_minimum(bars, minimum, len(counts))


def probability_bars(
    probabilities: dict[str, float], classes: Sequence[str]
) -> alt.Chart:
    """Return one horizontal bar per class with its probability."""
    frame = pd.DataFrame(
        {"class": list(probabilities), "probability": list(probabilities.values())}
    )
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "probability:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title=None,
            ),
            y=alt.Y(
                "class:N",
                sort=list(classes),
                title=None,
                axis=alt.Axis(labelOverlap=False),
            ),
            color=alt.Color("class:N", scale=class_scale(classes), legend=None),
            tooltip=["class:N", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(height=BAR_HEIGHT * max(len(frame), 1))
    )
    return chart


def confusion_matrix(cells: pd.DataFrame, classes: Sequence[str]) -> alt.LayerChart:
    """Return a heat map of true against predicted classes, with the counts written."""
    totals = cells.groupby("true")["count"].transform("sum")
    shown = cells.assign(
        share=np.where(totals > 0, cells["count"] / totals.replace(0, 1), 0.0)
    )
    base = alt.Chart(shown).encode(
        x=alt.X(
            "predicted:N",
            sort=list(classes),
            title="predicted",
            axis=alt.Axis(labelAngle=0, orient="top"),
        ),
        y=alt.Y("true:N", sort=list(classes), title="true"),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "share:Q",
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            title="share of true class",
        ),
        tooltip=[
            "true:N",
            "predicted:N",
            "count:Q",
            alt.Tooltip("share:Q", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text("count:Q", format=",.0f"),
        color=alt.condition(
            alt.datum.share > 0.5, alt.value("white"), alt.value("#0f172a")
        ),
    )
    chart: alt.LayerChart = (heat + text).properties(height=260)
    return chart


def recall_bars(
    scores: pd.DataFrame, classes: Sequence[str], minimum: float
) -> alt.LayerChart:
    """Return each class's recall with a rule at the recall a class needs."""
    bars = (
        alt.Chart(scores)
        .mark_bar()
        .encode(
            x=alt.X(
                "recall:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
            ),
            y=alt.Y("class:N", sort=list(classes), title=None),
            color=alt.Color("class:N", scale=class_scale(classes), legend=None),
            tooltip=["class:N", alt.Tooltip("recall:Q", format=".1%"), "support:Q"],
        )
    )
    return _with_minimum(bars, minimum, len(scores))


def compare_bars(
    scores: pd.DataFrame, group: str, score: str, series: str
) -> alt.Chart:
    """Return one score per group, a bar for each series side by side.

    Groups keep the order of their first appearance, as classes keep the model's.
    """
    chart: alt.Chart = (
        alt.Chart(scores)
        .mark_bar()
        .encode(
            x=alt.X(
                f"{group}:N",
                title=None,
                sort=list(dict.fromkeys(scores[group])),
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset(f"{series}:N"),
            y=alt.Y(f"{score}:Q", scale=alt.Scale(domain=[0, 1]), title=None),
            color=alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                f"{group}:N",
                f"{series}:N",
                alt.Tooltip(f"{score}:Q", format=".3f"),
            ],
        )
        .properties(height=220)
    )
    return chart


def live_chart(history: pd.DataFrame, names: Sequence[str]) -> alt.FacetChart:
    """Return the node's recent readings as lines, one panel per reading."""
    long = history.melt(
        id_vars=["time", "label"],
        value_vars=list(names),
        var_name="reading",
        value_name="value",
    ).dropna(subset=["value"])
    lines = alt.Chart().mark_line(color="#94a3b8")
    points = alt.Chart().mark_circle(size=30)
    encoding: dict[str, Any] = {
        "x": alt.X("time:T", title=None),
        "y": alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
    }
    layered = alt.layer(
        lines.encode(**encoding),
        points.encode(
            **encoding,
            color=alt.Color(
                "label:N", scale=class_scale(list(CLASS_COLOURS)), title="label"
            ),
            tooltip=["time:T", "label:N", "value:Q"],
        ),
        data=long,
    ).properties(height=120)
    chart: alt.FacetChart = layered.facet(
        row=alt.Row("reading:N", title=None)
    ).resolve_scale(y="independent")
    return chart
