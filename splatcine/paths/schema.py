"""The camera-path YAML language, as pydantic models (the one definition of the format).

A path is a list of `keyframes` (or a single `start`), then a chain of film `moves`
relative to where the keyframes leave the camera. Every model forbids unknown keys and
non-finite numbers; ranges are checked here with messages that say what is allowed.
Cross-field rules that need the scene (from_frame, metres) live in `build.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator, model_validator

Easing = Literal["linear", "ease-in", "ease-out", "ease-in-out"]
TargetName = Literal[
    "wan", "cogvideox", "hunyuan", "ltx", "voyager", "gen3c", "cameractrl", "recammaster", "none"
]

MOVE_KEYS = (
    "dolly",
    "truck",
    "pedestal",
    "crane",
    "pan",
    "tilt",
    "roll",
    "orbit",
    "zoom",
    "dolly_zoom",
)


def _within(lo: float, hi: float, unit: str, *, open_lo: bool = False):
    """A float in [lo, hi] (or (lo, hi] when `open_lo`), with a message naming the range."""

    def check(value: float) -> float:
        if value > hi or value < lo or (open_lo and value == lo):
            bounds = f"{lo:g}-{hi:g}" if lo >= 0 else f"{lo:g} to {hi:g}"
            bounds = f"above {lo:g} and at most {hi:g}" if open_lo else bounds
            raise ValueError(f"{value:g} is outside {bounds} {unit}".rstrip())
        return value

    return AfterValidator(check)


Seconds = Annotated[float, _within(0.0, 3600.0, "seconds", open_lo=True)]
Degrees = Annotated[float, _within(-3600.0, 3600.0, "degrees")]
Fov = Annotated[float, _within(1.0, 170.0, "degrees")]
Distance = Annotated[float, _within(-1e6, 1e6, "units")]
Coordinate = Annotated[float, _within(-1e6, 1e6, "")]
Vec3 = tuple[Coordinate, Coordinate, Coordinate]
Quat = tuple[Coordinate, Coordinate, Coordinate, Coordinate]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Keyframe(_Model):
    """A camera at a time: `position` with `look_at` or `rotation`, or `from_frame`."""

    time: Annotated[float, _within(0.0, 3600.0, "seconds")] | None = None
    position: Vec3 | None = None
    look_at: Vec3 | None = None
    rotation: Quat | None = None  # world_from_cam unit quaternion [w, x, y, z], OpenCV camera axes
    up: Vec3 | None = None
    fov: Fov | None = None  # vertical, degrees
    from_frame: Annotated[int, _within(0, 10**7, "")] | None = None
    hold: Annotated[float, _within(0.0, 3600.0, "seconds")] = 0.0
    easing: Easing = "linear"  # of the segment arriving at this keyframe

    @model_validator(mode="after")
    def _one_pose(self) -> "Keyframe":
        if self.from_frame is not None:
            if self.position is not None or self.rotation is not None or self.look_at is not None:
                raise ValueError(
                    "from_frame takes the source camera's pose: drop position, look_at and rotation"
                )
            return self
        if self.position is None:
            raise ValueError("needs a position (with look_at or rotation) or from_frame")
        if (self.look_at is None) == (self.rotation is None):
            raise ValueError("needs exactly one of look_at or rotation beside position")
        if self.up is not None and self.look_at is None:
            raise ValueError("up only applies with look_at (a rotation already fixes the roll)")
        return self


class Orbit(_Model):
    angle: Degrees  # positive: the camera travels to its right around the pivot
    pivot: Vec3 | None = None  # default: what the camera looks at (look_at, or the scene's depth)
    axis: Vec3 | None = None  # default: the world up


class Zoom(_Model):
    factor: Annotated[float, _within(0.0, 100.0, "x", open_lo=True)] | None = None
    fov: Fov | None = None  # the vertical field of view to end on

    @model_validator(mode="after")
    def _one(self) -> "Zoom":
        if (self.factor is None) == (self.fov is None):
            raise ValueError("give exactly one of factor or fov")
        return self


class DollyZoom(_Model):
    distance: Distance  # along the view axis, positive = towards the subject
    subject: Vec3 | None = None  # default: what the camera looks at


def _scalar_to(field: str):
    """Let `orbit: 90` stand for `orbit: {angle: 90}` (and likewise zoom, dolly_zoom)."""

    def convert(value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {field: value}
        return value

    return convert


class Move(_Model):
    """One segment of the chain: a `hold`, or one or more moves played together over `duration`."""

    duration: Seconds | None = None
    easing: Easing = "ease-in-out"
    hold: Seconds | None = None
    dolly: Distance | None = None  # along the view axis, positive = forward
    truck: Distance | None = None  # along the camera's x, positive = right
    pedestal: Distance | None = None  # along the camera's up, positive = up
    crane: Distance | None = None  # along the world up, positive = rises
    pan: Degrees | None = None  # about the world up, positive = right
    tilt: Degrees | None = None  # about the camera's x, positive = up
    roll: Degrees | None = None  # about the view axis, positive = clockwise
    orbit: Orbit | None = None
    zoom: Zoom | None = None
    dolly_zoom: DollyZoom | None = None

    _orbit = field_validator("orbit", mode="before")(_scalar_to("angle"))
    _zoom = field_validator("zoom", mode="before")(_scalar_to("factor"))
    _dolly_zoom = field_validator("dolly_zoom", mode="before")(_scalar_to("distance"))

    @model_validator(mode="after")
    def _shape(self) -> "Move":
        moves = [k for k in MOVE_KEYS if getattr(self, k) is not None]
        if self.hold is not None:
            if moves or self.duration is not None:
                raise ValueError("a hold stands alone: `- hold: SECONDS`")
            return self
        if not moves:
            raise ValueError(f"needs a move ({', '.join(MOVE_KEYS)}) or hold")
        if self.duration is None:
            raise ValueError(f"needs a duration in seconds for {', '.join(moves)}")
        if self.zoom is not None and self.dolly_zoom is not None:
            raise ValueError("zoom and dolly_zoom both set the lens: use one")
        return self

    @property
    def seconds(self) -> float:
        return float(self.hold if self.hold is not None else self.duration)


class Target(_Model):
    """A video model's frame-count and size rules; any field overrides the preset's."""

    model: TargetName = "none"
    frame_rule: str | Annotated[int, _within(1, 10000, "frames")] | None = None  # "4n+1" or a count
    side_multiple: Annotated[int, _within(1, 256, "pixels")] | None = None


class Interpolation(_Model):
    position: Literal["catmull-rom", "kochanek-bartels", "linear"] = "catmull-rom"
    rotation: Literal["spline", "squad", "slerp"] = "spline"
    tension: Annotated[float, _within(-1.0, 1.0, "")] = 0.0
    continuity: Annotated[float, _within(-1.0, 1.0, "")] = 0.0
    bias: Annotated[float, _within(-1.0, 1.0, "")] = 0.0
    constant_speed: bool = False

    @model_validator(mode="after")
    def _tcb(self) -> "Interpolation":
        if (self.tension, self.continuity, self.bias) != (
            0.0,
            0.0,
            0.0,
        ) and self.position != "kochanek-bartels":
            raise ValueError("tension, continuity and bias need position: kochanek-bartels")
        return self


class PathSpec(_Model):
    """The whole file."""

    fps: Annotated[float, _within(0.0, 240.0, "frames per second", open_lo=True)] | None = None
    duration: Seconds | None = None
    frames: Annotated[int, _within(1, 10000, "frames")] | None = None
    resolution: (
        tuple[
            Annotated[int, _within(16, 8192, "pixels")], Annotated[int, _within(16, 8192, "pixels")]
        ]
        | None
    ) = None
    vfov: Fov | None = None
    focal_mm: Annotated[float, _within(1.0, 2000.0, "mm")] | None = None
    sensor_width_mm: Annotated[float, _within(1.0, 100.0, "mm")] = 36.0
    target: Target = Target()
    units: Literal["scene", "metres"] = "scene"
    up: Vec3 | None = None
    interpolation: Interpolation = Interpolation()
    start: Keyframe | None = None
    keyframes: list[Keyframe] | None = None
    moves: list[Move] = []

    _target = field_validator("target", mode="before")(
        lambda v: {"model": v} if isinstance(v, str) else v
    )

    @model_validator(mode="after")
    def _shape(self) -> "PathSpec":
        if self.vfov is not None and self.focal_mm is not None:
            raise ValueError("give the lens as vfov or focal_mm, not both")
        if self.duration is not None and self.frames is not None:
            raise ValueError("give duration or frames, not both")
        if (self.start is None) == (self.keyframes is None):
            raise ValueError("needs `start` (one camera) or `keyframes` (a list), not both")
        if self.keyframes is not None and not self.keyframes:
            raise ValueError("keyframes is empty")
        return self

    @property
    def anchors(self) -> list[Keyframe]:
        return [self.start] if self.start is not None else list(self.keyframes or [])
