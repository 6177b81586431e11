"""The rasterizer in plain PyTorch: the readable specification and the test oracle.

Every native kernel in `cuda/` computes exactly what these functions compute; the
tests hold them to it. Nothing here is fast: compositing is dense (every Gaussian
whose screen box touches a block of pixels, against every pixel of the block), and
is meant for checking, for small scenes, and for machines where nothing compiles.

Conventions (shared with the kernels, and with gsplat where they overlap):
- `cam_from_world` is OpenCV (x right, y down, z forward); pixel (row i, column j)
  has its centre at (j + 0.5, i + 0.5), so `cx = width / 2` is the image centre.
- A Gaussian touches a pixel when `alpha = min(0.99, opacity * exp(-sigma)) >= 1/255`,
  `sigma` being half the squared Mahalanobis distance under the dilated 2D covariance.
  Its radius is chosen so that the square [centre - radius, centre + radius]
  contains that whole ellipse, so neither tiling nor the reference's blocking can
  change which Gaussians touch which pixels.
- Compositing is front to back in depth order; a pixel stops before the first
  Gaussian that would bring its transmittance below 1e-4.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

EPS2D = 0.3  # px^2 added to the 2D covariance: the low-pass filter of 3DGS
ALPHA_MIN = 1.0 / 255.0  # a Gaussian below this alpha at a pixel is skipped there
ALPHA_MAX = 0.99  # alpha clamp, so transmittance never reaches exactly zero
T_MIN = 1e-4  # a pixel stops compositing before its transmittance falls below this
FRUSTUM_SLACK = 1.3  # the Jacobian is clamped to 1.3x the field of view (3DGS)

SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005,
         -1.0925484305920792, 0.5462742152960396)  # fmt: skip
SH_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
         -0.4570457994644658, 1.445305721320277, -0.5900435899266435)  # fmt: skip


class Projected(NamedTuple):
    means2d: Tensor  # [N, 2] projected centres in pixels
    depths: Tensor  # [N] camera-space z
    conics: Tensor  # [N, 3] inverse 2D covariance (a, b, c) of [[a, b], [b, c]]
    compensations: Tensor  # [N] sqrt(det(cov2d) / det(cov2d + eps)), 1 when not antialiased
    radii: Tensor  # [N] int32 half-size of the screen box in pixels, 0 = culled


def quat_to_rotmat(quats: Tensor) -> Tensor:  # [N, 4] (w, x, y, z) -> [N, 3, 3]
    w, x, y, z = F.normalize(quats, dim=-1).unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(-1, 3, 3)  # fmt: skip


def project(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N] only decides the radius (and culling); not differentiated
    cam_from_world: Tensor,  # [4, 4]
    K: Tensor,  # [3, 3]
    width: int,
    height: int,
    near: float = 0.01,
    antialiased: bool = False,
) -> Projected:
    """EWA projection of 3D Gaussians to screen-space ellipses, with culling.

    Culled Gaussians are swapped for a harmless stand-in before the differentiable pass,
    so overflowing or degenerate ones get zero gradients rather than NaN (0 * inf).
    """
    with torch.no_grad():
        keep = _project_unmasked(means, quats, scales, opacities, cam_from_world, K, width,
                                 height, near, antialiased)[4] > 0  # fmt: skip
    R, t = cam_from_world[:3, :3], cam_from_world[:3, 3]
    in_front = R.T @ (torch.tensor([0.0, 0.0, 1.0]).to(t) - t)  # a point 1 ahead of the camera
    means = torch.where(keep[:, None], means, in_front)
    quats = torch.where(keep[:, None], quats, torch.tensor([1.0, 0.0, 0.0, 0.0]).to(quats))
    scales = torch.where(keep[:, None], scales, torch.ones_like(scales))
    means2d, depths, conics, compensations, radii = _project_unmasked(
        means, quats, scales, opacities, cam_from_world, K, width, height, near, antialiased
    )
    return Projected(
        means2d=torch.where(keep[:, None], means2d, torch.zeros_like(means2d)),
        depths=torch.where(keep, depths, torch.zeros_like(depths)),
        conics=torch.where(keep[:, None], conics, torch.zeros_like(conics)),
        compensations=torch.where(keep, compensations, torch.zeros_like(compensations)),
        radii=torch.where(keep, radii, torch.zeros_like(radii)),
    )


def _project_unmasked(means, quats, scales, opacities, cam_from_world, K, width, height, near,
                      antialiased) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:  # fmt: skip
    """`project` without the stand-ins: (means2d, depths, conics, compensations, radii)."""
    R, t = cam_from_world[:3, :3], cam_from_world[:3, 3]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    means_c = means @ R.T + t
    x, y, z = means_c.unbind(-1)

    M = quat_to_rotmat(quats) * scales[:, None, :]  # R S: columns scaled
    cov_c = R @ (M @ M.transpose(1, 2)) @ R.T  # [N, 3, 3]

    # The Jacobian of the perspective map, evaluated at a centre clamped to 1.3x the
    # field of view so Gaussians far outside the image do not blow up.
    z_safe = torch.where(z > near, z, torch.ones_like(z))
    lim_x_pos = (width - cx) / fx + (FRUSTUM_SLACK - 1.0) * 0.5 * width / fx
    lim_x_neg = cx / fx + (FRUSTUM_SLACK - 1.0) * 0.5 * width / fx
    lim_y_pos = (height - cy) / fy + (FRUSTUM_SLACK - 1.0) * 0.5 * height / fy
    lim_y_neg = cy / fy + (FRUSTUM_SLACK - 1.0) * 0.5 * height / fy
    tx = z_safe * torch.minimum(torch.maximum(x / z_safe, -lim_x_neg), lim_x_pos)
    ty = z_safe * torch.minimum(torch.maximum(y / z_safe, -lim_y_neg), lim_y_pos)
    zeros = torch.zeros_like(z)
    J = torch.stack(
        [fx / z_safe, zeros, -fx * tx / z_safe**2, zeros, fy / z_safe, -fy * ty / z_safe**2], -1
    ).reshape(-1, 2, 3)
    cov2d = J @ cov_c @ J.transpose(1, 2)  # [N, 2, 2]
    a, b, c = cov2d[:, 0, 0], cov2d[:, 0, 1], cov2d[:, 1, 1]
    det_orig = a * c - b * b
    a, c = a + EPS2D, c + EPS2D
    det = a * c - b * b
    compensations = (
        torch.sqrt(torch.clamp(det_orig / det, min=0.0)) if antialiased else torch.ones_like(det)
    )
    det_safe = torch.where(det > 0, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], -1)
    means2d = torch.stack([fx * x / z_safe + cx, fy * y / z_safe + cy], -1)

    with torch.no_grad():
        opac = opacities * compensations
        # sigma <= log(255 opacity) is where alpha >= 1/255; its ellipse fits in this box.
        extent = torch.sqrt(2.0 * torch.log(torch.clamp(opac / ALPHA_MIN, min=1.0)))
        mid = 0.5 * (a + c)
        lambda_max = mid + torch.sqrt(torch.clamp(mid * mid - det, min=0.01))
        radius = torch.ceil(extent * torch.sqrt(lambda_max))
        mx, my = means2d.unbind(-1)
        qnorm = quats.norm(dim=-1)
        valid = (
            (z > near) & (det > 0) & (opac > ALPHA_MIN) & (qnorm > 0) & (radius > 0)
            & torch.isfinite(radius) & torch.isfinite(conics).all(-1) & torch.isfinite(means2d).all(-1)
            & (mx + radius > 0) & (mx - radius < width) & (my + radius > 0) & (my - radius < height)
        )  # fmt: skip
        radii = torch.where(valid, radius.clamp(max=2**30), torch.zeros_like(radius)).int()

    return means2d, z, conics, compensations, radii


def sh_basis(dirs: Tensor, degree: int) -> Tensor:  # [N, 3] unit -> [N, (degree + 1)^2]
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, SH_C0)]
    if degree > 0:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree > 1:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            SH_C2[0] * x * y, SH_C2[1] * y * z, SH_C2[2] * (2 * zz - xx - yy),
            SH_C2[3] * x * z, SH_C2[4] * (xx - yy),
        ]  # fmt: skip
    if degree > 2:
        out += [
            SH_C3[0] * y * (3 * xx - yy), SH_C3[1] * x * y * z, SH_C3[2] * y * (4 * zz - xx - yy),
            SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy), SH_C3[4] * x * (4 * zz - xx - yy),
            SH_C3[5] * z * (xx - yy), SH_C3[6] * x * (xx - 3 * yy),
        ]  # fmt: skip
    return torch.stack(out, -1)


def eval_sh(dirs: Tensor, coeffs: Tensor, degree: int) -> Tensor:
    """Colour of each Gaussian seen along `dirs` [N, 3] (any length) from `coeffs` [N, K, 3]."""
    basis = sh_basis(F.normalize(dirs, dim=-1), degree)  # [N, B]
    return torch.einsum("nb,nbc->nc", basis, coeffs[:, : basis.shape[1]])


def _composite_block(
    pix: Tensor,  # [P, 2] pixel centres
    means2d: Tensor,  # [M, 2] depth-sorted
    conics: Tensor,  # [M, 3]
    opacities: Tensor,  # [M]
    features: Tensor,  # [M, C]
    smooth: bool,
) -> tuple[Tensor, Tensor]:  # [P, C] accumulated features, [P] accumulated alpha
    d = pix[:, None, :] - means2d[None, :, :]  # [P, M, 2]
    dx, dy = d[..., 0], d[..., 1]
    sigma = 0.5 * (conics[:, 0] * dx * dx + conics[:, 2] * dy * dy) + conics[:, 1] * dx * dy
    # exp(-80) ~ 2e-35 is far below the cut-off; clamping keeps the tails out of denormal
    # floats, whose arithmetic is ~100x slower (the kernels clamp the same way)
    alpha = torch.clamp(opacities * torch.exp(-torch.clamp(sigma, max=80.0)), max=ALPHA_MAX)
    if not smooth:  # the hard cut-offs; tests of derivatives switch them off
        alpha = torch.where((sigma >= 0) & (alpha >= ALPHA_MIN), alpha, torch.zeros_like(alpha))
    with torch.no_grad():
        reached = torch.cumprod(1 - alpha, dim=1) >= T_MIN  # a prefix: T only falls
    alpha = alpha * reached
    T_incl = torch.cumprod(1 - alpha, dim=1)
    T_excl = torch.cat([torch.ones_like(T_incl[:, :1]), T_incl[:, :-1]], dim=1)
    weights = alpha * T_excl  # [P, M]
    return weights @ features, 1 - T_incl[:, -1]


def composite(
    means2d: Tensor,  # [N, 2]
    conics: Tensor,  # [N, 3]
    opacities: Tensor,  # [N] effective (compensation applied)
    features: Tensor,  # [N, C] per-Gaussian values to blend (colour, depth)
    depths: Tensor,  # [N] sort key
    radii: Tensor,  # [N] 0 = culled
    width: int,
    height: int,
    block: int = 32,
    smooth: bool = False,
) -> tuple[Tensor, Tensor]:  # [H, W, C] accumulated features, [H, W] alpha
    """Front-to-back alpha compositing, block of pixels by block of pixels.

    `smooth=True` (tests only) drops the alpha threshold and the box test so the
    image is a smooth function of the parameters and finite differences are valid.
    """
    C = features.shape[1]
    visible = torch.nonzero(radii > 0).squeeze(1)
    visible = visible[torch.argsort(depths[visible], stable=True)]
    m2d, con, opa, feat = means2d[visible], conics[visible], opacities[visible], features[visible]
    r = radii[visible].to(m2d.dtype)
    lo, hi = m2d - r[:, None], m2d + r[:, None]  # [M, 2] screen boxes
    grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (means2d, conics, opacities, features)
    )
    rows = []
    for y0 in range(0, height, block):
        cols = []
        for x0 in range(0, width, block):
            y1, x1 = min(y0 + block, height), min(x0 + block, width)
            ys = torch.arange(y0, y1, dtype=m2d.dtype, device=m2d.device) + 0.5
            xs = torch.arange(x0, x1, dtype=m2d.dtype, device=m2d.device) + 0.5
            pix = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)
            if smooth:
                sel = torch.arange(m2d.shape[0], device=m2d.device)
            else:
                sel = torch.nonzero(
                    (hi[:, 0] >= x0 + 0.5) & (lo[:, 0] <= x1 - 0.5)
                    & (hi[:, 1] >= y0 + 0.5) & (lo[:, 1] <= y1 - 0.5)
                ).squeeze(1)  # fmt: skip
            if sel.numel() == 0:
                feat_px = feat.new_zeros(pix.shape[0], C)
                alpha_px = feat.new_zeros(pix.shape[0])
            else:
                args = (pix, m2d[sel], con[sel], opa[sel], feat[sel], smooth)
                if grad:  # recompute in backward: keeps memory to one block at a time
                    feat_px, alpha_px = checkpoint(_composite_block, *args, use_reentrant=False)
                else:
                    feat_px, alpha_px = _composite_block(*args)
            out = torch.cat([feat_px, alpha_px[:, None]], -1)
            cols.append(out.reshape(y1 - y0, x1 - x0, C + 1))
        rows.append(torch.cat(cols, 1))
    image = torch.cat(rows, 0)
    if grad and not image.requires_grad:  # nothing visible: still part of the graph, with zero grads
        image = image + 0.0 * (means2d.sum() + conics.sum() + opacities.sum() + features.sum())
    return image[..., :C], image[..., C]


def camera_center(cam_from_world: Tensor) -> Tensor:  # [4, 4] -> [3]
    R, t = cam_from_world[:3, :3], cam_from_world[:3, 3]
    return -R.T @ t

