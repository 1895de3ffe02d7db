"""Try page: run a model on typed readings or an uploaded image and see its answer."""

from __future__ import annotations

import io
from typing import Final

import numpy as np
from PIL import Image, UnidentifiedImageError
import streamlit as st

from dashboard.utils import charts
from dashboard.utils.models import ModelRunner, load_catalog, model_runner
from dashboard.utils.samples import typical_features, typical_frame
from dashboard.utils.settings import get_settings
from node.bundle import Bundle, BundleError
from node.classifier import Prediction, is_dark
from node.const import READING_UNITS
from node.features import infrared_ratio
from node.hardware.base import RGBImage

UPLOAD_TYPES: Final = ["jpg", "jpeg", "png", "bmp", "webp"]
PRESET_KEY: Final = "try_preset"


def feature_key(name: str) -> str:
    """Return the widget key of a feature's input."""
    return f"try_feature_{name}"


def fill_preset(features: tuple[str, ...]) -> None:
    """Fill the inputs with a simulated reading of the chosen light source."""
    source = str(st.session_state[PRESET_KEY])
    values = typical_features(source, seed=len(source))
    for name in features:
        st.session_state[feature_key(name)] = float(round(values.get(name, 0.0), 4))


def typed_features(bundle: Bundle) -> dict[str, float]:
    """Show one input per feature of a sensors model and return the values."""
    features = bundle.metadata.features
    classes = bundle.metadata.classes
    if st.session_state.get(PRESET_KEY) not in classes:
        st.session_state[PRESET_KEY] = classes[0]
    if any(feature_key(name) not in st.session_state for name in features):
        fill_preset(features)
    st.selectbox(
        "Fill with a typical reading of",
        classes,
        key=PRESET_KEY,
        on_change=fill_preset,
        args=(features,),
    )
    values: dict[str, float] = {}
    raw = [name for name in features if name in READING_UNITS]
    derived = [name for name in features if name not in READING_UNITS]
    columns = st.columns(2)
    for index, name in enumerate(raw):
        values[name] = columns[index % 2].number_input(
            f"{name} ({READING_UNITS[name]})", format="%.4g", key=feature_key(name)
        )
    ratio = infrared_ratio(values)
    for index, name in enumerate(derived):
        column = columns[(len(raw) + index) % 2]
        if name == "ir_ratio" and ratio is not None:
            column.metric("ir_ratio (from the readings)", f"{ratio:.3f}")
            values[name] = ratio
            continue
        values[name] = column.number_input(
            name,
            min_value=0.0,
            format="%.4g",
            key=feature_key(name),
            help="A value the node derives from recent readings.",
        )
    return values


def chosen_frame(bundle: Bundle) -> RGBImage | None:
    """Return the frame a person uploaded, or a simulated one, or None."""
    upload = st.file_uploader("Image", type=UPLOAD_TYPES, key="try_upload")
    if upload is not None:
        try:
            with Image.open(io.BytesIO(upload.getvalue())) as image:
                return np.asarray(image.convert("RGB"))
        except (OSError, UnidentifiedImageError) as err:
            st.error(f"{upload.name} is not a readable image: {err}")
            return None
    source = st.selectbox(
        "Or use a simulated frame of",
        [None, *bundle.metadata.classes],
        format_func=lambda name: "choose a light source" if name is None else name,
        key="try_simulated_frame",
    )
    if source is None:
        return None
    return typical_frame(source, seed=3)


def show_prediction(prediction: Prediction, classes: tuple[str, ...]) -> None:
    """Show the predicted class and every class's probability."""
    st.metric(
        "Prediction",
        prediction.label,
        f"{prediction.confidence:.1%} confident",
        delta_color="off",
        delta_arrow="off",
    )
    st.altair_chart(
        charts.probability_bars(prediction.probabilities, classes), width="stretch"
    )
    st.caption(f"Inference took {prediction.inference_ms:.2f} ms.")


def run_model(runner: ModelRunner, bundle: Bundle) -> None:
    """Collect the input the model needs, classify it and show the answer."""
    metadata = bundle.metadata
    given, answer = st.columns([3, 2], gap="large")
    with given:
        if metadata.kind == "sensors":
            prediction = runner.classify(typed_features(bundle)).sensors
        else:
            frame = chosen_frame(bundle)
            if frame is None:
                st.info("Upload an image, or choose a simulated frame, to classify it.")
                return
            st.image(frame, caption="Input", width=240)
            if is_dark(frame):
                st.warning(
                    "This frame is too dark to show a light source: the node ignores "
                    "such frames and lets the sensors decide."
                )
                return
            prediction = runner.classify({}, frame).camera
    with answer:
        if prediction is None:
            st.error("The model gave no prediction for this input.")
            return
        show_prediction(prediction, metadata.classes)


def try_page() -> None:
    """Let a person choose a model and try it."""
    settings = get_settings()
    catalog = load_catalog(settings.models_dir)
    if not catalog.bundles:
        st.info(
            f"No model bundles in {settings.models_dir} to try. Train one, or start "
            "the dashboard with `-- --models-dir <folder of bundles>`."
        )
        return
    bundle = st.selectbox(
        "Model", catalog.bundles, format_func=catalog.label, key="try_model"
    )
    try:
        runner = model_runner(str(bundle.path), bundle.metadata.sha256)
    except (BundleError, RuntimeError) as err:
        st.error(f"{catalog.label(bundle)} cannot be loaded: {err}")
        return
    run_model(runner, bundle)


st.title("Try a model")
try_page()
