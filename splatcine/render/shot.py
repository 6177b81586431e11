"""Render a Gaussian scene along a list of cameras into every per-frame map, in memory.

`render_cameras` is the computation behind `render_path`, without files: it takes the
Gaussians, the new cameras and the source shot's cameras, and returns a `RenderedShot`
whose arrays (colour, expected depth, alpha, normals, graded unseen mask) are what
the writers in `splatcine.render.files` and the formats in `splatcine.condition` use.
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


@dataclass
class RenderedShot:
    """Every map of every frame of a rendered camera path (numpy, on the CPU)."""

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

    def __len__(self) -> int:
        return self.color.shape[0]

    @property
    def height(self) -> int:
        return self.color.shape[1]

    @property
    def width(self) -> int:
        return self.color.shape[2]

    @property
    def unseen_binary(self) -> np.ndarray:  # [F, H, W] bool
        return self.unseen >= maps.UNSEEN_THRESHOLD

    @property
    def unseen_fraction(self) -> np.ndarray:  # [F] share of each frame the binary mask marks
        return self.unseen_binary.reshape(len(self), -1).mean(axis=1)

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
    """Render every camera and derive its maps; `source_cameras` define what counts as seen.

    `source_masks` (one per source camera, [H, W] bool, True = a moving thing hid the set, or
    None) keep masked pixels from counting as seen: a region masked in every source frame
    is unseen."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    g = gaussians.detach().to(device)
    params = (g.means, g.quats, g.scales, g.opacities, g.sh)
    sources = _source_views(params, g.sh_degree, source_cameras, backend, device, progress, source_masks)

    if not cameras:
        raise InputError("render_cameras: the camera path has no frames")
    F_, first = len(cameras), cameras[0].intrinsics
    W, H = first.width, first.height
    color = np.zeros((F_, H, W, 3), np.uint8)
    depth, alpha, unseen = (np.zeros((F_, H, W), np.float32) for _ in range(3))
    normals = np.zeros((F_, H, W, 3), np.float32)
    source_pixels = np.zeros(len(sources), np.int64)
    for i, cam in enumerate(cameras):
        if (cam.intrinsics.width, cam.intrinsics.height) != (W, H):
            raise InputError(f"render_cameras: frame {i} is {cam.intrinsics.width}x{cam.intrinsics.height}, "
                             f"frame 0 is {W}x{H} (a path has one image size)")  # fmt: skip
        out = _raster(params, g.sh_degree, cam.cam_from_world, cam.intrinsics.K, W, H, backend, device)
        with _one_thread(device):
            frame_normals, frame_unseen, seen_per_source = _frame_maps(out.depth, out.alpha, cam, sources)
            color[i] = (out.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
            depth[i] = out.depth.cpu().numpy()
            alpha[i] = out.alpha.cpu().numpy()
            normals[i], unseen[i] = frame_normals.cpu().numpy(), frame_unseen.cpu().numpy()
            source_pixels += seen_per_source
        progress(Progress("render", i + 1, F_, {"unseen": float((unseen[i] >= maps.UNSEEN_THRESHOLD).mean())}))
    shot = RenderedShot(cameras, color, depth, alpha, normals, unseen, fps, source_pixels)
    for message in shot.warnings():
        progress(UnseenWarning("render", F_, F_, message=message))
    return shot


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
