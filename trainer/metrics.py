"""Classification metrics in the shape the bundle metadata and the dashboard use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _per_class(
    true: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Return precision, recall, F1 and support of each class."""
    result = {}
    for name in classes:
        true_positive = sum(
            1
            for actual, guess in zip(true, predicted, strict=True)
            if actual == guess == name
        )
        support = sum(1 for actual in true if actual == name)
        chosen = sum(1 for guess in predicted if guess == name)
        precision = true_positive / chosen if chosen else 0.0
        recall = true_positive / support if support else 0.0
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision + recall > 0
            else 0.0
        )
        result[name] = {
            "precision": round(precision, 6),
            "recall": round(recall, 6),
            "f1": round(f1, 6),
            "support": support,
        }
    return result


def macro_f1(
    true: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> float:
    """Return the mean F1 over the classes that occur in the labels or predictions."""
    seen = set(true) | set(predicted)
    present = [name for name in classes if name in seen]
    if not present:
        return 0.0
    per_class = _per_class(true, predicted, present)
    return float(np.mean([per_class[name]["f1"] for name in present]))


def accuracy(true: Sequence[str], predicted: Sequence[str]) -> float:
    """Return the share of predictions equal to the label."""
    if not true:
        return 0.0
    return sum(1 for a, b in zip(true, predicted, strict=True) if a == b) / len(true)


def classification_metrics(
    true: Sequence[str],
    predicted: Sequence[str],
    classes: Sequence[str],
    *,
    sessions: Sequence[str] | None = None,
    validation: str = "",
) -> dict[str, Any]:
    """Return accuracy, macro-F1, per-class figures, the confusion matrix and sessions."""
    index = {name: position for position, name in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for actual, guess in zip(true, predicted, strict=True):
        matrix[index[actual], index[guess]] += 1
    result: dict[str, Any] = {
        "accuracy": round(accuracy(true, predicted), 6),
        "macro_f1": round(macro_f1(true, predicted, classes), 6),
        "per_class": _per_class(true, predicted, classes),
        "confusion_matrix": matrix.tolist(),
        "classes": list(classes),
        "count": len(true),
    }
    if sessions is not None:
        per_session: dict[str, dict[str, float]] = {}
        for session in sorted(set(sessions)):
            rows = [i for i, name in enumerate(sessions) if name == session]
            session_true = [true[i] for i in rows]
            session_predicted = [predicted[i] for i in rows]
            per_session[session] = {
                "accuracy": round(accuracy(session_true, session_predicted), 6),
                "macro_f1": round(
                    macro_f1(session_true, session_predicted, classes), 6
                ),
                "count": len(rows),
            }
        result["per_session"] = per_session
    if validation:
        result["validation"] = validation
    return result


def background_metrics(
    probabilities: NDArray[np.float32], threshold: float
) -> dict[str, float]:
    """Return how often rows with no source stay below the confidence threshold."""
    if len(probabilities) == 0:
        return {"count": 0, "unknown_rate": 0.0, "threshold": threshold}
    confidence = probabilities.max(axis=1)
    return {
        "count": len(probabilities),
        "unknown_rate": round(float(np.mean(confidence < threshold)), 6),
        "mean_confidence": round(float(confidence.mean()), 6),
        "threshold": threshold,
    }
