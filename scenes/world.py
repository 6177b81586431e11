"""The procedural set: a closed, textured room with props, ray-cast to colour and exact depth.

World frame: metres, +z up, floor at z = 0. The room spans x in [-5, 5], y in [-4, 4],
z in [0, 3]; a table stands near the centre with a box on it, a crate, a tall cabinet,
two pillars and a ball stand around it. Being closed, every pixel has a finite depth.
An optional moving ball crosses the room along y as time runs (the `moving` clip).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from splatcine.cameras import Camera, Intrinsics
from scenes.geometry import Box, Cylinder, Shape, Sphere, reciprocal
from scenes.textures import MipTexture, Style, make_texture

ROOM = Box((-5.0, -4.0, 0.0), (5.0, 4.0, 3.0), inside=True)
FLOOR, CEILING = 4, 5  # the room's faces (axis * 2 + positive side, see `Box.surface`)
TABLE_TOP_Z = 0.78
PIVOT = np.array([0.5, 0.0, TABLE_TOP_Z])  # the table's centre: what `orbit` circles

# Palettes (dark to light) of the materials, as RGB stops.
PLASTER = ((60, 52, 48), (150, 130, 110), (225, 215, 195))
CONCRETE = ((40, 42, 46), (110, 112, 118), (200, 200, 196))
WOOD = ((50, 30, 15), (120, 75, 40), (200, 150, 95))
PAINT = ((20, 40, 70), (60, 110, 160), (190, 215, 235))
RUST = ((40, 20, 10), (150, 70, 30), (230, 170, 90))

LIGHT = np.array([0.35, 0.55, 1.0]) / np.linalg.norm([0.35, 0.55, 1.0])  # towards the key light


@dataclass(frozen=True)
class Prop:
    """A shape with a material, drawn with its own texture per face."""

    shape: Shape
    style: Style
    face_styles: dict[int, Style] | None = None  # per-face exceptions to `style`

    def style_of(self, face: int) -> Style:
        return (self.face_styles or {}).get(face, self.style)


def _legs(x0: float, y0: float, x1: float, y1: float, height: float, w: float = 0.07) -> list[Prop]:
    wood = Style(WOOD, stamps=0.3)
    return [
        Prop(Box((x - w / 2, y - w / 2, 0.0), (x + w / 2, y + w / 2, height)), wood)
        for x in (x0 + w, x1 - w)
        for y in (y0 + w, y1 - w)
    ]


def _static_props() -> list[Prop]:
    top = TABLE_TOP_Z
    return [
        Prop(
            ROOM,
            Style(PLASTER, posters=2),
            {FLOOR: Style(CONCRETE, tiles=0.5), CEILING: Style(PLASTER, stamps=0.3)},
        ),
        Prop(Box((-0.4, -0.55, top - 0.06), (1.4, 0.55, top)), Style(WOOD)),  # table top
        *_legs(-0.4, -0.55, 1.4, 0.55, top - 0.06),
        Prop(Box((0.2, -0.15, top), (0.55, 0.25, top + 0.3)), Style(RUST)),  # box on the table
        Prop(Box((2.1, 1.4, 0.0), (2.9, 2.2, 0.8)), Style(WOOD, stamps=2.0)),  # crate
        Prop(Box((3.7, -3.0, 0.0), (4.3, -2.0, 1.8)), Style(PAINT, posters=1)),  # cabinet
        Prop(Box((-2.6, -3.4, 0.0), (-1.6, -2.6, 0.45)), Style(CONCRETE, stamps=2.0)),  # low bench
        Prop(Cylinder((-1.5, 2.5), 0.25, 0.0, 3.0), Style(CONCRETE)),  # pillars
        Prop(Cylinder((2.2, -1.6), 0.2, 0.0, 3.0), Style(PAINT)),
        Prop(Cylinder((3.2, 0.4), 0.3, 0.0, 1.1), Style(RUST)),  # a drum
        Prop(Sphere((-0.6, -2.0, 0.5), 0.5), Style(PAINT, stamps=3.0)),  # a ball
    ]


@dataclass(frozen=True)
class Mover:
    """A ball rolling along -y in front of the table, at `start + velocity * time` at `time` s.

    Its path (x = -0.9, y from 2.0 to -1.1) clears the table, the pillar and the other ball,
    and runs against the `moving` camera's own sideways move, so it crosses the frame.
    """

    start: tuple[float, float, float] = (-0.9, 2.0, 0.4)
    velocity: tuple[float, float, float] = (0.0, -1.5, 0.0)  # metres per second
    radius: float = 0.4

    @classmethod
    def crossing(cls, duration: float) -> "Mover":
        """The ball covering its 3.1 m path in `duration` seconds."""
        return cls(velocity=(0.0, -3.1 / duration, 0.0))

    def at(self, time: float) -> Sphere:
        return Sphere(tuple(np.add(self.start, np.multiply(self.velocity, time))), self.radius)

    def textures(self, seed: int) -> list[MipTexture]:
        return _mover_textures(seed)


@dataclass
class RenderLayers:
    """One rendered frame: colour, z-depth, which prop each pixel sees, and the mover's mask."""

    rgb: np.ndarray  # [H, W, 3] uint8
    depth: np.ndarray  # [H, W] float32, z along the optical axis (metres)
    prop: np.ndarray  # [H, W] int16, index into `ProceduralSet.props`, then len(props) + i = mover i
    moving: np.ndarray  # [H, W] bool, pixels that see a moving object


class ProceduralSet:
    """The static room and its props, optionally with objects that move with time.

    A mover is anything with `at(time) -> Shape` and `textures(seed) -> [MipTexture]` (one
    per face of its shape): the rolling `Mover` ball, `scenes.walkers.Walker`, ...
    """

    def __init__(self, seed: int = 0, mover: Mover | None = None, movers: tuple = ()):
        self.seed = seed
        self.movers = ([mover] if mover is not None else []) + list(movers)
        self.props = _static_props()
        self.textures = _textures(seed)
        self.mover_textures = [m.textures(seed) for m in self.movers]

    @property
    def mover(self):
        """The first moving object, or None on a still set."""
        return self.movers[0] if self.movers else None

    @property
    def bounds(self) -> np.ndarray:  # [2, 3]: world AABB (min, max) of everything, the room's walls
        return np.array([ROOM.lo, ROOM.hi], dtype=np.float64)

    @property
    def pivot(self) -> np.ndarray:  # [3]
        return PIVOT.copy()

    def render(
        self, camera: Camera, time: float = 0.0, antialias: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """rgb uint8 [H, W, 3] and z-depth float32 [H, W] seen by `camera` at `time` seconds."""
        layers = self.render_layers(camera, time, antialias)
        return layers.rgb, layers.depth

    def render_layers(
        self, camera: Camera, time: float = 0.0, antialias: bool = True
    ) -> RenderLayers:
        """What `render` gives, plus which prop each pixel sees and the moving object's mask.

        Depth and `prop` are those of the ray through each pixel's centre. With `antialias`,
        pixels on a silhouette or crease are re-shaded as the mean of a 2x2 grid of sub-pixel
        rays (textures are prefiltered by their mip maps everywhere else), and `moving` also
        marks pixels whose colour any sub-pixel ray took from the moving object.
        """
        k = camera.intrinsics
        shapes = [p.shape for p in self.props]
        textures = list(self.textures)
        shapes += [m.at(time) for m in self.movers]
        textures += self.mover_textures
        first_mover = len(self.props)  # shapes from here on move
        o, d = camera_rays(camera)
        depth, prop = _nearest_hits(camera, shapes, o, d)
        colour, face = _colours(shapes, textures, o, d, depth, prop, k)
        moving = prop >= first_mover
        if antialias:
            surface = (prop.astype(np.int64) * 8 + face).reshape(k.height, k.width)
            edge = np.flatnonzero(_edges(surface))
            sub_d = _subpixel_rays(camera, edge)  # [3, 4 * E]: four rays per edge pixel
            sub_t, sub_prop = _cast(shapes, o, sub_d)
            sub_colour, _ = _colours(shapes, textures, o, sub_d, sub_t, sub_prop, k)
            colour[edge] = sub_colour.reshape(4, len(edge), 3).mean(axis=0)
            moving[edge] |= (sub_prop >= first_mover).reshape(4, len(edge)).any(axis=0)
        return RenderLayers(
            rgb=np.clip(colour * 255 + 0.5, 0, 255).astype(np.uint8).reshape(k.height, k.width, 3),
            depth=depth.astype(np.float32).reshape(k.height, k.width),
            prop=prop.reshape(k.height, k.width),
            moving=moving.reshape(k.height, k.width),
        )


def _nearest_hits(camera: Camera, shapes: list[Shape], o: np.ndarray, d: np.ndarray):
    """Depth t [P] of the nearest hit of pixel rays d [3, P] and the index [P] of its shape."""
    h, w = camera.intrinsics.height, camera.intrinsics.width
    best_t = np.full((h, w), np.inf)
    best = np.zeros((h, w), np.int16)
    d_img, inv_img = d.reshape(3, h, w), reciprocal(d).reshape(3, h, w)
    for i, shape in enumerate(shapes):
        # Only the rays inside the shape's screen rectangle can hit it.
        rows, cols = _screen_window(camera, shape)
        window = (slice(None), rows, cols)
        t = shape.intersect(o, d_img[window].reshape(3, -1), inv_img[window].reshape(3, -1))
        t = t.reshape(best_t[rows, cols].shape)
        closer = t < best_t[rows, cols]
        best_t[rows, cols][closer] = t[closer]
        best[rows, cols][closer] = i
    return best_t.reshape(-1), best.reshape(-1)


def _cast(shapes: list[Shape], o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_nearest_hits` for any rays d [3, P] (no image layout, so no screen windows)."""
    best_t = np.full(d.shape[1], np.inf)
    best = np.zeros(d.shape[1], np.int16)
    inv = reciprocal(d)
    for i, shape in enumerate(shapes):
        t = shape.intersect(o, d, inv)
        closer = t < best_t
        best_t[closer] = t[closer]
        best[closer] = i
    return best_t, best


def _colours(shapes, textures, o, d, t, prop, k) -> tuple[np.ndarray, np.ndarray]:
    """Colour [P, 3] and face index [P] of rays d [3, P] hitting shape `prop` [P] at depth t [P]."""
    colour = np.zeros((d.shape[1], 3), np.float32)
    face = np.zeros(d.shape[1], np.int64)
    for i, shape in enumerate(shapes):
        sel = np.nonzero(prop == i)[0]
        if len(sel):
            colour[sel], face[sel] = _shade(shape, textures[i], o, d[:, sel], t[sel], k)
    return colour, face


def _shade(shape: Shape, textures: list[MipTexture], o, d, t, k: Intrinsics):
    """Colours [P, 3] and faces [P] of rays d [3, P] hitting `shape` at depth t [P]."""
    face, u, v, normal = shape.surface(o, d, t)
    cos = np.abs((normal * d).sum(axis=0)) / np.sqrt((d * d).sum(axis=0))
    # World size of a pixel on the surface: grows with depth and at grazing angles
    # (the square root splits the difference between the two axes of the footprint).
    footprint = t / (0.5 * (k.fx + k.fy)) / np.sqrt(np.maximum(cos, 0.05))
    colour = np.empty((len(t), 3), np.float32)
    for f in np.unique(face):
        on = np.nonzero(face == f)[0]
        colour[on] = textures[f].sample(u[on], v[on], footprint[on])
    shade = 0.6 + 0.4 * np.clip(LIGHT @ normal, 0.0, 1.0)  # view-independent, as splats can fit
    return colour * shade[:, None].astype(np.float32), face


def _edges(key: np.ndarray) -> np.ndarray:
    """Pixels [H, W] bool whose surface `key` [H, W] differs from a 4-neighbour's."""
    edge = np.zeros(key.shape, bool)
    across = key[:, 1:] != key[:, :-1]
    down = key[1:] != key[:-1]
    edge[:, 1:] |= across
    edge[:, :-1] |= across
    edge[1:] |= down
    edge[:-1] |= down
    return edge


def _subpixel_rays(camera: Camera, pixels: np.ndarray) -> np.ndarray:
    """World directions [3, 4 * E] (camera z = 1) on a 2x2 grid in each pixel (flat indices [E])."""
    k = camera.intrinsics
    row, col = np.divmod(pixels, k.width)
    offsets = np.array([[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]])  # (x, y) in pixel
    xs = ((col[None, :] + offsets[:, :1] - k.cx) / k.fx).reshape(-1)
    ys = ((row[None, :] + offsets[:, 1:] - k.cy) / k.fy).reshape(-1)
    R = camera.world_from_cam[:3, :3]
    return R[:, :1] * xs + R[:, 1:2] * ys + R[:, 2:3]


def camera_rays(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Origin [3] and world directions [3, H*W] (row-major), camera-space z = 1 (t = z-depth)."""
    k = camera.intrinsics
    xs = (np.arange(k.width) + 0.5 - k.cx) / k.fx  # pixel centres at +0.5, as in COLMAP
    ys = (np.arange(k.height) + 0.5 - k.cy) / k.fy
    world_from_cam = camera.world_from_cam
    R = world_from_cam[:3, :3]
    # R @ (x, y, 1) per pixel, as an outer sum: no [P, 3] intermediate.
    d = R[:, 0, None, None] * xs[None, None, :] + R[:, 1, None, None] * ys[None, :, None]
    d += R[:, 2, None, None]
    return world_from_cam[:3, 3].copy(), d.reshape(3, -1)


def _screen_window(camera: Camera, shape: Shape) -> tuple[slice, slice]:
    """Pixel rows and columns that can see `shape`: its box's projection, padded by a pixel."""
    k = camera.intrinsics
    full = slice(0, k.height), slice(0, k.width)
    if isinstance(shape, Box) and shape.inside:
        return full
    lo, hi = shape.aabb
    corners = np.stack(np.meshgrid(*zip(lo, hi), indexing="ij"), -1).reshape(-1, 3)
    cam = corners @ camera.cam_from_world[:3, :3].T + camera.cam_from_world[:3, 3]
    if (cam[:, 2] <= 1e-3).any():
        return full  # a corner behind the camera: the projection is unbounded
    x = k.fx * cam[:, 0] / cam[:, 2] + k.cx
    y = k.fy * cam[:, 1] / cam[:, 2] + k.cy
    x0, x1 = np.clip([np.floor(x.min()) - 1, np.ceil(x.max()) + 1], 0, k.width).astype(int)
    y0, y1 = np.clip([np.floor(y.min()) - 1, np.ceil(y.max()) + 1], 0, k.height).astype(int)
    return slice(y0, y1), slice(x0, x1)


@functools.lru_cache(maxsize=4)
def _textures(seed: int) -> list[list[MipTexture]]:
    """One texture per face of every static prop, each from its own seed (never repeating)."""
    return prop_textures(_static_props(), (seed,))


def prop_textures(props: list[Prop], seed: tuple[int, ...]) -> list[list[MipTexture]]:
    """One texture per face of each prop, from the seed `(*seed, prop index, face)`."""
    return [[MipTexture(make_texture(*prop.shape.face_extent(f), prop.style_of(f), seed=(*seed, i, f)))
             for f in range(prop.shape.n_faces)] for i, prop in enumerate(props)]


@functools.lru_cache(maxsize=4)
def _mover_textures(seed: int) -> list[MipTexture]:
    w, h = Mover().at(0.0).face_extent(0)
    return [MipTexture(make_texture(w, h, Style(RUST, stamps=4.0), seed=(seed, 1 << 20)))]
