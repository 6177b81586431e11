"""Held-out evaluation: PSNR and SSIM per frame (LPIPS only from weights already on disk).

Renders are compared with the held-out frames over the pixels their masks keep;
the colour correction is not applied (it exists only for training frames).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import kornia
import numpy as np
import torch
from torch import Tensor

from splatcine.gaussians import Gaussians
from splatcine.io.video import write_image
from splatcine.raster import RasterOutput, rasterize
from splatcine.train.data import View
from splatcine.train.loss import SSIM_WINDOW, psnr


@dataclass(frozen=True)
class FrameMetrics:
    name: str
    source_frame: int
    psnr: float
    ssim: float


@dataclass
class Evaluation:
    frames: list[FrameMetrics]
    psnr: float | None  # mean over frames; None when nothing was held out
    ssim: float | None
    lpips: float | None = None
    lpips_status: str = "unavailable"
    renders: list[Tensor] = field(default_factory=list, repr=False)  # [H, W, 3] per frame

    def to_json(self) -> dict:
        doc = asdict(self)
        doc.pop("renders")
        return doc


def render_view(gaussians: Gaussians, view: View, backend: str = "auto",
                sh_degree: int | None = None, antialiased: bool = False,
                background: Tensor | None = None, validate: bool = True) -> RasterOutput:  # fmt: skip
    """Render `gaussians` with the camera of `view` (SH evaluated up to `sh_degree`) over `background` [3];
    `validate` as `rasterize`'s."""
    degree = gaussians.sh_degree if sh_degree is None else sh_degree
    bands = (degree + 1) ** 2
    sh = gaussians.sh if gaussians.sh.shape[1] == bands else gaussians.sh[:, :bands]  # no slice node when whole
    return rasterize(gaussians.means, gaussians.quats, gaussians.scales, gaussians.opacities,
                     sh, view.cam_from_world, view.K,
                     view.width, view.height, sh_degree=degree, background=background,
                     antialiased=antialiased, backend=backend, validate=validate)  # fmt: skip


@torch.no_grad()
def evaluate(gaussians: Gaussians, views: list[View], backend: str = "auto",
             antialiased: bool = False) -> Evaluation:
    """Mean and per-frame PSNR / SSIM of the renders of `views` against their images."""
    frames, renders = [], []
    for view in views:
        rgb = render_view(gaussians, view, backend, antialiased=antialiased).rgb.clamp(0.0, 1.0)
        target = view.image if view.valid is None else torch.where(view.valid[..., None], view.image, rgb)
        weight = torch.ones_like(rgb[..., 0]) if view.valid is None else view.valid.to(rgb.dtype)
        count = weight.sum().clamp_min(1.0)
        mse = (((rgb - target) ** 2).mean(-1) * weight).sum() / count
        ssim_map = kornia.metrics.ssim(rgb.permute(2, 0, 1)[None], target.permute(2, 0, 1)[None],
                                       SSIM_WINDOW)[0].mean(0)  # fmt: skip
        ssim = float((ssim_map * weight).sum() / count)
        frames.append(FrameMetrics(view.name, view.source_frame, psnr(mse), ssim))
        renders.append(rgb.cpu())
    lpips, status = _lpips(renders, views)
    mean = lambda key: float(np.mean([getattr(f, key) for f in frames])) if frames else None  # noqa: E731
    return Evaluation(frames, mean("psnr"), mean("ssim"), lpips, status, renders)


def _lpips(renders: list[Tensor], views: list[View]) -> tuple[float | None, str]:
    """LPIPS (AlexNet) when the `lpips` package and its backbone weights are already local."""
    try:
        import lpips  # noqa: F401  # optional; never installed or downloaded by splatcine
    except ImportError:
        return None, "unavailable: the lpips package is not installed"
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if not any(hub.glob("alexnet-*.pth")):
        return None, f"unavailable: no AlexNet weights in {hub} (splatcine never downloads them)"
    if not renders:
        return None, "no held-out frames"
    model = lpips.LPIPS(net="alex", verbose=False)
    values = [float(model(r.permute(2, 0, 1)[None] * 2 - 1, v.image.cpu().permute(2, 0, 1)[None] * 2 - 1))
              for r, v in zip(renders, views)]
    return float(np.mean(values)), "ok"


def write_contact_sheet(path: Path, evaluation: Evaluation, views: list[View], max_rows: int = 12) -> None:
    """A PNG with one row per held-out frame: ground truth on the left (its masked pixels tinted
    red: moving things the scene ignores), the render on the right."""
    rows = []
    for render, view in list(zip(evaluation.renders, views))[:max_rows]:
        gt = view.image.cpu()
        if view.valid is not None:
            red = torch.tensor([1.0, 0.15, 0.15])
            gt = torch.where(view.valid.cpu()[..., None], gt, 0.45 * gt + 0.55 * red)
        gap = torch.ones(gt.shape[0], max(2, gt.shape[1] // 64), 3)
        rows.append(torch.cat([gt, gap, render], dim=1))
    if not rows:
        return
    width = max(r.shape[1] for r in rows)
    pad = lambda r: torch.nn.functional.pad(r, (0, 0, 0, width - r.shape[1]), value=1.0)  # noqa: E731
    sep = torch.ones(max(2, rows[0].shape[0] // 32), width, 3)
    sheet = torch.cat([t for r in rows for t in (pad(r), sep)][:-1], dim=0)
    write_image(path, (sheet.clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8))
