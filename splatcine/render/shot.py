"""Render a Gaussian scene along a list of cameras into every per-frame map.

`ShotRenderer` takes the Gaussians, the new cameras and the source shot's cameras and
yields one `Frame` (colour, expected depth, alpha, normals, graded unseen mask) at a
time; `render_path` streams them to disk, `render_cameras` collects them into an
in-memory `RenderedShot`. The writers in `splatcine.render.files` and the formats in
`splatcine.condition` read a `RenderedShot` frame by frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from splatcine.cameras import Camera
from splatcine.errors import InputError
from splatcine.gaussians import Gaussians
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.render import maps

SOURCE_MAX_SIDE = 256  # source views are depth-tested at this size: coverage, not detail
MAX_SOURCES = 48  # at most this many source views (evenly spaced) vouch for a pixel
MOSTLY_UNSEEN = 0.5  # a frame whose binary unseen mask covers more than this earns a warning


@dataclass(frozen=True)
class Frame:
    """Every map of one rendered frame."""

    index: int
    camera: Camera
    color: np.ndarray  # [H, W, 3] uint8 RGB
    depth: np.ndarray  # [H, W] float32 expected z-depth in scene units, 0 where alpha is 0
    alpha: np.ndarray  # [H, W] float32 accumulated opacity
    normals: np.ndarray  # [H, W, 3] float32 unit camera-space (OpenCV) normals, 0 where none
    unseen: np.ndarray  # [H, W] float32 graded unseen mask in [0, 1]

    @property
    def unseen_binary(self) -> np.ndarray:  # [H, W] bool
        return self.unseen >= maps.UNSEEN_THRESHOLD


@dataclass
class RenderedShot:
    """Every map of every frame of a rendered camera path.

    The maps are indexed by frame: numpy arrays [F, ...] when the shot is in memory
    (`render_cameras`), `framestore.NpyFrames` when it was streamed to disk (`render_path`,
    `files.read_shot`), where `shot.color[i]` reads frame i alone. Writers go through
    `frame(i)` / `frames()`, so they hold one frame at a time either way.
    """

    cameras: list[Camera]
    color: np.ndarray  # [F, H, W, 3] uint8 RGB
    depth: np.ndarray  # [F, H, W] float32 expected z-depth in scene units, 0 where alpha is 0
    alpha: np.ndarray  # [F, H, W] float32 accumulated opacity
    normals: np.ndarray  # [F, H, W, 3] float32 unit camera-space (OpenCV) normals, 0 where none
    unseen: np.ndarray  # [F, H, W] float32 graded unseen mask in [0, 1]
    fps: float = 24.0
    source_pixels: np.ndarray | None = None  # [S] pixels of the whole path each source view saw
    references: list[np.ndarray] = field(default_factory=list)  # uint8 [h, w, 3] source images
    reference_names: list[str] = field(default_factory=list)
    _unseen_fraction: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.color)

    @property
    def height(self) -> int:
        return self.color.shape[1]

    @property
    def width(self) -> int:
        return self.color.shape[2]

    def frame(self, i: int) -> Frame:
        return Frame(i, self.cameras[i], np.asarray(self.color[i]), np.asarray(self.depth[i], np.float32),
                     np.asarray(self.alpha[i], np.float32), np.asarray(self.normals[i], np.float32),
                     np.asarray(self.unseen[i], np.float32))  # fmt: skip

    def frames(self) -> Iterator[Frame]:
        return (self.frame(i) for i in range(len(self)))

    @property
    def unseen_binary(self) -> np.ndarray:  # [F, H, W] bool (the whole shot: for in-memory use)
        return np.asarray(self.unseen) >= maps.UNSEEN_THRESHOLD

    @property
    def unseen_fraction(self) -> np.ndarray:  # [F] share of each frame the binary mask marks
        if self._unseen_fraction is None:
            self._unseen_fraction = np.array([float(np.mean(self.unseen[i] >= maps.UNSEEN_THRESHOLD))
                                              for i in range(len(self))])  # fmt: skip
        return self._unseen_fraction

    def warnings(self) -> list[str]:
        """One line per run of frames that are mostly unseen."""
        runs = _runs(np.flatnonzero(self.unseen_fraction > MOSTLY_UNSEEN).tolist())
        out = []
        for start, end in runs:
            frames = f"frames {start}-{end}" if end > start else f"frame {start}"
            verb = "look" if end > start else "looks"
            out.append(f"{frames} {verb} at parts of the set the source shot never saw")
        return out


@dataclass(frozen=True)
class UnseenWarning(Progress):
    """Sent once per run of mostly unseen frames, beside the progress events."""

    message: str = ""


class ShotRenderer:
    """Renders a camera path frame by frame: `frames()` yields one `Frame` at a time.

    `source_pixels` [S] (how many pixels of the path each source view saw) is complete once
    `frames()` is exhausted.
    """

    def __init__(
        self,
        gaussians: Gaussians,
        cameras: list[Camera],
        source_cameras: list[Camera],
        *,
        backend: str = "auto",
        device: str | torch.device | None = None,
        progress: ProgressCallback = silent,
        source_masks: list[np.ndarray | None] | None = None,
    ):
        """`source_masks` (one per source camera, [H, W] bool, True = a moving thing hid the set,
        or None) keep masked pixels from counting as seen: a region masked in every source frame
        is unseen."""
        if not cameras:
            raise InputError("render_cameras: the camera path has no frames")
        first = cameras[0].intrinsics
        for i, cam in enumerate(cameras):
            if (cam.intrinsics.width, cam.intrinsics.height) != (first.width, first.height):
                raise InputError(f"render_cameras: frame {i} is {cam.intrinsics.width}x{cam.intrinsics.height}, "
                                 f"frame 0 is {first.width}x{first.height} (a path has one image size)")  # fmt: skip
        self.cameras, self.width, self.height = cameras, first.width, first.height
        self.backend, self.progress = backend, progress
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        g = gaussians.detach().to(self.device)
        self._params, self._sh_degree = (g.means, g.quats, g.scales, g.opacities, g.sh), g.sh_degree
        self._source_cameras, self._source_masks = source_cameras, source_masks
        self.source_pixels = np.zeros(0, np.int64)

    def frames(self) -> Iterator[Frame]:
        W, H, device = self.width, self.height, self.device
        sources = _source_views(self._params, self._sh_degree, self._source_cameras, self.backend, device,
                                self.progress, self._source_masks)  # fmt: skip
        self.source_pixels = np.zeros(len(sources), np.int64)
        for i, cam in enumerate(self.cameras):
            out = _raster(self._params, self._sh_degree, cam.cam_from_world, cam.intrinsics.K, W, H,
                          self.backend, device)  # fmt: skip
            with _one_thread(device):
                normals, unseen, seen_per_source = _frame_maps(out.depth, out.alpha, cam, sources)
                frame = Frame(i, cam, (out.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy(),
                              out.depth.cpu().numpy(), out.alpha.cpu().numpy(), normals.cpu().numpy(),
                              unseen.cpu().numpy())  # fmt: skip
                self.source_pixels += seen_per_source
            del out
            self.progress(Progress("render", i + 1, len(self.cameras),
                                   {"unseen": float(frame.unseen_binary.mean())}))  # fmt: skip
            yield frame


def render_cameras(
    gaussians: Gaussians,
    cameras: list[Camera],
    source_cameras: list[Camera],
    *,
    fps: float = 24.0,
    backend: str = "auto",
    device: str | torch.device | None = None,
    progress: ProgressCallback = silent,
    source_masks: list[np.ndarray | None] | None = None,
) -> RenderedShot:
    """Render every camera and derive its maps, in memory; `source_cameras` define what counts as seen.

    `render_path` streams the same frames to disk instead (`ShotRenderer`)."""
    renderer = ShotRenderer(gaussians, cameras, source_cameras, backend=backend, device=device, progress=progress,
                            source_masks=source_masks)  # fmt: skip
    F_, W, H = len(cameras), renderer.width, renderer.height
    color = np.zeros((F_, H, W, 3), np.uint8)
    depth, alpha, unseen = (np.zeros((F_, H, W), np.float32) for _ in range(3))
    normals = np.zeros((F_, H, W, 3), np.float32)
    for f in renderer.frames():
        color[f.index], depth[f.index], alpha[f.index] = f.color, f.depth, f.alpha
        normals[f.index], unseen[f.index] = f.normals, f.unseen
    shot = RenderedShot(cameras, color, depth, alpha, normals, unseen, fps, renderer.source_pixels)
    send_warnings(shot, progress)
    return shot


def send_warnings(shot: RenderedShot, progress: ProgressCallback) -> None:
    for message in shot.warnings():
        progress(UnseenWarning("render", len(shot), len(shot), message=message))


def _frame_maps(depth: Tensor, alpha: Tensor, camera: Camera, sources: list[maps.SourceView]):
    """Normals [H, W, 3], graded unseen mask [H, W], and pixels seen per source view [S] of one frame."""
    K = torch.as_tensor(camera.intrinsics.K, dtype=torch.float32, device=depth.device)
    world_from_cam = torch.as_tensor(camera.world_from_cam, dtype=torch.float32, device=depth.device)
    points_world = maps.backproject(depth, K) @ world_from_cam[:3, :3].T + world_from_cam[:3, 3]
    cov = maps.coverage(points_world, world_from_cam[:3, 3], sources)
    normals = maps.normals_from_depth(depth, K, alpha > 0.5)
    return normals, maps.unseen_score(alpha, cov), cov.per_source.numpy()


def pick_sources(count: int, limit: int = MAX_SOURCES) -> list[int]:
    """Indices of at most `limit` source views, evenly spaced over the shot."""
    if count <= limit:
        return list(range(count))
    return sorted({int(round(x)) for x in np.linspace(0, count - 1, limit)})


def _source_views(params, sh_degree, source_cameras, backend, device, progress,
                  source_masks=None) -> list[maps.SourceView]:
    picked = pick_sources(len(source_cameras))
    views = []
    for n, s in enumerate(picked):
        cam = source_cameras[s]
        w, h = maps.reduced_size(cam.intrinsics.width, cam.intrinsics.height, SOURCE_MAX_SIDE)
        K = cam.intrinsics.resized(w, h).K
        out = _raster(params, sh_degree, cam.cam_from_world, K, w, h, backend, device)
        mask = source_masks[s] if source_masks is not None else None
        ignored = None if mask is None else torch.nn.functional.interpolate(
            torch.as_tensor(mask, dtype=torch.float32)[None, None], size=(h, w), mode="area")[0, 0].to(device) > 0.5
        views.append(maps.SourceView(
            torch.as_tensor(cam.cam_from_world, dtype=torch.float32, device=device),
            torch.as_tensor(K, dtype=torch.float32, device=device), out.depth, out.alpha, ignored))  # fmt: skip
        progress(Progress("coverage", n + 1, len(picked)))
    return views


def _raster(params, sh_degree, cam_from_world, K, width, height, backend, device):
    from splatcine.raster import rasterize

    means, quats, scales, opacities, sh = params
    with torch.no_grad():
        return rasterize(
            means, quats, scales, opacities, sh,
            torch.as_tensor(cam_from_world, dtype=torch.float32, device=device),
            torch.as_tensor(K, dtype=torch.float32, device=device),
            int(width), int(height), sh_degree=sh_degree, backend=backend,
        )  # fmt: skip


@contextlib.contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """Run the per-pixel map arithmetic on one CPU thread.

    These are short memory-bound tensor ops; with two OpenMP threads on a busy machine
    each op waits on a spinning peer and the maps took 40x longer (0.25 s -> 10 s a frame).
    """
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """[3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
