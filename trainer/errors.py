"""Errors the trainer reports to its user, and how bad input is stopped or skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
from typing import Literal

_LOGGER = logging.getLogger(__name__)

type OnError = Literal["stop", "skip"]

ON_ERROR_CHOICES = ("stop", "skip")


class TrainerError(Exception):
    """A failure the user can fix: bad data, a bad bundle or a bad option."""


class DataError(TrainerError):
    """Training or evaluation data is missing or malformed."""


@dataclass(slots=True)
class Problems:
    """Bad input met while reading data: raised at once, or skipped and counted."""

    on_error: OnError = "stop"
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Reject an unknown policy."""
        if self.on_error not in ON_ERROR_CHOICES:
            msg = f"on_error must be 'stop' or 'skip', not {self.on_error!r}"
            raise TrainerError(msg)

    def report(self, message: str) -> None:
        """Stop with the message, or remember it and go on."""
        if self.on_error == "stop":
            raise DataError(message)
        _LOGGER.warning("Skipped: %s", message)
        self.skipped.append(message)

    @property
    def count(self) -> int:
        """Return how many items were skipped."""
        return len(self.skipped)

    def summary(self) -> dict[str, object]:
        """Return the skipped count and the first few reasons."""
        return {"count": self.count, "first": self.skipped[:10]}
