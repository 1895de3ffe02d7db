"""Debouncing predictions into a label, and the features it is fed."""

from __future__ import annotations

import pytest

from node.classifier import Prediction
from node.features import FeatureWindow, infrared_ratio
from node.labeler import Debouncer


def prediction(label: str, confidence: float = 0.9) -> Prediction:
    """Return a prediction of a label with a confidence."""
    return Prediction(label, confidence, {label: confidence}, "sensors", "1", 0.1)


def test_new_label_needs_agreeing_predictions() -> None:
    """A label changes only after `debounce` confident predictions agree."""
    debouncer = Debouncer(confidence_threshold=0.6, debounce=3)
    assert debouncer.update(prediction("lighter")) is None
    assert debouncer.update(prediction("lighter")) is None
    change = debouncer.update(prediction("lighter"))
    assert change is not None
    assert (change.old, change.new) == ("unknown", "lighter")
    assert debouncer.to_dict()["label"] == "lighter"


def test_disagreement_restarts_the_count() -> None:
    """An interrupting prediction resets the streak."""
    debouncer = Debouncer(confidence_threshold=0.6, debounce=2)
    debouncer.update(prediction("daylight"))
    debouncer.update(prediction("infrared"))
    assert debouncer.update(prediction("daylight")) is None
    assert debouncer.update(prediction("daylight")) is not None


def test_low_confidence_falls_back_to_unknown() -> None:
    """Predictions under the threshold count as unknown, debounced too."""
    debouncer = Debouncer(confidence_threshold=0.6, debounce=2)
    for _ in range(2):
        debouncer.update(prediction("flashlight"))
    assert debouncer.label == "flashlight"
    assert debouncer.update(prediction("flashlight", 0.4)) is None
    change = debouncer.update(prediction("daylight", 0.5))
    assert change is not None
    assert change.new == "unknown"


def test_no_prediction_is_unknown_at_once() -> None:
    """A failed sensor or missing model makes the label unknown immediately."""
    debouncer = Debouncer(confidence_threshold=0.6, debounce=5)
    for _ in range(5):
        debouncer.update(prediction("lighter"))
    change = debouncer.update(None)
    assert change is not None
    assert change.new == "unknown"
    assert debouncer.update(None) is None


def test_same_label_refreshes_confidence() -> None:
    """Agreeing predictions keep the label and update its confidence."""
    debouncer = Debouncer(confidence_threshold=0.5, debounce=1)
    debouncer.update(prediction("lighter", 0.7))
    debouncer.update(prediction("lighter", 0.95))
    assert debouncer.confidence == pytest.approx(0.95)


def test_infrared_ratio_from_either_sensor() -> None:
    """The infrared share comes from the TSL2591 channels or the analog percentages."""
    assert infrared_ratio({"full_spectrum": 100.0, "infrared": 25.0}) == 0.25
    assert infrared_ratio({"full_spectrum": 0.0, "infrared": 0.0}) == 0.0
    assert infrared_ratio({"light_level": 30.0, "infrared_level": 10.0}) == 0.25
    assert infrared_ratio({"light_level": 0.0, "infrared_level": 0.0}) == 0.0
    assert infrared_ratio({"temperature": 20.0}) is None


def test_flicker_is_the_variation_of_brightness() -> None:
    """A steady light has no flicker; a flickering one has some; darkness none."""
    window = FeatureWindow(size=4)
    for _ in range(4):
        steady = window.update({"full_spectrum": 1000.0, "infrared": 10.0})
    assert steady["flicker"] == 0.0
    assert steady["ir_ratio"] == pytest.approx(0.01)

    window.reset()
    for value in (800.0, 1200.0, 700.0, 1300.0):
        flickering = window.update({"full_spectrum": value, "infrared": value / 2})
    assert flickering["flicker"] > 0.2

    window.reset()
    assert window.update({"full_spectrum": 0.5})["flicker"] == 0.0
    assert window.update({"full_spectrum": 0.5})["flicker"] == 0.0
    assert "flicker" not in window.update({"temperature": 20.0})
