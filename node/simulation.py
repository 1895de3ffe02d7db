"""A simulated scene that drives every simulated sensor and the camera consistently.

Each light source is modelled from its physics, at a reference distance of 30 cm:

- flashlight: a white LED, strong visible light and almost no infrared, steady;
- lighter: a flame, mostly infrared, dim and flickering, and it warms the air near it;
- infrared: an IR LED, nearly all infrared, little visible light;
- daylight: a broad spectrum, bright, independent of distance, drifting slowly.

Point sources fall off with the square of the distance. The light sensor turns the
visible and infrared irradiance into TSL2591 channel counts for its gain and
integration time, clips them at the sensor's maximum and reports saturation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
import math
import time
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .const import CLASSES
from .features import FeatureWindow
from .hardware.base import (
    Camera,
    DistanceSensor,
    Hardware,
    LightReading,
    LightSensor,
    RGBImage,
    TemperatureSensor,
)
from .hardware.tsl2591_math import GAINS, INTEGRATION_TIMES_MS, reading_from_counts

REFERENCE_DISTANCE_CM: Final = 30.0
AMBIENT_TEMPERATURE_C: Final = 21.0
HEATING_TIME_CONSTANT_S: Final = 25.0

# Visible and infrared irradiance at the reference distance, in counts per
# (gain x millisecond); ranges are sampled once per scheduled step.
SOURCE_VISIBLE: Final = {
    "flashlight": (4.0, 12.0),
    "lighter": (0.15, 0.45),
    "infrared": (0.02, 0.08),
    "daylight": (3.0, 60.0),
    None: (0.0, 0.004),
}
SOURCE_INFRARED_SHARE: Final = {
    "flashlight": (0.01, 0.05),
    "lighter": (0.62, 0.82),
    "infrared": (0.9, 0.98),
    "daylight": (0.3, 0.45),
    None: (0.2, 0.5),
}
SOURCE_HEAT_C: Final = {"lighter": 9.0, "daylight": 1.5}
SOURCE_COLOUR: Final = {
    "flashlight": (250, 250, 255),
    "lighter": (255, 150, 40),
    "infrared": (190, 110, 255),
    "daylight": (215, 225, 240),
}


@dataclass(frozen=True, slots=True)
class ScheduleStep:
    """One stretch of a scripted scene: a source (or none) at a distance."""

    source: str | None
    duration_s: float
    distance_cm: float = REFERENCE_DISTANCE_CM

    def __post_init__(self) -> None:
        """Reject unknown sources and impossible durations or distances."""
        if self.source is not None and self.source not in CLASSES:
            msg = f"unknown light source {self.source!r}"
            raise ValueError(msg)
        if self.duration_s <= 0 or self.distance_cm <= 0:
            msg = "duration and distance must be positive"
            raise ValueError(msg)


DEFAULT_SCHEDULE: Final = (
    ScheduleStep("flashlight", 20.0, 25.0),
    ScheduleStep(None, 6.0, 60.0),
    ScheduleStep("lighter", 20.0, 20.0),
    ScheduleStep(None, 6.0, 60.0),
    ScheduleStep("infrared", 20.0, 15.0),
    ScheduleStep(None, 6.0, 60.0),
    ScheduleStep("daylight", 20.0, 80.0),
    ScheduleStep(None, 6.0, 60.0),
)


def parse_schedule(text: str) -> tuple[ScheduleStep, ...]:
    """Parse 'source:seconds[@cm],...', with 'none' for no source."""
    steps = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            name, rest = item.split(":", 1)
            seconds, _, distance = rest.partition("@")
            steps.append(
                ScheduleStep(
                    source=None if name == "none" else name,
                    duration_s=float(seconds),
                    distance_cm=float(distance) if distance else REFERENCE_DISTANCE_CM,
                )
            )
        except ValueError as err:
            msg = f"invalid schedule step {item!r}: {err}"
            raise ValueError(msg) from err
    if not steps:
        msg = "a schedule needs at least one step"
        raise ValueError(msg)
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class SceneState:
    """What is in front of the node at one moment."""

    source: str | None
    distance_cm: float
    visible: float
    infrared: float
    temperature_c: float
    glow: float


class Scene:
    """A scripted sequence of light sources, looping, evaluated at any time."""

    def __init__(
        self,
        schedule: Sequence[ScheduleStep] = DEFAULT_SCHEDULE,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Script the scene; `clock` gives the time in seconds."""
        if not schedule:
            msg = "a schedule needs at least one step"
            raise ValueError(msg)
        self.schedule = tuple(schedule)
        self._clock = clock
        self._start = clock()
        self._rng = np.random.default_rng(seed)
        self._cycle = sum(step.duration_s for step in self.schedule)
        self._step_draws: dict[int, tuple[float, float, float]] = {}
        self._heat = 0.0
        self._heat_time = 0.0
        self._flicker = 1.0
        self._held: tuple[int, ScheduleStep] | None = None

    def hold(
        self, source: str | None, distance_cm: float = REFERENCE_DISTANCE_CM
    ) -> None:
        """Put a source in front of the node until released, overriding the script."""
        held_count = self._held[0] - 1 if self._held else -1
        self._held = (held_count, ScheduleStep(source, 1.0, distance_cm))

    def release(self) -> None:
        """Go back to the scripted schedule."""
        self._held = None

    def elapsed(self) -> float:
        """Return the seconds since the scene started."""
        return self._clock() - self._start

    def _step_at(self, elapsed: float) -> tuple[int, ScheduleStep]:
        if self._held is not None:
            return self._held
        cycle, offset = divmod(elapsed, self._cycle)
        index = int(cycle) * len(self.schedule)
        for step in self.schedule:
            if offset < step.duration_s:
                return index, step
            offset -= step.duration_s
            index += 1
        return index - 1, self.schedule[-1]

    def _draws(self, index: int, source: str | None) -> tuple[float, float, float]:
        """Return this step's brightness, infrared share and distance jitter."""
        if index not in self._step_draws:
            low, high = SOURCE_VISIBLE[source]
            share_low, share_high = SOURCE_INFRARED_SHARE[source]
            self._step_draws = {
                index: (
                    math.exp(self._rng.uniform(math.log(low + 1e-6), math.log(high))),
                    float(self._rng.uniform(share_low, share_high)),
                    float(self._rng.uniform(0.85, 1.15)),
                )
            }
        return self._step_draws[index]

    def state(self) -> SceneState:
        """Return the scene now."""
        elapsed = self.elapsed()
        index, step = self._step_at(elapsed)
        brightness, infrared_share, jitter = self._draws(index, step.source)
        distance = step.distance_cm * jitter

        if step.source == "daylight":
            falloff = 1.0
            brightness *= 1.0 + 0.25 * math.sin(elapsed / 40.0)
        elif step.source is None:
            falloff = 1.0
        else:
            falloff = (REFERENCE_DISTANCE_CM / distance) ** 2

        if step.source == "lighter":
            self._flicker = 0.6 * self._flicker + 0.4 * float(
                self._rng.normal(1.0, 0.35)
            )
            brightness *= max(self._flicker, 0.2)

        total = brightness * falloff
        visible = total * (1.0 - infrared_share)
        infrared = total * infrared_share

        heat_target = SOURCE_HEAT_C.get(step.source or "", 0.0) * min(falloff, 3.0)
        dt = max(elapsed - self._heat_time, 0.0)
        self._heat += (heat_target - self._heat) * (
            1.0 - math.exp(-dt / HEATING_TIME_CONSTANT_S)
        )
        self._heat_time = elapsed

        return SceneState(
            source=step.source,
            distance_cm=distance,
            visible=visible,
            infrared=infrared,
            temperature_c=AMBIENT_TEMPERATURE_C + self._heat,
            glow=min(total / 10.0, 1.0) if step.source else 0.0,
        )

    def noise(self, scale: float) -> float:
        """Return Gaussian noise with the given standard deviation."""
        return float(self._rng.normal(0.0, scale))


class SimulatedLight(LightSensor):
    """A TSL2591 seeing the scene, at a given gain and integration time."""

    model = "simulated-tsl2591"

    def __init__(
        self, scene: Scene, *, gain: str = "medium", integration_ms: int = 100
    ) -> None:
        """Read the scene with the sensor's settings."""
        if gain not in GAINS:
            msg = f"gain must be one of {', '.join(GAINS)}"
            raise ValueError(msg)
        if integration_ms not in INTEGRATION_TIMES_MS:
            msg = f"integration time must be one of {INTEGRATION_TIMES_MS} ms"
            raise ValueError(msg)
        self.scene = scene
        self.gain = gain
        self.integration_ms = integration_ms

    def read(self) -> LightReading:
        """Return channel counts and lux for the scene now."""
        state = self.scene.state()
        scale = GAINS[self.gain] * self.integration_ms
        infrared = state.infrared * scale + abs(self.scene.noise(3.0))
        full = state.visible * scale + infrared + abs(self.scene.noise(3.0))
        return reading_from_counts(
            round(full), round(infrared), self.gain, self.integration_ms
        )


class SimulatedTemperature(TemperatureSensor):
    """A TMP36 next to the sensors, read through a 10-bit ADC."""

    model = "simulated-tmp36"

    def __init__(self, scene: Scene) -> None:
        """Read the scene's air temperature."""
        self.scene = scene

    def read(self) -> float:
        """Return the temperature in °C, with the ADC's resolution."""
        value = self.scene.state().temperature_c + self.scene.noise(0.15)
        return round(value / 0.32) * 0.32


class SimulatedDistance(DistanceSensor):
    """An HC-SR04 seeing whatever holds the light source."""

    model = "simulated-hc-sr04"

    def __init__(self, scene: Scene, *, max_distance_cm: float = 200.0) -> None:
        """Read the scene's distance, capped at the sensor's range."""
        self.scene = scene
        self.max_distance_cm = max_distance_cm

    def read(self) -> float:
        """Return the distance in cm."""
        value = self.scene.state().distance_cm + self.scene.noise(0.4)
        return round(min(max(value, 2.0), self.max_distance_cm), 1)


class SimulatedCamera(Camera):
    """A camera rendering a glow of the source's colour and size."""

    model = "simulated-camera"

    def __init__(self, scene: Scene, *, width: int = 160, height: int = 120) -> None:
        """Render frames of the given size."""
        self.scene = scene
        self.width = width
        self.height = height
        rows, columns = np.mgrid[0:height, 0:width]
        self._rows = rows.astype(np.float32)
        self._columns = columns.astype(np.float32)

    def capture(self) -> RGBImage:
        """Render the scene now."""
        return render_frame(
            self.scene.state(),
            self._rows,
            self._columns,
            np.random.default_rng(int(self.scene.elapsed() * 1000) % 2**32),
        )


def render_frame(
    state: SceneState,
    rows: NDArray[np.float32],
    columns: NDArray[np.float32],
    rng: np.random.Generator,
) -> RGBImage:
    """Render a dim room with the glow of the scene's source."""
    height, width = rows.shape
    frame = np.full((height, width, 3), 18.0, dtype=np.float32)
    frame += np.asarray(rng.normal(0.0, 4.0, size=frame.shape), dtype=np.float32)

    if state.source == "daylight":
        strength = 0.55 + 0.45 * state.glow
        window = np.clip(1.2 - rows / height, 0.2, 1.0)[..., None]
        frame += window * np.array(SOURCE_COLOUR["daylight"], np.float32) * strength
    elif state.source is not None:
        centre_row = height * (0.5 + float(rng.normal(0.0, 0.03)))
        centre_column = width * (0.5 + float(rng.normal(0.0, 0.03)))
        radius = min(height, width) * (
            0.04 + 0.25 * math.sqrt(REFERENCE_DISTANCE_CM / state.distance_cm) * 0.5
        )
        radius *= 0.6 + 0.8 * state.glow
        stretch = 2.2 if state.source == "lighter" else 1.0
        distance_sq = ((rows - centre_row) / stretch) ** 2 + (
            columns - centre_column
        ) ** 2
        glow = np.exp(-distance_sq / (2.0 * radius**2))[..., None]
        colour = np.array(SOURCE_COLOUR[state.source], np.float32)
        core = np.exp(-distance_sq / (0.5 * radius**2))[..., None]
        frame += glow * colour + core * 255.0 * (state.source == "flashlight")

    return np.clip(frame, 0, 255).astype(np.uint8)


def simulated_hardware(
    scene: Scene, *, camera_size: tuple[int, int] = (160, 120)
) -> Hardware:
    """Return a full set of simulated drivers sharing one scene."""
    width, height = camera_size
    return Hardware(
        light=SimulatedLight(scene),
        temperature=SimulatedTemperature(scene),
        distance=SimulatedDistance(scene),
        camera=SimulatedCamera(scene, width=width, height=height),
    )


class ManualClock:
    """A clock that only moves when told, for generating data fast."""

    def __init__(self) -> None:
        """Start at zero."""
        self.now = 0.0

    def __call__(self) -> float:
        """Return the current time."""
        return self.now


@dataclass(frozen=True, slots=True)
class SimulatedSample:
    """One simulated reading with the source that was really there."""

    time_s: float
    source: str | None
    features: dict[str, float]
    saturated: bool


def simulate_readings(
    schedule: Sequence[ScheduleStep],
    *,
    count: int,
    rate_hz: float = 2.0,
    seed: int = 0,
) -> Iterator[SimulatedSample]:
    """Yield readings of a scripted scene as fast as they can be computed."""
    clock = ManualClock()
    scene = Scene(schedule, seed=seed, clock=clock)
    light = SimulatedLight(scene)
    temperature = SimulatedTemperature(scene)
    distance = SimulatedDistance(scene)
    window = FeatureWindow()
    for index in range(count):
        clock.now = index / rate_hz
        source = scene.state().source
        light_reading = light.read()
        values = {
            **light_reading.values(),
            "temperature": temperature.read(),
            "distance": distance.read(),
        }
        yield SimulatedSample(
            time_s=clock.now,
            source=source,
            features=window.update(values),
            saturated=light_reading.saturated,
        )
