"""A procedural object capture with alpha, of the NeRF-synthetic kind (lego, ship, ...).

A small tracked crane (about 1.7 units long and 1.4 tall) stands alone in empty space: a
textured base on two tracks, a cab with printed windows, an engine block, a lattice mast of
thin rods and bracing, a jib and counter-jib, a hanging cable (about 1.5 px wide at 400 px)
and hook, an antenna and railings. Cameras sit on a sphere around it, mostly above the
horizon, all looking at its centre, with the 39.6 degree field of view of the Blender
scenes. Images are RGBA PNGs: colour where a ray hits, alpha 0 where it misses, and the
coverage of a 2x2 grid of sub-pixel rays on silhouettes (fractional alpha, as Blender's
film gives), written straight (not premultiplied). `write_object_capture` writes them with a
NeRF-synthetic `transforms.json` (`camera_angle_x`, `file_path` without extension, OpenGL
camera-to-world), the input `splatcine reconstruct transforms.json` takes.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from splatcine.cameras import Camera, Intrinsics, gl_world_from_cam, look_at
from splatcine.io.video import write_image
from scenes.geometry import Box, Cylinder, Sphere
from scenes.output import procedural_directory
from scenes.textures import MipTexture, Style
from scenes.world import CONCRETE, PAINT, RUST, WOOD, Prop, _cast, _colours, _edges, _nearest_hits
from scenes.world import _subpixel_rays, camera_rays, prop_textures

CAMERA_ANGLE_X = 0.6911112070083618  # radians: the Blender scenes' horizontal field of view
CENTER = np.array([0.17, 0.0, 0.52])  # what every camera looks at: the middle of the crane
RADIUS = 3.3  # camera distance from CENTER
YELLOW = ((90, 60, 0), (210, 160, 20), (255, 230, 120))
STEEL = ((25, 25, 30), (90, 95, 105), (190, 195, 205))


def _props() -> list[Prop]:
    paint, steel = Style(YELLOW, stamps=3.0), Style(STEEL, stamps=2.0)
    props = [
        Prop(Box((-0.6, -0.4, 0.0), (0.6, 0.4, 0.06)), Style(RUST, stamps=2.0)),  # base plate
        Prop(Box((-0.68, -0.52, -0.16), (0.68, -0.32, 0.04)), Style(STEEL, tiles=0.05)),  # tracks
        Prop(Box((-0.68, 0.32, -0.16), (0.68, 0.52, 0.04)), Style(STEEL, tiles=0.05)),
        Prop(Box((-0.5, -0.3, 0.06), (0.0, 0.3, 0.5)), Style(YELLOW, posters=3)),  # cab
        Prop(Box((0.05, -0.25, 0.06), (0.45, 0.25, 0.3)), Style(PAINT, tiles=0.04)),  # engine
        Prop(Box((-0.55, -0.06, 1.12), (1.0, 0.06, 1.2)), paint),  # jib and counter-jib
        Prop(Box((-0.55, -0.12, 0.98), (-0.35, 0.12, 1.12)), Style(CONCRETE, stamps=4.0)),  # counterweight
        Prop(Cylinder((0.88, 0.0), 0.004, 0.5, 1.12), steel),  # the cable: ~1.5 px at 400 px
        Prop(Sphere((0.88, 0.0, 0.47), 0.045), Style(RUST, stamps=5.0)),  # hook
        Prop(Cylinder((-0.4, 0.2), 0.007, 0.5, 0.9), steel),  # antenna
        Prop(Sphere((-0.4, 0.2, 0.91), 0.02), Style(PAINT)),
        Prop(Sphere((0.15, 0.0, 1.28), 0.07), Style(WOOD, stamps=4.0)),  # lamp on the mast
    ]
    for x in (0.07, 0.23):  # the mast: four thin legs with bracing every 0.16
        for y in (-0.08, 0.08):
            props.append(Prop(Cylinder((x, y), 0.012, 0.3, 1.12), paint))
    for z in np.arange(0.38, 1.1, 0.16):
        props.append(Prop(Box((0.07, -0.09, z), (0.23, -0.075, z + 0.015)), steel))
        props.append(Prop(Box((0.07, 0.075, z), (0.23, 0.09, z + 0.015)), steel))
        props.append(Prop(Box((0.055, -0.08, z + 0.08), (0.07, 0.08, z + 0.095)), steel))
        props.append(Prop(Box((0.23, -0.08, z + 0.08), (0.245, 0.08, z + 0.095)), steel))
    for y in (-0.24, 0.24):  # railings round the engine: posts and a rail
        for x in (0.08, 0.25, 0.42):
            props.append(Prop(Cylinder((x, y), 0.006, 0.3, 0.42), steel))
        props.append(Prop(Box((0.07, y - 0.006, 0.42), (0.43, y + 0.006, 0.432)), steel))
    return props


@functools.lru_cache(maxsize=2)
def _textures(seed: int) -> list[list[MipTexture]]:
    return prop_textures(_props(), (seed, 7))


def render_rgba(camera: Camera, seed: int = 0) -> np.ndarray:
    """The crane seen by `camera`: uint8 [H, W, 4], straight (not premultiplied) alpha."""
    k = camera.intrinsics
    shapes = [p.shape for p in _props()]
    textures = _textures(seed)
    o, d = camera_rays(camera)
    depth, prop = _nearest_hits(camera, shapes, o, d)
    prop = np.where(np.isfinite(depth), prop, -1)  # -1: the ray misses everything (colour 0)
    colour, face = _colours(shapes, textures, o, d, depth, prop, k)
    alpha = (prop >= 0).astype(np.float32)
    surface = (prop.astype(np.int64) * 8 + face).reshape(k.height, k.width)
    edge = np.flatnonzero(_edges(surface))
    sub_d = _subpixel_rays(camera, edge)
    sub_t, sub_prop = _cast(shapes, o, sub_d)
    sub_prop = np.where(np.isfinite(sub_t), sub_prop, -1)
    sub_colour, _ = _colours(shapes, textures, o, sub_d, sub_t, sub_prop, k)
    colour[edge] = sub_colour.reshape(4, len(edge), 3).mean(axis=0)  # premultiplied: misses add 0
    alpha[edge] = (sub_prop >= 0).reshape(4, len(edge)).mean(axis=0)
    straight = colour / np.maximum(alpha, 1e-6)[:, None]
    rgba = np.concatenate([straight, alpha[:, None]], axis=1).reshape(k.height, k.width, 4)
    return np.clip(rgba * 255 + 0.5, 0, 255).astype(np.uint8)


def object_cameras(views: int = 96, size: int = 400, seed: int = 0) -> list[Camera]:
    """`views` cameras on a sphere round the crane, elevations -10 to 75 degrees, spread evenly
    in azimuth (a golden-angle spiral with a little jitter, so no two orbits repeat)."""
    rng = np.random.default_rng(seed)
    i = np.arange(views)
    azimuth = i * np.pi * (3.0 - np.sqrt(5.0)) + rng.uniform(-0.1, 0.1, views)
    s = (i + 0.5) / views  # uniform in sin(elevation) over the band: even area on the sphere
    lo, hi = np.sin(np.radians(-10.0)), np.sin(np.radians(75.0))
    elevation = np.arcsin(lo + (hi - lo) * rng.permutation(s))
    eyes = CENTER + RADIUS * np.stack([np.cos(elevation) * np.cos(azimuth),
                                       np.cos(elevation) * np.sin(azimuth), np.sin(elevation)], 1)
    f = 0.5 * size / np.tan(0.5 * CAMERA_ANGLE_X)
    k = Intrinsics(f, f, size / 2.0, size / 2.0, size, size)
    return [Camera(look_at(e, CENTER), k) for e in eyes]


def write_object_capture(out_dir: Path, views: int = 96, size: int = 400, seed: int = 0,
                         overwrite: bool = True) -> Path:  # fmt: skip
    """A NeRF-synthetic style folder: `transforms.json` and `images/r_N.png` (RGBA); returns the json."""
    out_dir = Path(out_dir)
    cameras = object_cameras(views, size, seed)
    with procedural_directory(out_dir, overwrite, "object capture") as tmp:
        (tmp / "images").mkdir()
        frames = []
        for n, camera in enumerate(cameras):
            write_image(tmp / "images" / f"r_{n}.png", render_rgba(camera, seed))
            frames.append({"file_path": f"./images/r_{n}",
                           "transform_matrix": gl_world_from_cam(camera.cam_from_world).tolist()})
        doc = {"camera_angle_x": CAMERA_ANGLE_X, "frames": frames}
        (tmp / "transforms.json").write_text(json.dumps(doc, indent=2))
    return out_dir / "transforms.json"
