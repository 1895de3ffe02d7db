"""Debouncing: turns a stream of predictions into a stable label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .classifier import Prediction
from .const import UNKNOWN


@dataclass(frozen=True, slots=True)
class LabelChange:
    """The label moved from one value to another."""

    old: str
    new: str
    confidence: float
    source: str | None
    time: datetime


class Debouncer:
    """A new label needs `debounce` agreeing predictions above the threshold.

    A prediction below the confidence threshold counts as `unknown`, so a label also
    needs `debounce` uncertain predictions in a row to fall back to `unknown`. No
    prediction at all (no model, or a sensor failed) means `unknown` at once: a label
    the node can no longer support must not linger.
    """

    def __init__(self, confidence_threshold: float, debounce: int) -> None:
        """Start with the label unknown."""
        self.confidence_threshold = confidence_threshold
        self.debounce = debounce
        self.label = UNKNOWN
        self.confidence = 0.0
        self.source: str | None = None
        self.since = datetime.now(UTC)
        self._candidate = UNKNOWN
        self._streak = 0

    def update(
        self, prediction: Prediction | None, now: datetime | None = None
    ) -> LabelChange | None:
        """Feed one prediction; return the change if the label changed."""
        now = now or datetime.now(UTC)
        if prediction is None:
            self._candidate, self._streak = UNKNOWN, 0
            return self._change(UNKNOWN, 0.0, None, now)

        if prediction.confidence >= self.confidence_threshold:
            candidate = prediction.label
        else:
            candidate = UNKNOWN
        if candidate == self.label:
            self._streak = 0
            self.confidence = prediction.confidence
            self.source = prediction.source
            return None

        if candidate == self._candidate:
            self._streak += 1
        else:
            self._candidate, self._streak = candidate, 1
        if self._streak < self.debounce:
            return None
        self._streak = 0
        return self._change(candidate, prediction.confidence, prediction.source, now)

    def _change(
        self, label: str, confidence: float, source: str | None, now: datetime
    ) -> LabelChange | None:
        old = self.label
        self.confidence, self.source = confidence, source
        if label == old:
            return None
        self.label, self.since = label, now
        return LabelChange(old, label, confidence, source, now)

    def to_dict(self) -> dict[str, object]:
        """Return the label as the API shows it."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "source": self.source,
            "since": self.since.isoformat(),
        }
