"""Model bundles: a `.tflite` file with a JSON metadata file beside it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import hashlib
import json
from pathlib import Path
from typing import Any, Final, Literal

FORMAT_VERSION: Final = 1
MODEL_FILE: Final = "model.tflite"
METADATA_FILE: Final = "model.json"
MAX_MODEL_BYTES: Final = 64 * 1024 * 1024

type InputKind = Literal["sensors", "image"]


class BundleError(ValueError):
    """A model bundle is missing, corrupt or does not fit this node."""


@dataclass(frozen=True, slots=True)
class ImageInput:
    """How an image model expects its input: size and pixel scaling."""

    height: int
    width: int
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True, slots=True)
class BundleMetadata:
    """Everything the node needs to know about a model besides its weights."""

    name: str
    version: str
    kind: InputKind
    classes: tuple[str, ...]
    sha256: str
    features: tuple[str, ...] = ()
    image: ImageInput | None = None
    quantization: str = "float32"
    created: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def image_input(self) -> ImageInput:
        """Return the image input description of an image model."""
        if self.image is None:
            msg = f"{self.name} {self.version} is not an image model"
            raise BundleError(msg)
        return self.image

    def to_dict(self) -> dict[str, Any]:
        """Return the metadata as the JSON object stored in the bundle."""
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> BundleMetadata:
        """Parse and check a metadata object; raise BundleError naming the problem."""
        if not isinstance(data, dict):
            msg = "metadata must be a JSON object"
            raise BundleError(msg)
        format_version = data.get("format_version")
        if format_version != FORMAT_VERSION:
            msg = f"unsupported format_version {format_version!r}, expected {FORMAT_VERSION}"
            raise BundleError(msg)
        for key in ("name", "version", "kind", "classes", "sha256"):
            if key not in data:
                msg = f"metadata is missing {key!r}"
                raise BundleError(msg)
        kind = data["kind"]
        if kind not in ("sensors", "image"):
            msg = f"kind must be 'sensors' or 'image', not {kind!r}"
            raise BundleError(msg)
        classes = data["classes"]
        if (
            not isinstance(classes, list)
            or not classes
            or not all(isinstance(name, str) and name for name in classes)
            or len(set(classes)) != len(classes)
        ):
            msg = "classes must be a non-empty list of distinct names"
            raise BundleError(msg)
        version = data["version"]
        if not isinstance(version, str) or not version or "/" in version:
            msg = f"version must be a non-empty string without '/', not {version!r}"
            raise BundleError(msg)
        features = data.get("features") or []
        image = None
        if kind == "sensors":
            if not isinstance(features, list) or not features:
                msg = "a sensors model needs a non-empty features list"
                raise BundleError(msg)
        else:
            image_data = data.get("image")
            if not isinstance(image_data, dict):
                msg = "an image model needs an 'image' object with height and width"
                raise BundleError(msg)
            try:
                image = ImageInput(
                    height=int(image_data["height"]),
                    width=int(image_data["width"]),
                    scale=float(image_data.get("scale", 1.0)),
                    offset=float(image_data.get("offset", 0.0)),
                )
            except (KeyError, TypeError, ValueError) as err:
                msg = f"invalid image input description: {err}"
                raise BundleError(msg) from err
        return cls(
            name=str(data["name"]),
            version=version,
            kind=kind,
            classes=tuple(classes),
            sha256=str(data["sha256"]),
            features=tuple(str(name) for name in features),
            image=image,
            quantization=str(data.get("quantization", "float32")),
            created=str(data.get("created", "")),
            metrics=dict(data.get("metrics") or {}),
            training=dict(data.get("training") or {}),
        )


@dataclass(frozen=True, slots=True)
class Bundle:
    """A bundle on disk whose metadata parsed and whose hash matched."""

    path: Path
    metadata: BundleMetadata

    @property
    def model_path(self) -> Path:
        """Return the path of the `.tflite` file."""
        return self.path / MODEL_FILE

    @property
    def size_bytes(self) -> int:
        """Return the size of the `.tflite` file in bytes."""
        return self.model_path.stat().st_size


def sha256_of(data: bytes) -> str:
    """Return the hex sha256 digest of some bytes."""
    return hashlib.sha256(data).hexdigest()


def parse_bundle(model_bytes: bytes, metadata_bytes: bytes) -> BundleMetadata:
    """Check a bundle given as bytes, before anything is written to disk."""
    if not model_bytes:
        msg = f"{MODEL_FILE} is empty"
        raise BundleError(msg)
    if len(model_bytes) > MAX_MODEL_BYTES:
        msg = f"{MODEL_FILE} is larger than {MAX_MODEL_BYTES} bytes"
        raise BundleError(msg)
    try:
        data = json.loads(metadata_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        msg = f"{METADATA_FILE} is not valid JSON: {err}"
        raise BundleError(msg) from err
    metadata = BundleMetadata.from_dict(data)
    digest = sha256_of(model_bytes)
    if digest != metadata.sha256:
        msg = f"sha256 of {MODEL_FILE} is {digest}, metadata says {metadata.sha256}"
        raise BundleError(msg)
    return metadata


def read_bundle(path: Path) -> Bundle:
    """Read and check the bundle in a directory."""
    model_path = path / MODEL_FILE
    metadata_path = path / METADATA_FILE
    for required in (model_path, metadata_path):
        if not required.is_file():
            msg = f"{required} does not exist"
            raise BundleError(msg)
    metadata = parse_bundle(model_path.read_bytes(), metadata_path.read_bytes())
    return Bundle(path=path, metadata=metadata)


def write_bundle(
    directory: Path, model_bytes: bytes, metadata: dict[str, Any]
) -> Bundle:
    """Write a bundle, filling in its hash and format version, and read it back."""
    directory.mkdir(parents=True, exist_ok=True)
    complete = {
        **metadata,
        "format_version": FORMAT_VERSION,
        "sha256": sha256_of(model_bytes),
    }
    BundleMetadata.from_dict(complete)
    (directory / MODEL_FILE).write_bytes(model_bytes)
    (directory / METADATA_FILE).write_text(
        json.dumps(complete, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return read_bundle(directory)


def find_bundles(root: Path) -> list[Bundle]:
    """Return every valid bundle in the sub-directories of a folder."""
    if not root.is_dir():
        return []
    bundles = []
    for directory in sorted(root.iterdir()):
        if (directory / METADATA_FILE).is_file():
            try:
                bundles.append(read_bundle(directory))
            except BundleError:
                continue
    return bundles
