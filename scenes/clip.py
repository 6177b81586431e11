"""Clips of the procedural set on disk: a shot with its ground truth, and ground-truth scenes.

A clip directory holds

    shot.mp4               the frames as H.264 (yuv420p), what a user would hand to splatcine
    frames/frame_%05d.png  the same frames, lossless
    depth.npz              `depth`: float32 [F, H, W] z-depth along the optical axis (metres)
    cameras.json           per frame `cam_from_world` (4x4, OpenCV) and fx fy cx cy w h;
                           `cuts` (first frame of each new shot), `fps`, the move and the set seed
    masks/frame_%05d.png   for clips with a moving object: 255 = the moving object (ignore)

`write_ground_truth_scene` renders the same move straight into a splatcine scene directory
(with points back-projected from the true depth), so later stages can be tested without SfM.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import splatcine
from splatcine.atomic import atomic_directory
from splatcine.cameras import Camera, Intrinsics
from splatcine.errors import InputError
from splatcine.io.ply import write_points_ply
from splatcine.io.video import write_image, write_video
from splatcine.scene import layout
from splatcine.scene.transforms import write_transforms
from scenes.moves import NAMES, cameras_for
from scenes.output import procedural_directory
from scenes.walkers import follow_set, passing_set, walkers_set
from scenes.world import Mover, ProceduralSet

VIDEO = "shot.mp4"
FRAMES = "frames"
DEPTH = "depth.npz"
CAMERAS = "cameras.json"
MASKS = "masks"


def frame_name(index: int) -> str:
    return f"frame_{index:05d}.png"


@dataclass
class Clip:
    """A rendered clip: where its files are, its true cameras and cuts, and the set it shows."""

    name: str
    root: Path
    cameras: list[Camera]
    cuts: list[int]
    set: ProceduralSet
    fps: int
    has_masks: bool

    @property
    def video_path(self) -> Path:
        return self.root / VIDEO

    @property
    def frames_dir(self) -> Path:
        return self.root / FRAMES

    @property
    def frame_paths(self) -> list[Path]:
        return [self.frames_dir / frame_name(i) for i in range(len(self.cameras))]

    @property
    def depth_path(self) -> Path:
        return self.root / DEPTH

    @property
    def cameras_path(self) -> Path:
        return self.root / CAMERAS

    @property
    def masks_dir(self) -> Path | None:
        return self.root / MASKS if self.has_masks else None

    @property
    def mask_paths(self) -> list[Path] | None:
        masks = self.masks_dir
        return None if masks is None else [masks / frame_name(i) for i in range(len(self.cameras))]

    def depth(self) -> np.ndarray:  # [F, H, W] float32
        with np.load(self.depth_path) as data:
            return data["depth"]

    def times(self) -> np.ndarray:  # [F] seconds: the time each frame shows
        return np.arange(len(self.cameras)) / self.fps


def set_for(name: str, seed: int = 0, frames: int = 48, fps: int = 24) -> ProceduralSet:
    """The set a move is filmed on: for `moving`, with a ball crossing the room during the clip;
    for `walkers` and `chase`, with a person-sized walker and a ball; for `passing` and `follow`,
    with the train or the walker that keeps pace (`scenes.walkers`)."""
    duration = max(frames - 1, 1) / fps
    with_movers = {"walkers": walkers_set, "chase": walkers_set, "passing": passing_set, "follow": follow_set}
    if name in with_movers:
        return with_movers[name](seed, duration=duration)
    if name != "moving":
        return ProceduralSet(seed=seed)
    return ProceduralSet(seed=seed, mover=Mover.crossing(duration=duration))


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise InputError(f"unknown scene '{name}' (choose from: {', '.join(NAMES)})")


def _check_size(name: str, frames: int, width: int, height: int) -> None:
    least = 3 if name == "cut" else 1
    if frames < least:
        raise InputError(f"the '{name}' clip needs at least {least} frames (got {frames})")
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise InputError(f"image size must be even and at least 16x16 (got {width}x{height})")


def make_clip(
    name: str,
    out_dir: Path,
    frames: int = 48,
    width: int = 480,
    height: int = 270,
    fps: int = 24,
    seed: int = 0,
    overwrite: bool = True,
) -> Clip:
    """Render the move `name` (see `scenes.NAMES`) into the clip directory `out_dir`."""
    _check_name(name)
    _check_size(name, frames, width, height)
    cameras, cuts = cameras_for(name, frames, width, height)
    world = set_for(name, seed, frames, fps)
    out_dir = Path(out_dir)
    with procedural_directory(out_dir, overwrite, f"{name} clip") as tmp:
        (tmp / FRAMES).mkdir()
        if world.mover is not None:
            (tmp / MASKS).mkdir()
        rgbs, depths = [], []
        for i, camera in enumerate(cameras):
            layers = world.render_layers(camera, time=i / fps)
            write_image(tmp / FRAMES / frame_name(i), layers.rgb)
            if world.mover is not None:
                write_image(tmp / MASKS / frame_name(i), _mask(layers.moving))
            rgbs.append(layers.rgb)
            depths.append(layers.depth)
        write_video(tmp / VIDEO, rgbs, fps=fps)
        np.savez_compressed(tmp / DEPTH, depth=np.stack(depths))
        doc = {
            "scene": name,
            "seed": seed,
            "fps": fps,
            "cuts": cuts,
            "frames": [_camera_json(c) for c in cameras],
        }
        (tmp / CAMERAS).write_text(json.dumps(doc, indent=1))
    return Clip(name, out_dir, cameras, cuts, world, fps, world.mover is not None)


def load_clip(out_dir: Path) -> Clip:
    """Read back a clip directory written by `make_clip`."""
    root = Path(out_dir)
    path = root / CAMERAS
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (not a procedural clip directory)") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    try:
        cameras = [_camera_from_json(f) for f in doc["frames"]]
        name, seed, fps, cuts = doc["scene"], int(doc["seed"]), int(doc["fps"]), list(doc["cuts"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: missing or malformed field {err}") from None
    world = set_for(name, seed, len(cameras), fps)
    return Clip(name, root, cameras, cuts, world, fps, (root / MASKS).is_dir())


def write_ground_truth_scene(
    name: str,
    out_dir: Path,
    frames: int = 24,
    width: int = 480,
    height: int = 270,
    points: int = 20000,
    fps: int = 24,
    seed: int = 0,
    overwrite: bool = True,
) -> Path:
    """A splatcine scene directory of the move `name` with true cameras and depth-derived points.

    Holds manifest.json, transforms.json (with `source_frame`), images/, masks/ (for the
    `moving` clip), points.ply (`points` points back-projected from the true depth, off the
    moving object, with their colours) and `ground_truth/depth.npz` (float32 [F, H, W]).
    """
    _check_name(name)
    _check_size(name, frames, width, height)
    cameras, cuts = cameras_for(name, frames, width, height)
    world = set_for(name, seed, frames, fps)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    per_frame = -(-points // frames)  # ceil: spread the points evenly over the frames
    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        (tmp / layout.IMAGES).mkdir()
        (tmp / "ground_truth").mkdir()
        if world.mover is not None:
            (tmp / layout.MASKS).mkdir()
        file_paths, mask_paths, depths, xyz, rgb = [], [], [], [], []
        for i, camera in enumerate(cameras):
            layers = world.render_layers(camera, time=i / fps)
            file_paths.append(f"{layout.IMAGES}/{frame_name(i)}")
            write_image(tmp / file_paths[-1], layers.rgb)
            if world.mover is not None:
                mask_paths.append(f"{layout.MASKS}/{frame_name(i)}")
                write_image(tmp / mask_paths[-1], _mask(layers.moving))
            depths.append(layers.depth)
            p, c = _sample_points(camera, layers.rgb, layers.depth, ~layers.moving, per_frame, rng)
            xyz.append(p)
            rgb.append(c)
        xyz, rgb = np.concatenate(xyz)[:points], np.concatenate(rgb)[:points]
        write_points_ply(tmp / layout.POINTS_PLY, xyz, rgb)
        np.savez_compressed(tmp / "ground_truth" / "depth.npz", depth=np.stack(depths))
        write_transforms(
            tmp / layout.TRANSFORMS,
            cameras,
            file_paths,
            source_frames=list(range(len(cameras))),
            mask_paths=mask_paths or None,
        )
        manifest = {
            "made_by": "scenes.write_ground_truth_scene",
            "ground_truth": True,
            "scene": name,
            "settings": {"frames": frames, "width": width, "height": height, "points": points,
                         "fps": fps, "seed": seed},
            "cuts": cuts,
            "normalization": {"metres_per_unit": 1.0, "world_from_input": np.eye(4).tolist()},
            "versions": {"splatcine": splatcine.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
        }
        (tmp / layout.MANIFEST).write_text(json.dumps(manifest, indent=2))
    return out_dir


def back_project(camera: Camera, depth: np.ndarray) -> np.ndarray:
    """World points [H, W, 3] of every pixel centre at its z-depth [H, W]."""
    k = camera.intrinsics
    xs = (np.arange(k.width) + 0.5 - k.cx) / k.fx
    ys = (np.arange(k.height) + 0.5 - k.cy) / k.fy
    cam = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None], 1.0), -1) * depth[..., None]
    world_from_cam = camera.world_from_cam
    return cam @ world_from_cam[:3, :3].T + world_from_cam[:3, 3]


def _sample_points(camera, rgb, depth, keep, count, rng) -> tuple[np.ndarray, np.ndarray]:
    """`count` random pixels of `keep` [H, W] back-projected: xyz [count, 3], rgb [count, 3]."""
    candidates = np.flatnonzero(keep & np.isfinite(depth))
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    xyz = back_project(camera, depth).reshape(-1, 3)[chosen]
    return xyz, rgb.reshape(-1, 3)[chosen]


def _mask(moving: np.ndarray) -> np.ndarray:
    return np.where(moving, layout.MASK_IGNORE, 0).astype(np.uint8)


def _camera_json(camera: Camera) -> dict:
    k = camera.intrinsics
    return {"cam_from_world": camera.cam_from_world.tolist(), "fx": k.fx, "fy": k.fy,
            "cx": k.cx, "cy": k.cy, "w": k.width, "h": k.height}


def _camera_from_json(doc: dict) -> Camera:
    k = Intrinsics(float(doc["fx"]), float(doc["fy"]), float(doc["cx"]), float(doc["cy"]),
                   int(doc["w"]), int(doc["h"]))
    return Camera(np.asarray(doc["cam_from_world"], dtype=np.float64), k)
