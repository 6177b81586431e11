"""Second shots of the procedural set, as a video model might return them, with the truth about each.

The first shot is the `orbit` clip (`scenes.moves.orbit`: a 90 degree arc facing the table from
the -x side). A second shot asks for another move through the same room (`second_path`, a
closer, higher arc inside what the orbit saw) and comes back in one of these variants:

    unchanged   the set as it was, on the requested path
    moved       the box on the table shifted 35 cm along y
    repainted   the crate's faces in another paint and pattern
    off-path    the set unchanged, but the camera drifts off the requested path (a model ignoring it)

`beyond_path` continues the orbit round the far side of the room (what the first shot never
saw) for `extend`; `third_path` films that far side again (a third shot, registered against the
extended set); `survey_path` sweeps both sides for measuring how much of a set is unseen.

`make_shot(variant, out_dir)` writes a clip directory like `scenes.make_clip` (shot.mp4,
frames/, cameras.json with the true cameras) plus `requested.json` (the cameras asked for) and
`changes.npz` (`changed`: bool [F, H, W], the pixels that differ from the unchanged set).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splatcine.cameras import Camera, look_at
from splatcine.errors import InputError
from splatcine.io.video import write_image, write_video
from scenes.clip import CAMERAS, FRAMES, VIDEO, _camera_from_json, _camera_json, frame_name
from scenes.geometry import Box
from scenes.moves import _ramp, intrinsics
from scenes.output import procedural_directory
from scenes.textures import MipTexture, Style, make_texture
from scenes.world import PAINT, PIVOT, TABLE_TOP_Z, ProceduralSet

VARIANTS = ("unchanged", "moved", "repainted", "off-path")
REQUESTED = "requested.json"
CHANGES = "changes.npz"
MOVED_BOX = (0.2, -0.15, TABLE_TOP_Z)  # low corner of the box on the table: the prop `moved` shifts
MOVE_BY = (0.0, 0.35, 0.0)  # metres
REPAINTED_CRATE = (2.1, 1.4, 0.0)  # low corner of the crate: the prop `repainted` paints over
CHANGED_RGB = 0.08  # a pixel counts as changed when its colour moved more than this (0-1, mean of RGB)


def _arc(degrees_from: float, degrees_to: float, radius: float, height: float, frames: int, width: int,
         height_px: int) -> list[Camera]:
    angles = np.radians(degrees_from + (degrees_to - degrees_from) * _ramp(frames))
    eyes = PIVOT + np.stack([radius * np.cos(angles), radius * np.sin(angles), np.full_like(angles, height)], 1)
    target = PIVOT - np.array([0.0, 0.0, 0.1])
    return [Camera(look_at(e, target), intrinsics(width, height_px)) for e in eyes]


def second_path(frames: int, width: int, height: int) -> list[Camera]:
    """A 50 degree arc at 2.6 m and 1.1 m above the table, inside the 90 degree arc the orbit filmed."""
    return _arc(170.0, 220.0, 2.6, 1.1, frames, width, height)


def beyond_path(frames: int, width: int, height: int) -> list[Camera]:
    """From the end of the orbit on round the room (225 -> 300 degrees): its later frames look at walls
    and props the orbit never saw; its first ones overlap the orbit's, so it can be registered."""
    return _arc(225.0, 300.0, 3.0, 0.9, frames, width, height)


def third_path(frames: int, width: int, height: int) -> list[Camera]:
    """The far side again (265 -> 300 degrees, closer and higher than `beyond_path`): a third shot that sees
    mostly what only the beyond shot filmed, to register against a set extended with it."""
    return _arc(265.0, 300.0, 2.8, 1.0, frames, width, height)


def survey_path(frames: int, width: int, height: int) -> list[Camera]:
    """A 150 degree sweep over both: what a third shot of the set might ask for."""
    return _arc(160.0, 310.0, 2.8, 1.0, frames, width, height)


def off_path(requested: list[Camera]) -> list[Camera]:
    """The requested cameras drifting away: up to 0.5 m sideways and 0.3 m up, turned 6 degrees, by the end."""
    out = []
    for s, cam in zip(_ramp(len(requested)), requested):
        world_from_cam = cam.world_from_cam
        eye = world_from_cam[:3, 3] + s * (0.5 * world_from_cam[:3, 0] + np.array([0.0, 0.0, 0.3]))
        target = world_from_cam[:3, 3] + world_from_cam[:3, 2] * 2.5
        yaw = np.radians(6.0) * s
        offset = target - eye
        c, si = np.cos(yaw), np.sin(yaw)
        offset = np.array([c * offset[0] - si * offset[1], si * offset[0] + c * offset[1], offset[2]])
        out.append(Camera(look_at(eye, eye + offset), cam.intrinsics))
    return out


def variant_set(variant: str, seed: int = 0) -> ProceduralSet:
    """The procedural set as the variant's shot shows it."""
    world = ProceduralSet(seed=seed)
    if variant == "moved":
        i = _prop_at(world, MOVED_BOX)
        box = world.props[i].shape
        moved = Box(tuple(np.add(box.lo, MOVE_BY)), tuple(np.add(box.hi, MOVE_BY)))
        world.props[i] = dataclasses.replace(world.props[i], shape=moved)
    elif variant == "repainted":
        i = _prop_at(world, REPAINTED_CRATE)
        shape = world.props[i].shape
        style = Style(PAINT, stamps=4.0, posters=1)
        world.textures = list(world.textures)  # a copy: the cached list is shared by every set
        world.textures[i] = [MipTexture(make_texture(*shape.face_extent(f), style, seed=(seed, 777, f)))
                             for f in range(shape.n_faces)]
    elif variant not in ("unchanged", "off-path"):
        raise InputError(f"unknown variant '{variant}' (choose from: {', '.join(VARIANTS)})")
    return world


@dataclass
class Shot:
    """A second shot on disk: its true cameras, the ones it was asked for, and what changed."""

    variant: str
    root: Path
    cameras: list[Camera]  # true, world frame
    requested: list[Camera]  # asked for, world frame

    @property
    def video_path(self) -> Path:
        return self.root / VIDEO

    def changed(self) -> np.ndarray:  # [F, H, W] bool
        with np.load(self.root / CHANGES) as data:
            return data["changed"]


def make_shot(variant: str, out_dir: Path, frames: int = 16, width: int = 320, height: int = 180,
              fps: int = 24, seed: int = 0, path: str = "second") -> Shot:
    """Render the second shot `variant` along `path` ("second", "beyond", "third" or "survey") into `out_dir`."""
    paths = {"second": second_path, "beyond": beyond_path, "third": third_path, "survey": survey_path}
    if path not in paths:
        raise InputError(f"unknown path '{path}' (choose from: {', '.join(paths)})")
    requested = paths[path](frames, width, height)
    cameras = off_path(requested) if variant == "off-path" else requested
    world, truth = variant_set(variant, seed), ProceduralSet(seed=seed)
    out_dir = Path(out_dir)
    with procedural_directory(out_dir, True, f"{variant} shot along {path}") as tmp:
        (tmp / FRAMES).mkdir()
        rgbs, changed = [], []
        for i, camera in enumerate(cameras):
            layers = world.render_layers(camera)
            write_image(tmp / FRAMES / frame_name(i), layers.rgb)
            rgbs.append(layers.rgb)
            if variant in ("moved", "repainted"):
                before = truth.render_layers(camera)
                diff = np.abs(layers.rgb.astype(np.float32) - before.rgb).mean(axis=2) / 255.0
                changed.append((layers.prop != before.prop) | (diff > CHANGED_RGB))
            else:
                changed.append(np.zeros(layers.depth.shape, bool))
        write_video(tmp / VIDEO, rgbs, fps=fps)
        np.savez_compressed(tmp / CHANGES, changed=np.stack(changed))
        doc = {"scene": f"second shot ({variant}, {path} path)", "seed": seed, "fps": fps, "cuts": [],
               "frames": [_camera_json(c) for c in cameras]}
        (tmp / CAMERAS).write_text(json.dumps(doc, indent=1))
        (tmp / REQUESTED).write_text(json.dumps({"frames": [_camera_json(c) for c in requested]}, indent=1))
    return Shot(variant, out_dir, cameras, requested)


def load_shot(out_dir: Path, variant: str = "") -> Shot:
    root = Path(out_dir)
    cameras = [_camera_from_json(f) for f in json.loads((root / CAMERAS).read_text())["frames"]]
    requested = [_camera_from_json(f) for f in json.loads((root / REQUESTED).read_text())["frames"]]
    return Shot(variant, root, cameras, requested)


def in_scene_frame(cameras: list[Camera], normalized_from_world: np.ndarray) -> list[Camera]:
    """World-frame cameras moved into a scene's normalised frame (`manifest.json` normalization:
    x_scene = s R x_world + t), keeping their intrinsics."""
    m = np.asarray(normalized_from_world, dtype=np.float64)
    s = float(np.cbrt(np.linalg.det(m[:3, :3])))
    R, t = m[:3, :3] / s, m[:3, 3]
    out = []
    for cam in cameras:
        Rc, tc = cam.cam_from_world[:3, :3], cam.cam_from_world[:3, 3]
        new = np.eye(4)
        new[:3, :3] = Rc @ R.T
        new[:3, 3] = s * tc - Rc @ R.T @ t
        out.append(Camera(new, cam.intrinsics))
    return out


def _prop_at(world: ProceduralSet, low_corner: tuple[float, float, float]) -> int:
    for i, prop in enumerate(world.props):
        if isinstance(prop.shape, Box) and np.allclose(prop.shape.lo, low_corner):
            return i
    raise KeyError(low_corner)


def ground_truth_splat(gt_scene: Path, normalized_from_world: np.ndarray, views: int = 8, block: int = 2):
    """A splat that is the truth, for a scene reconstructed from `write_ground_truth_scene`'s output:
    one Gaussian per `block` x `block` pixels of `views` of its frames, at the true depth, moved into
    the scene's normalised frame. Stands in for a trained splat where tests cannot afford training."""
    import torch

    from splatcine.render.fidelity import gaussians_from_depth
    from splatcine.io.video import read_image
    from splatcine.scene.transforms import read_transforms

    gt_scene = Path(gt_scene)
    cameras, entries, _ = read_transforms(gt_scene / "transforms.json")
    with np.load(gt_scene / "ground_truth" / "depth.npz") as data:
        depths = data["depth"]
    picks = np.unique(np.linspace(0, len(cameras) - 1, views).round().astype(int))
    cams, rgbs, ds = [], [], []
    for i in picks:
        k = cameras[i].intrinsics
        h, w = k.height // block * block, k.width // block * block
        rgb = read_image(gt_scene / entries[i]["file_path"])[:h, :w].astype(np.float64)
        d = depths[i][:h, :w].astype(np.float64)
        rgbs.append(rgb.reshape(h // block, block, w // block, block, 3).mean(axis=(1, 3)))
        ds.append(d.reshape(h // block, block, w // block, block).mean(axis=(1, 3)))
        cams.append(Camera(cameras[i].cam_from_world, k.resized(w // block, h // block)))
    g = gaussians_from_depth(cams, rgbs, ds, footprint=0.6)
    m = torch.as_tensor(np.asarray(normalized_from_world), dtype=torch.float32)
    s = float(torch.linalg.det(m[:3, :3]) ** (1 / 3))
    g.means = g.means @ m[:3, :3].T + m[:3, 3]
    g.log_scales = g.log_scales + float(np.log(s))
    return g


def true_boxes(changed: np.ndarray) -> list[tuple[int, int, int, int] | None]:
    """Per frame of `changed` [F, H, W] bool: the box (x0, y0, x1, y1, exclusive) around it, or None."""
    out = []
    for mask in changed:
        ys, xs = np.nonzero(mask)
        out.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None)
    return out


def change_iou(changes, changed: np.ndarray) -> float:
    """How well reported change regions (objects with `boxes`: frame -> box) outline the true change
    [F, H, W]: per frame, the box around the reported boxes that touch the true change's box, its IoU
    with that box; the mean over frames where both exist (0 when none do)."""
    from splatcine.check.consistency import box_iou

    ious = []
    for i, truth in enumerate(true_boxes(changed)):
        boxes = [c.boxes[i] for c in changes if i in c.boxes]
        boxes = [b for b in boxes if truth is not None and box_iou(b, truth) > 0]
        if boxes:
            union = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                     max(b[3] for b in boxes))
            ious.append(box_iou(union, truth))
    return float(np.mean(ious)) if ious else 0.0


def extension_figures(scene_dir: Path, result, shot: Shot, normalized_from_world: np.ndarray,
                      every: int = 2) -> dict[str, float]:
    """What `extend` (run with `every`) changed, against the truth of a `beyond` shot:

    - unseen_before/after: share of a 6-frame `survey_path` render the binary unseen mask covers;
    - new_part_psnr_before/after: PSNR against the true frames of the shot's frames extend did
      not train on, over the pixels the old set had not seen (its unseen mask there);
    - old_psnr_before/after: the first shot's held-out frames, from `result.held_out`.
    """
    from splatcine.io.ply import read_gaussians_ply
    from splatcine.io.video import read_image
    from splatcine.render import render_cameras
    from splatcine.render.fidelity import masked_psnr
    from splatcine.scene import load_scene

    before_scene, after_scene = load_scene(scene_dir), result.scene
    before, after = (read_gaussians_ply(s.splat_path) for s in (before_scene, after_scene))
    k = shot.cameras[0].intrinsics
    survey = in_scene_frame(survey_path(6, k.width, k.height), normalized_from_world)
    unseen = [float(render_cameras(g, survey, s.cameras).unseen_binary.mean())
              for g, s in ((before, before_scene), (after, after_scene))]
    held = [i for i in range(len(shot.cameras)) if i % every]
    cams = in_scene_frame([shot.cameras[i] for i in held], normalized_from_world)
    truth = np.stack([read_image(shot.root / FRAMES / frame_name(i)) for i in held])
    new_part = render_cameras(before, cams, before_scene.cameras).unseen_binary  # the old set had not seen
    psnr = [masked_psnr(render_cameras(g, cams, before_scene.cameras).color, truth, new_part)
            for g in (before, after)]
    old = next(m for m in result.held_out if m.shot == 1)
    return {"unseen_before": unseen[0], "unseen_after": unseen[1],
            "new_part_psnr_before": psnr[0], "new_part_psnr_after": psnr[1],
            "old_psnr_before": old.psnr_before, "old_psnr_after": old.psnr_after,
            "new_part_share": float(new_part.mean())}


def known_set(root: Path, frames: int = 16, width: int = 320, height: int = 180, views: int = 5,
              block: int = 1) -> tuple[Path, np.ndarray]:
    """The `orbit` shot's scene built the way `reconstruct` builds a posed input (true cameras, COLMAP
    SIFT points, the normalised frame) with a `ground_truth_splat` of `views` frames, under `root`:
    (the scene directory, its normalized_from_world [4, 4])."""
    from scenes.clip import write_ground_truth_scene
    from splatcine.io.ply import write_gaussians_ply
    from splatcine.reconstruct import reconstruct

    root = Path(root)
    gt = write_ground_truth_scene("orbit", root / "gt", frames=frames, width=width, height=height, points=2000)
    reconstruct(gt / "transforms.json", root / "scene", sfm_only=True)
    manifest = json.loads((root / "scene" / "manifest.json").read_text())
    m = np.asarray(manifest["normalization"]["normalized_from_colmap"])
    write_gaussians_ply(root / "scene" / "splat.ply", ground_truth_splat(gt, m, views=views, block=block))
    return root / "scene", m
