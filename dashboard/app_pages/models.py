"""Models page: every bundle, one in depth (graph, tensors, scores), two side by side."""

from __future__ import annotations

from typing import Any, Final

import pandas as pd
import streamlit as st

from dashboard.utils import charts
from dashboard.utils.models import (
    ModelCatalog,
    catalog_frame,
    confusion_frame,
    graph_dot,
    inspect_model,
    load_catalog,
    per_class_frame,
    per_session_frame,
)
from dashboard.utils.settings import get_settings
from node.bundle import Bundle

SESSION_SCORES: Final = ("accuracy", "macro_f1")
VIEW_KEY: Final = "models_view"
CLASS_SCORES: Final = ("precision", "recall", "f1")


def headline(metrics: dict[str, Any]) -> None:
    """Show accuracy and macro F1 as metrics, or say there are none."""
    accuracy, macro_f1 = metrics.get("accuracy"), metrics.get("macro_f1")
    if accuracy is None and macro_f1 is None:
        st.caption("No scores recorded for this model.")
        return
    columns = st.columns(2)
    if isinstance(accuracy, int | float):
        columns[0].metric("Accuracy", f"{accuracy:.1%}")
    if isinstance(macro_f1, int | float):
        columns[1].metric("Macro F1", f"{macro_f1:.3f}")


def scores(bundle: Bundle, metrics: dict[str, Any]) -> None:
    """Show a model's confusion matrix and per-class scores."""
    classes = list(metrics.get("classes") or bundle.metadata.classes)
    cells = confusion_frame(metrics)
    if not cells.empty:
        st.altair_chart(charts.confusion_matrix(cells, classes), width="stretch")
    per_class = per_class_frame(metrics)
    if not per_class.empty:
        long = per_class.melt(
            id_vars=["class"],
            value_vars=list(CLASS_SCORES),
            var_name="score",
            value_name="value",
        ).dropna()
        st.altair_chart(
            charts.compare_bars(long, "class", "value", "score"), width="stretch"
        )


def graph(bundle: Bundle) -> None:
    """Show the operators and tensors of the `.tflite` file, as Netron lists them."""
    try:
        model_graph = inspect_model(bundle)
    except (ValueError, RuntimeError, ImportError) as err:
        st.error(f"{bundle.model_path} cannot be opened: {err}")
        return
    drawing, listing = st.columns([2, 3])
    with drawing:
        st.graphviz_chart(graph_dot(model_graph), width="stretch")
    with listing:
        st.markdown(f"**Operators** ({len(model_graph.operators)})")
        st.dataframe(model_graph.operators, hide_index=True, width="stretch")
    st.markdown(f"**Tensors** ({len(model_graph.tensors)})")
    st.dataframe(model_graph.tensors, hide_index=True, width="stretch")


def in_depth(catalog: ModelCatalog) -> None:
    """Show one model chosen by the person: scores, sessions, graph and metadata."""
    bundle = st.selectbox(
        "Model", catalog.bundles, format_func=catalog.label, key="models_chosen"
    )
    metrics = catalog.metrics(bundle)
    if bundle.path in catalog.evaluations:
        st.caption("Scores from the trainer's evaluation file beside the bundle.")
    headline(metrics)
    scores_tab, sessions_tab, graph_tab, metadata_tab = st.tabs(
        ["Scores", "Per session", "Graph", "Metadata"], key=VIEW_KEY, on_change="rerun"
    )
    if scores_tab.open:
        with scores_tab:
            scores(bundle, metrics)
    if sessions_tab.open:
        with sessions_tab:
            per_session(metrics)
    if graph_tab.open:
        with graph_tab:
            graph(bundle)
    if metadata_tab.open:
        with metadata_tab:
            st.json(bundle.metadata.to_dict(), expanded=1)


def per_session(metrics: dict[str, Any]) -> None:
    """Show the scores the trainer measured on each recording session."""
    sessions = per_session_frame(metrics)
    sessions = sessions[sessions["score"].isin(SESSION_SCORES)]
    if sessions.empty:
        st.caption("No per-session scores recorded for this model.")
        return
    st.altair_chart(
        charts.compare_bars(sessions, "session", "value", "score"), width="stretch"
    )


def side_by_side(catalog: ModelCatalog) -> None:
    """Show two models' scores next to each other."""
    if len(catalog.bundles) < 2:
        st.caption("Add a second bundle to compare two models.")
        return
    columns = st.columns(2)
    chosen = []
    for index, column in enumerate(columns):
        with column:
            bundle = st.selectbox(
                "Model",
                catalog.bundles,
                index=index,
                format_func=catalog.label,
                key=f"models_compare_{index}",
            )
            chosen.append(bundle)
            metrics = catalog.metrics(bundle)
            headline(metrics)
            scores(bundle, metrics)

    rows = []
    for bundle in chosen:
        per_class = per_class_frame(catalog.metrics(bundle))
        per_class["model"] = catalog.label(bundle)
        rows.append(per_class)
    both = pd.concat(rows, ignore_index=True).dropna(subset=["f1"])
    if not both.empty:
        st.markdown("**F1 per class**")
        st.altair_chart(
            charts.compare_bars(both, "class", "f1", "model"), width="stretch"
        )


def models_page() -> None:
    """List the bundles, then one in depth, then two side by side."""
    settings = get_settings()
    catalog = load_catalog(settings.models_dir)
    for problem in catalog.problems:
        st.warning(f"{problem.path} is skipped: {problem.error}")
    if not catalog.bundles:
        st.info(
            f"No model bundles in {settings.models_dir}. Train one with the trainer, "
            "or start the dashboard with `-- --models-dir <folder of bundles>`."
        )
        return

    st.dataframe(
        catalog_frame(catalog),
        hide_index=True,
        width="stretch",
        column_config={
            "accuracy": st.column_config.ProgressColumn(
                "accuracy", min_value=0.0, max_value=1.0, format="percent"
            ),
            "macro_f1": st.column_config.ProgressColumn(
                "macro F1", min_value=0.0, max_value=1.0, format="%.3f"
            ),
        },
    )
    st.subheader("One model")
    in_depth(catalog)
    st.subheader("Side by side")
    side_by_side(catalog)


st.title("Models")
models_page()
