"""The training loss on the CPU in one autograd node: render, colour correction and loss.

`TrainState.step` composes the loss from public pieces: the Gaussians' activations, the
rasterizer's three stages, the frame's colour correction, the photometric loss and the
correction's pull to identity. Each is an autograd node with its own Python around its
C++ call, and on a small step (120x67, 4.5k Gaussians) that Python cost about 1 ms of a
4.5 ms step, spread over a dozen nodes. `training_loss` computes the same loss from the raw
parameters as one `torch.autograd.Function`: its forward calls the same native kernels in
turn and its backward calls their backwards in reverse, so autograd sees one node. Same
kernels, same arithmetic: its loss and gradients equal the composed path's up to the order
of float additions (tests/train/test_fused.py checks both against each other).

The screen-space gradient that densification reads (`means2d.grad` on the composed path)
is the gradient of a zero offset on the projected centres, an input of the node: autograd
puts it in `offset.grad` like any leaf's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from splatcine.raster import _native
from splatcine.raster.api import DEFAULT_NEAR, check_inputs


@dataclass(frozen=True)
class LossSpec:
    """Everything of one step's loss that is not a trained parameter."""

    cam_from_world: Tensor  # [4, 4] float32
    K: Tensor  # [3, 3] float32
    width: int
    height: int
    degree: int  # SH bands used: (degree + 1)^2
    antialiased: bool
    background: Tensor | None  # [3], or None (black)
    target: Tensor  # [H, W, 3]
    valid: Tensor | None  # [H, W] bool, False = ignore; None = every pixel counts
    frame: int  # the view's row of the colour correction
    ssim_lambda: float
    color_reg: float  # weight of the colour correction's pull to identity (with an affine)


@dataclass(frozen=True)
class FusedLoss:
    loss: Tensor  # scalar, differentiable in every parameter given
    mse: Tensor  # scalar, not differentiable
    radii: Tensor  # [N] int32, 0 = culled
    offset: Tensor  # [N, 2] zeros; after backward, offset.grad is the screen-space gradient


def applies(params: list[Tensor], backend: str) -> bool:
    """Whether `training_loss` can stand in for the composed loss: float32 CPU tensors, the
    native kernels as the rasterizer backend, and a compiler to build them."""
    return (backend in ("auto", "cpu") and all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
            and _native._loadable())  # fmt: skip


def training_loss(means: Tensor, quats: Tensor, log_scales: Tensor, opacity_logits: Tensor, sh0: Tensor,
                  shN: Tensor, affine: Tensor | None, spec: LossSpec, validate: bool = False) -> FusedLoss:  # fmt: skip
    """The loss `TrainState.step` composes, as one autograd node (see the module's docstring).

    means [N, 3], quats [N, 4], log_scales [N, 3], opacity_logits [N], sh0 [N, 1, 3],
    shN [N, K - 1, 3], affine [F, 3, 4] or None (no colour correction). `validate` runs the
    rasterizer's input checks on the activated values first (`rasterize(validate=True)`).
    """
    if validate:
        with torch.no_grad():
            check_inputs(means, quats, log_scales.exp(), opacity_logits.sigmoid(), _coeffs(sh0, shN, spec.degree),
                         spec.cam_from_world, spec.K, spec.width, spec.height, spec.degree, spec.background,
                         DEFAULT_NEAR)  # fmt: skip
    offset = torch.zeros(len(means), 2, requires_grad=True)
    no_affine = means.new_empty(0)
    loss, mse, radii = _TrainingLoss.apply(means, quats, log_scales, opacity_logits, sh0, shN,
                                           no_affine if affine is None else affine, offset, spec)  # fmt: skip
    return FusedLoss(loss, mse, radii, offset)


def _coeffs(sh0: Tensor, shN: Tensor, degree: int) -> Tensor:  # -> [N, (degree + 1)^2, 3]
    return sh0 if degree == 0 else torch.cat([sh0, shN[:, : (degree + 1) ** 2 - 1]], dim=1)


class _TrainingLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means, quats, log_scales, opacity_logits, sh0, shN, affine, offset, spec: LossSpec):
        ext = _native.load()
        w, h, degree = spec.width, spec.height, spec.degree
        scales, opacities = ext.exp(log_scales), opacity_logits.sigmoid()  # exp: see ops.cpp exp_
        cam, K = spec.cam_from_world, spec.K
        means2d, depths, conics, comps, radii = ext.project_fwd(means, quats, scales, opacities, cam, K, w, h,
                                                                DEFAULT_NEAR, spec.antialiased, 0)  # fmt: skip
        coeffs = _coeffs(sh0, shN, degree).contiguous()
        rgb, dirs, raw = ext.sh_colors_fwd(degree, means, cam, coeffs, radii, 0)
        blend_opacities = opacities * comps if spec.antialiased else opacities
        background = means.new_empty(0) if spec.background is None else spec.background.float().contiguous()
        color, _, _, *kept = ext.composite_fwd(means2d, conics, blend_opacities, rgb, depths, radii, background,
                                               w, h, True, 0)  # fmt: skip
        corrected = color if affine.numel() == 0 else ext.color_affine_fwd(color, affine[spec.frame])
        target, weight = spec.target, means.new_empty(0)
        if spec.valid is not None:  # ignored pixels: the render itself, as photometric_loss does
            target = torch.where(spec.valid[..., None], target, corrected)
            weight = spec.valid.to(torch.float32)
        target = target.contiguous()
        stats, moments = ext.photometric_fwd(corrected, target, weight, spec.ssim_lambda)
        loss, mse = stats[0], stats[1]
        if affine.numel():
            loss = loss + spec.color_reg * F.mse_loss(affine, _identity(affine))
        ctx.mark_non_differentiable(mse, radii)
        ctx.save_for_backward(means, quats, affine)
        ctx.spec, ctx.background = spec, background
        ctx.kept = (scales, opacities, comps, radii, means2d, conics, blend_opacities, kept, dirs, coeffs, raw,
                    color, corrected, target, weight, moments)  # fmt: skip
        ctx.shN_shape = shN.shape
        return loss, mse, radii

    @staticmethod
    def backward(ctx, v_loss, _v_mse, _v_radii):
        ext = _native.load()
        means, quats, affine = ctx.saved_tensors
        (scales, opacities, comps, radii, means2d, conics, blend_opacities, kept, dirs, coeffs, raw,
         color, corrected, target, weight, moments) = ctx.kept  # fmt: skip
        spec, w, h = ctx.spec, ctx.spec.width, ctx.spec.height
        v_corrected = ext.photometric_bwd(corrected, target, weight, moments, spec.ssim_lambda, float(v_loss))
        v_affine = None
        if affine.numel():
            v_color, v_frame = ext.color_affine_bwd(color, affine[spec.frame], v_corrected)
            # d/dA of color_reg * mean((A - I)^2), as mse_loss's backward computes it
            v_affine = torch.ops.aten.mse_loss_backward(v_loss * spec.color_reg, affine, _identity(affine), 1)
            v_affine[spec.frame] += v_frame
        else:
            v_color = v_corrected
        zeros = color.new_zeros(h, w)  # the blended depth and alpha do not enter the loss
        v_means2d, v_conics, v_blend, v_rgb, v_depths = ext.composite_bwd(
            means2d, conics, blend_opacities, kept, ctx.background, w, h, v_color, zeros, zeros, 0)
        v_means_sh, v_coeffs = ext.sh_colors_bwd(spec.degree, dirs, coeffs, radii, raw, v_rgb.contiguous(), 0)
        v_comps = v_blend * opacities if spec.antialiased else torch.zeros_like(v_blend)
        v_opacities = v_blend * comps if spec.antialiased else v_blend
        v_means, v_quats, v_scales = ext.project_bwd(means, quats, scales, spec.cam_from_world, spec.K, w, h,
                                                     DEFAULT_NEAR, spec.antialiased, radii, v_means2d, v_depths.contiguous(),
                                                     v_conics, v_comps, 0)  # fmt: skip
        v_means = v_means + v_means_sh
        v_log_scales = v_scales * scales  # exp's backward
        v_logits = torch.ops.aten.sigmoid_backward(v_opacities, opacities)
        v_sh0, v_shN = v_coeffs[:, :1], None
        if spec.degree > 0:  # bands above the degree get a zero gradient, as the composed slice gives
            v_shN = v_coeffs.new_zeros(ctx.shN_shape)
            v_shN[:, : v_coeffs.shape[1] - 1] = v_coeffs[:, 1:]
        return v_means, v_quats, v_log_scales, v_logits, v_sh0, v_shN, v_affine, v_means2d, None


def _identity(affine: Tensor) -> Tensor:  # [F, 3, 4] -> [I | 0] for every frame (a view, not a copy)
    return torch.eye(3, 4).expand_as(affine)
