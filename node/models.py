"""Model management: default and uploaded bundles, activation and rollback."""

from __future__ import annotations

from dataclasses import dataclass
import logging
from pathlib import Path
import shutil
import tempfile
from typing import Any

from .bundle import (
    METADATA_FILE,
    MODEL_FILE,
    Bundle,
    BundleError,
    find_bundles,
    parse_bundle,
    read_bundle,
)
from .classifier import Classifier, LoadedModel, load_bundle_model
from .store import DatasetStore

_LOGGER = logging.getLogger(__name__)

KINDS = ("sensors", "image")


class ModelConflictError(BundleError):
    """A bundle with the same kind and version is already installed."""


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A bundle the node can activate."""

    bundle: Bundle
    active: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as the API lists it."""
        metadata = self.bundle.metadata
        return {
            "name": metadata.name,
            "version": metadata.version,
            "kind": metadata.kind,
            "classes": list(metadata.classes),
            "features": list(metadata.features),
            "metrics": metadata.metrics,
            "created": metadata.created,
            "quantization": metadata.quantization,
            "size_bytes": self.bundle.size_bytes,
            "active": self.active,
        }


class ModelManager:
    """Finds bundles, loads the active ones into the classifier, installs uploads."""

    def __init__(
        self,
        classifier: Classifier,
        store: DatasetStore,
        *,
        defaults_dir: Path,
        uploads_dir: Path,
        available_features: set[str],
    ) -> None:
        """Manage bundles from a read-only defaults folder and an uploads folder."""
        self.classifier = classifier
        self.store = store
        self.defaults_dir = defaults_dir
        self.uploads_dir = uploads_dir
        self.available_features = available_features
        self._bundles: dict[tuple[str, str], Bundle] = {}

    def scan(self) -> None:
        """Find every valid bundle in both folders."""
        self._bundles = {}
        for root in (self.defaults_dir, self.uploads_dir):
            for bundle in find_bundles(root):
                key = (bundle.metadata.kind, bundle.metadata.version)
                self._bundles.setdefault(key, bundle)

    def load_active(self) -> None:
        """Activate each kind's recorded model, else its newest bundle."""
        self.scan()
        for kind in KINDS:
            recorded = self.store.active_model(kind)
            candidates = [recorded] if recorded else []
            candidates += [
                bundle.metadata.version for bundle in self.newest_first(kind)
            ]
            for version in dict.fromkeys(candidates):
                try:
                    self.activate(kind, version, record=version != recorded)
                except BundleError as err:
                    _LOGGER.warning("Cannot use %s model %s: %s", kind, version, err)
                else:
                    break

    def newest_first(self, kind: str | None = None) -> list[Bundle]:
        """Return the bundles of a kind, newest first."""
        bundles = [
            bundle
            for bundle in self._bundles.values()
            if kind is None or bundle.metadata.kind == kind
        ]
        return sorted(
            bundles,
            key=lambda bundle: (bundle.metadata.created, _version_key(bundle)),
            reverse=True,
        )

    def entries(self) -> list[ModelEntry]:
        """Return every bundle, marking the active ones."""
        active = {kind: self.active_version(kind) for kind in KINDS}
        return [
            ModelEntry(
                bundle, active.get(bundle.metadata.kind) == bundle.metadata.version
            )
            for bundle in self.newest_first()
        ]

    def active(self, kind: str) -> LoadedModel | None:
        """Return the loaded model of a kind."""
        if kind == "sensors":
            return self.classifier.sensor_model
        return self.classifier.image_model

    def active_version(self, kind: str) -> str | None:
        """Return the version of the active model of a kind."""
        loaded = self.active(kind)
        return loaded.metadata.version if loaded else None

    def activate(self, kind: str, version: str, *, record: bool = True) -> Bundle:
        """Load a bundle and make it active; the previous model stays if it fails."""
        bundle = self._bundles.get((kind, version))
        if bundle is None:
            msg = f"no {kind} model with version {version!r}"
            raise KeyError(msg)
        loaded = load_bundle_model(bundle, available_features=self.available_features)
        self.classifier.install(loaded)
        if record:
            self._record(bundle)
        return bundle

    def _record(self, bundle: Bundle) -> None:
        metadata = bundle.metadata
        self.store.record_model(
            metadata.kind,
            metadata.version,
            metadata.name,
            str(bundle.path),
            metadata.sha256,
            metadata.to_dict(),
        )
        self.store.activate_model(metadata.kind, metadata.version)

    def rollback(self, kind: str) -> Bundle:
        """Go back to the model that was active before the current one."""
        previous = self.store.previous_model(kind)
        if previous is None:
            msg = f"no earlier {kind} model to roll back to"
            raise KeyError(msg)
        return self.activate(kind, previous)

    def install(self, model_bytes: bytes, metadata_bytes: bytes) -> Bundle:
        """Check an uploaded bundle, store it and make it active."""
        metadata = parse_bundle(model_bytes, metadata_bytes)
        key = (metadata.kind, metadata.version)
        if key in self._bundles:
            msg = f"{metadata.kind} model {metadata.version} is already installed"
            raise ModelConflictError(msg)

        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.uploads_dir))
        try:
            (staging / MODEL_FILE).write_bytes(model_bytes)
            (staging / METADATA_FILE).write_bytes(metadata_bytes)
            loaded = load_bundle_model(
                read_bundle(staging), available_features=self.available_features
            )
            self.classifier.check_classes(metadata)
        except Exception:
            shutil.rmtree(staging, ignore_errors=True)
            raise

        destination = self.uploads_dir / f"{metadata.kind}-{metadata.version}"
        staging.rename(destination)
        bundle = read_bundle(destination)
        self.classifier.install(LoadedModel(bundle, loaded.model))
        self._bundles[key] = bundle
        self._record(bundle)
        _LOGGER.info("Installed %s model %s", metadata.kind, metadata.version)
        return bundle

    def info(self) -> dict[str, dict[str, Any] | None]:
        """Return the active model of each kind as the API shows it."""
        result: dict[str, dict[str, Any] | None] = {}
        for kind in KINDS:
            loaded = self.active(kind)
            result[kind] = (
                ModelEntry(loaded.bundle, active=True).to_dict() if loaded else None
            )
        return result


def _version_key(bundle: Bundle) -> tuple[int, ...]:
    parts = bundle.metadata.version.replace("-", ".").split(".")
    return tuple(int(part) if part.isdigit() else 0 for part in parts)
