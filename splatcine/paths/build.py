"""From a validated path file (and optionally a scene) to one camera per output frame.

Timeline: the keyframes first (from the first keyframe's time to the last one's time
plus hold), then each move in order. `duration` may extend the end with a hold; the
frame count comes from `frames`, or `duration x fps + 1`, fitted to the target's rule.
Frames are spread evenly over the whole timeline (frame i at i * T / (F - 1)), so a
count rounded to a model's rule changes the speed by at most one step, never cuts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.errors import InputError
from splatcine.paths import targets
from splatcine.paths.interpolate import Anchor, KeyframeCurve
from splatcine.paths.moves import Pose, ease, pivot_of, play, subject_distance
from splatcine.paths.schema import Keyframe
from splatcine.paths.source import PathSource
from splatcine.scene import Scene, load_scene

DEFAULT_VFOV = 50.0
DEFAULT_UP = np.array([0.0, 0.0, 1.0])
MIN_FOCUS = 1e-6  # a subject closer than this to the camera has no usable image size


@dataclass(frozen=True)
class SampledPath:
    """One OpenCV camera per output frame, with the timing and lens of each."""

    cam_from_world: np.ndarray = field(repr=False)  # [F, 4, 4] OpenCV
    intrinsics: list[Intrinsics] = field(repr=False)  # one per frame (the FOV can change)
    times: np.ndarray = field(repr=False)  # [F] seconds along the path
    fps: float
    width: int
    height: int
    name: str = ""
    key_times: np.ndarray = field(
        default_factory=lambda: np.zeros(0), repr=False
    )  # [K] keyframe and move boundaries
    key_cam_from_world: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 4, 4)), repr=False
    )  # [K, 4, 4]
    key_vfov: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # [K] degrees
    up: np.ndarray = field(default_factory=lambda: DEFAULT_UP.copy(), repr=False)  # [3] world up
    metres_per_unit: float | None = None

    def __len__(self) -> int:
        return len(self.cam_from_world)

    @property
    def cameras(self) -> list[Camera]:
        return [Camera(m, k) for m, k in zip(self.cam_from_world, self.intrinsics)]

    @property
    def vfov(self) -> np.ndarray:  # [F] degrees
        return np.array([k.vfov_deg for k in self.intrinsics])

    @property
    def seconds(self) -> float:
        return float(self.times[-1]) if len(self.times) else 0.0


def build(source: PathSource, scene: Scene | Path | str | None = None) -> SampledPath:
    spec = source.spec
    if scene is not None and not isinstance(scene, Scene):
        scene = load_scene(Path(scene))
    preset = targets.PRESETS[spec.target.model]
    scale = _unit_scale(source, scene)
    up = _world_up(source, scene)
    width, height = _resolution(source, scene, preset)
    lens_vfov = _lens_vfov(source, width, height)
    anchors = [
        _anchor(source, i, kf, scene, scale, up, lens_vfov) for i, kf in enumerate(spec.anchors)
    ]
    curve = KeyframeCurve(anchors, spec.interpolation)

    # The chain of moves, each starting where the previous one ended.
    starts, segment_times, pose = [], [], curve.at(curve.end)
    t = curve.end
    for j, move in enumerate(spec.moves):
        _check_move(source, j, move, pose, scale, up)
        starts.append(pose)
        segment_times.append((t, t + move.seconds))
        pose = play(move, pose, 1.0, up, scale)
        if not 1.0 <= pose.vfov <= 170.0:
            raise source.error(
                ("moves", j), f"the lens ends at {pose.vfov:.3g} degrees, outside 1-170"
            )
        t += move.seconds
    end = t
    total = _duration(source, end)
    fps = spec.fps or preset.fps
    count = _frame_count(source, preset, total, fps)
    times = np.linspace(0.0, total, count) if count > 1 else np.zeros(1)

    def pose_at(time: float) -> Pose:
        if time <= curve.end or not spec.moves:
            return curve.at(time)
        for j, (t0, t1) in enumerate(segment_times):
            if time <= t1 or j == len(segment_times) - 1:
                move = spec.moves[j]
                s = 0.0 if move.hold is not None else ease(move.easing, (time - t0) / (t1 - t0))
                return play(move, starts[j], s, up, scale)
        raise AssertionError("unreachable")

    try:
        poses = [pose_at(float(time)) for time in times]
    except ValueError as err:  # a tracking camera that runs into its look_at target
        raise source.error(
            ("keyframes",), f"{err} between keyframes; move the target off the path"
        ) from None
    cam_from_world = np.stack([p.cam_from_world for p in poses])
    vfovs = np.array([p.vfov for p in poses])
    if not (np.isfinite(cam_from_world).all() and np.isfinite(vfovs).all()):
        raise InputError(
            f"{source.name}: the path leaves the range of finite numbers (values too large?)"
        )
    key_times = (
        [a.time for a in anchors]
        + [a.time + a.hold for a in anchors if a.hold]
        + [t1 for _, t1 in segment_times]
    )
    key_times = np.unique(np.clip(key_times, 0.0, total))
    key_poses = [pose_at(float(time)) for time in key_times]
    return SampledPath(
        cam_from_world=cam_from_world,
        intrinsics=[Intrinsics.from_vfov(v, width, height) for v in vfovs],
        times=times,
        fps=float(fps),
        width=width,
        height=height,
        name=source.name,
        key_times=key_times,
        key_cam_from_world=np.stack([p.cam_from_world for p in key_poses]),
        key_vfov=np.array([p.vfov for p in key_poses]),
        up=up,
        metres_per_unit=scene.metres_per_unit if scene is not None else None,
    )


def _unit_scale(source: PathSource, scene: Scene | None) -> float:
    if source.spec.units == "scene":
        return 1.0
    if scene is None or not scene.metres_per_unit:
        raise source.error(
            ("units",),
            "metres need a scene with a metric scale (manifest normalization.metres_per_unit); "
            "use units: scene",
        )
    return 1.0 / scene.metres_per_unit


def _world_up(source: PathSource, scene: Scene | None) -> np.ndarray:
    """The written `up`, else the source cameras' average up, else +z."""
    if source.spec.up is not None:
        up = np.asarray(source.spec.up, dtype=np.float64)
        if np.linalg.norm(up) < 1e-9:
            raise source.error(("up",), "the up vector is zero")
        return up / np.linalg.norm(up)
    if scene is not None and scene.frames:
        return _scene_up(np.stack([c.world_from_cam[:3, :3] for c in scene.cameras]))
    return DEFAULT_UP.copy()


def _scene_up(world_from_cam_R: np.ndarray) -> np.ndarray:  # [C, 3, 3] -> [3]
    """The up of a shot held without roll: the direction most orthogonal to every camera's x.

    When the x axes do not span a plane (a straight dolly), the mean camera up is used.
    """
    mean_up = -world_from_cam_R[:, :, 1].mean(axis=0)  # OpenCV y points down
    xs = world_from_cam_R[:, :, 0]
    values, vectors = np.linalg.eigh(xs.T @ xs)
    if values[1] > 1e-3 * len(xs):  # the x axes turn: their common normal is the up
        up = vectors[:, 0]
        return up if up @ mean_up >= 0 else -up
    if np.linalg.norm(mean_up) > 0.5:
        return mean_up / np.linalg.norm(mean_up)
    return DEFAULT_UP.copy()


def _resolution(source: PathSource, scene: Scene | None, preset: targets.Preset) -> tuple[int, int]:
    spec = source.spec
    multiple = spec.target.side_multiple or preset.side_multiple
    if spec.resolution is not None:
        width, height = spec.resolution
        if preset.fixed_size and (width, height) != preset.resolution:
            raise source.error(
                ("resolution",),
                f"{width}x{height} does not fit target {spec.target.model} "
                f"(it takes exactly {preset.resolution[0]}x{preset.resolution[1]})",
            )
        if width % multiple or height % multiple:
            near = (
                f"{targets.nearest_side(width, multiple)}x{targets.nearest_side(height, multiple)}"
            )
            raise source.error(
                ("resolution",),
                f"{width}x{height} does not fit target {spec.target.model} "
                f"(sides multiple of {multiple}); nearest is {near}",
            )
        return width, height
    if spec.target.model == "none" and scene is not None and scene.frames:
        k = scene.frames[0].camera.intrinsics
        return k.width, k.height
    width, height = preset.resolution
    return targets.nearest_side(width, multiple), targets.nearest_side(height, multiple)


def _lens_vfov(source: PathSource, width: int, height: int) -> float | None:
    spec = source.spec
    if spec.vfov is not None:
        return spec.vfov
    if spec.focal_mm is None:
        return None
    tan_half_h = spec.sensor_width_mm / (2.0 * spec.focal_mm)
    vfov = float(np.degrees(2.0 * np.arctan(tan_half_h * height / width)))
    if not 1.0 <= vfov <= 170.0:
        raise source.error(
            ("focal_mm",),
            f"{spec.focal_mm:g} mm gives a {vfov:.3g} degree vertical view, outside 1-170",
        )
    return vfov


def _anchor(
    source: PathSource,
    i: int,
    kf: Keyframe,
    scene: Scene | None,
    scale: float,
    up: np.ndarray,
    lens_vfov: float | None,
) -> Anchor:
    spec = source.spec
    loc = ("start",) if spec.start is not None else ("keyframes", i)
    anchors = spec.anchors
    if spec.keyframes is not None and len(anchors) > 1 and kf.time is None:
        raise source.error(loc, "needs a time in seconds (several keyframes)")
    time = kf.time or 0.0
    if i > 0:
        previous = anchors[i - 1]
        ends = (previous.time or 0.0) + previous.hold
        if time <= ends:
            raise source.error(
                loc + ("time",), f"{time:g} s must come after keyframes[{i - 1}] ends at {ends:g} s"
            )
    kup = up
    if kf.up is not None:
        kup = np.asarray(kf.up, dtype=np.float64)
        if np.linalg.norm(kup) < 1e-9:
            raise source.error(loc + ("up",), "the up vector is zero")
        kup = kup / np.linalg.norm(kup)
    target = None
    if kf.from_frame is not None:
        if scene is None:
            raise source.error(loc + ("from_frame",), "needs a scene (pass --scene / scene=)")
        try:
            frame = scene.frame_by_source(kf.from_frame)
        except InputError as err:
            raise source.error(loc + ("from_frame",), str(err)) from None
        world_from_cam = frame.camera.world_from_cam
        center, R = world_from_cam[:3, 3], world_from_cam[:3, :3]
        vfov = kf.fov or lens_vfov or frame.camera.intrinsics.vfov_deg
        focus = _scene_depth(scene, center, R[:, 2])
    else:
        center = np.asarray(kf.position, dtype=np.float64) * scale
        if kf.look_at is not None:
            target = np.asarray(kf.look_at, dtype=np.float64) * scale
            try:
                R = look_at(center, target, kup)[:3, :3].T
            except ValueError as err:
                field = "look_at" if "equals" in str(err) else "up"
                raise source.error(
                    loc + (field,),
                    f"{err} (position {list(kf.position)}, look_at {list(kf.look_at)})",
                ) from None
            focus = float(np.linalg.norm(target - center))
        else:
            q = np.asarray(kf.rotation, dtype=np.float64)
            q = q / max(np.abs(q).max(), 1e-300)  # rescale first so the norm cannot overflow
            if np.linalg.norm(q) < 1e-9:
                raise source.error(
                    loc + ("rotation",), "is a zero quaternion; write [w, x, y, z] of unit length"
                )
            from scipy.spatial.transform import Rotation

            R = Rotation.from_quat(np.roll(q / np.linalg.norm(q), -1)).as_matrix()  # wxyz -> xyzw
            focus = None
        vfov = kf.fov or lens_vfov or _scene_vfov(scene)
    pose = Pose(center, R, float(vfov), focus)
    return Anchor(time=time, hold=kf.hold, easing=kf.easing, pose=pose, target=target, up=kup)


def _scene_vfov(scene: Scene | None) -> float:
    if scene is not None and scene.frames:
        return scene.frames[0].camera.intrinsics.vfov_deg
    return DEFAULT_VFOV


def _scene_depth(scene: Scene, center: np.ndarray, forward: np.ndarray) -> float | None:
    """Median depth of the sparse points ahead of a camera: what a from_frame camera looks at."""
    if len(scene.points) == 0:
        return None
    depth = (scene.points - center) @ forward
    ahead = depth[depth > MIN_FOCUS]
    return float(np.median(ahead)) if len(ahead) else None


def _check_move(source: PathSource, j: int, move, pose: Pose, scale: float, up: np.ndarray) -> None:
    loc = ("moves", j)
    if move.orbit is not None:
        if pivot_of(move, pose, scale) is None:
            raise source.error(
                loc + ("orbit",),
                "needs a pivot: give orbit.pivot, or start from a look_at keyframe or a scene",
            )
        if move.orbit.axis is not None and np.linalg.norm(move.orbit.axis) < 1e-9:
            raise source.error(loc + ("orbit", "axis"), "the axis is zero")
    if move.dolly_zoom is not None:
        distance = subject_distance(move, pose, scale)
        if distance is None:
            raise source.error(
                loc + ("dolly_zoom",),
                "needs a subject: give dolly_zoom.subject, "
                "or start from a look_at keyframe or a scene",
            )
        if distance <= MIN_FOCUS:
            raise source.error(
                loc + ("dolly_zoom", "subject"), "the subject is not in front of the camera"
            )
        if move.dolly_zoom.distance * scale >= distance - MIN_FOCUS:
            raise source.error(
                loc + ("dolly_zoom", "distance"),
                f"{move.dolly_zoom.distance:g} would reach the subject, "
                f"{distance / scale:.3g} ahead",
            )


def _duration(source: PathSource, end: float) -> float:
    spec = source.spec
    if spec.duration is not None:
        if spec.duration < end - 1e-9:
            raise source.error(
                ("duration",),
                f"{spec.duration:g} s is shorter than the keyframes and moves ({end:g} s)",
            )
        return float(spec.duration)
    if end <= 0.0 and spec.frames is None:
        raise source.error(
            (), "the path has no length: give a duration, a second keyframe, or a move"
        )
    return end


def _frame_count(source: PathSource, preset: targets.Preset, total: float, fps: float) -> int:
    spec = source.spec
    try:
        rule = targets.parse_rule(
            spec.target.frame_rule if spec.target.frame_rule is not None else preset.frame_rule
        )
    except ValueError as err:
        raise source.error(("target", "frame_rule"), str(err)) from None
    if spec.frames is not None:
        if not targets.fits(spec.frames, rule):
            raise source.error(
                ("frames",),
                f"{spec.frames} does not fit target {spec.target.model} "
                f"({targets.describe(rule)}); "
                f"nearest is {targets.nearest_count(spec.frames, rule)}",
            )
        return spec.frames
    wanted = int(round(total * fps)) + 1
    count = targets.nearest_count(wanted, rule)
    if count > 10000:
        raise source.error(
            ("duration",), f"{total:g} s at {fps:g} fps is {count} frames; at most 10000"
        )
    return count
