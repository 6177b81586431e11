"""The training loss on the CPU by hand: render, colour correction and loss, forward and backward.

`TrainState.step` composes the loss from public pieces: the Gaussians' activations, the
rasterizer's three stages, the frame's colour correction, the photometric loss and the
correction's pull to identity. Each is an autograd node with its own Python around its
C++ call, and on a small step (120x67, 4.5k Gaussians) that Python and autograd's engine
cost about 1 ms of a 4.5 ms step. `TrainingLoss` computes the same loss from the raw
parameters by calling the same native kernels in turn, and its `backward` calls their
backwards in reverse and writes each parameter's `.grad`, as `loss.backward()` would.
Same kernels, same arithmetic (but for the scales' exp, `ops.cpp` `exp_`): its loss and
gradients equal the composed path's to float rounding (tests/train/test_fused.py holds
the two together). Autograd is not involved, so whatever else enters the loss (a
strategy's regularisation) is differentiated on its own, into the same `.grad`s.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
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


def applies(params: list[Tensor], backend: str) -> bool:
    """Whether `TrainingLoss` can stand in for the composed loss: float32 CPU tensors, the
    native kernels as the rasterizer backend, and a compiler to build them."""
    return (backend in ("auto", "cpu") and all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
            and _native._loadable())  # fmt: skip


class TrainingLoss:
    """One step's loss, computed on construction; `backward()` writes the gradients.

    means [N, 3], quats [N, 4], log_scales [N, 3], opacity_logits [N], sh0 [N, 1, 3],
    shN [N, K - 1, 3] and affine [F, 3, 4] (None: no colour correction) are the trained
    parameters. `validate` runs the rasterizer's input checks on the activated values first
    (as `rasterize(validate=True)`).
    """

    def __init__(self, means: Tensor, quats: Tensor, log_scales: Tensor, opacity_logits: Tensor, sh0: Tensor,
                 shN: Tensor, affine: Tensor | None, spec: LossSpec, validate: bool = False):  # fmt: skip
        ext = _native.load()
        self.params = (means, quats, log_scales, opacity_logits, sh0, shN, affine)
        self.spec = spec
        w, h, degree, cam, K = spec.width, spec.height, spec.degree, spec.cam_from_world, spec.K
        with torch.no_grad():
            scales, opacities = ext.exp(log_scales), opacity_logits.sigmoid()  # exp: see ops.cpp exp_
            coeffs = _coeffs(sh0, shN, degree).contiguous()
            if validate:
                check_inputs(means, quats, scales, opacities, coeffs, cam, K, w, h, degree, spec.background,
                             DEFAULT_NEAR)  # fmt: skip
            means2d, depths, conics, comps, radii = ext.project_fwd(means, quats, scales, opacities, cam, K, w, h,
                                                                    DEFAULT_NEAR, spec.antialiased, 0)  # fmt: skip
            rgb, dirs, raw = ext.sh_colors_fwd(degree, means, cam, coeffs, radii, 0)
            blend_opacities = opacities * comps if spec.antialiased else opacities
            background = means.new_empty(0) if spec.background is None else spec.background.float().contiguous()
            color, _, _, *kept = ext.composite_fwd(means2d, conics, blend_opacities, rgb, depths, radii, background,
                                                   w, h, True, 0)  # fmt: skip
            frame_affine = None if affine is None else affine[spec.frame]
            corrected = color if affine is None else ext.color_affine_fwd(color, frame_affine)
            target, weight = spec.target, means.new_empty(0)
            if spec.valid is not None:  # ignored pixels: the render itself, as photometric_loss does
                target = torch.where(spec.valid[..., None], target, corrected)
                weight = spec.valid.to(torch.float32)
            target = target.contiguous()
            stats, moments = ext.photometric_fwd(corrected, target, weight, spec.ssim_lambda)
            self.loss, self.mse = stats.unbind()
            if affine is not None:  # the pull to identity, mean((A - I)^2) as the composed mse_loss
                off_identity = affine - _IDENTITY
                self.loss = self.loss + spec.color_reg * off_identity.square().mean()
        self.radii = radii  # [N] int32, 0 = culled
        self._kept = (scales, opacities, comps, means2d, conics, blend_opacities, background, kept, dirs, coeffs, raw,
                      color, frame_affine, None if affine is None else off_identity, corrected, target, weight,
                      moments)  # fmt: skip

    def backward(self) -> Tensor:
        """d loss / d each parameter into its `.grad` (added to one already there, as autograd
        does), and the screen-space gradient [N, 2] densification reads (`means2d.grad`)."""
        ext, spec = _native.load(), self.spec
        w, h = spec.width, spec.height
        means, quats, log_scales, opacity_logits, sh0, shN, affine = self.params
        (scales, opacities, comps, means2d, conics, blend_opacities, background, kept, dirs, coeffs, raw,
         color, frame_affine, off_identity, corrected, target, weight, moments) = self._kept  # fmt: skip
        v_corrected = ext.photometric_bwd(corrected, target, weight, moments, spec.ssim_lambda, 1.0)
        v_color = v_corrected
        if affine is not None:
            v_color, v_frame = ext.color_affine_bwd(color, frame_affine, v_corrected)
            v_affine = off_identity * (2.0 * spec.color_reg / off_identity.numel())  # d/dA color_reg mean((A - I)^2)
            v_affine[spec.frame] += v_frame
            _accumulate(affine, v_affine)
        zeros = color.new_zeros(h, w)  # the blended depth and alpha do not enter the loss
        v_means2d, v_conics, v_blend, v_rgb, v_depths = ext.composite_bwd(
            means2d, conics, blend_opacities, kept, background, w, h, v_color, zeros, zeros, 0)
        v_means_sh, v_coeffs = ext.sh_colors_bwd(spec.degree, dirs, coeffs, self.radii, raw, v_rgb.contiguous(), 0)
        v_comps = v_blend * opacities if spec.antialiased else torch.zeros_like(v_blend)
        v_opacities = v_blend * comps if spec.antialiased else v_blend
        v_means, v_quats, v_scales = ext.project_bwd(means, quats, scales, spec.cam_from_world, spec.K, w, h,
                                                     DEFAULT_NEAR, spec.antialiased, self.radii, v_means2d,
                                                     v_depths.contiguous(), v_conics, v_comps, 0)  # fmt: skip
        _accumulate(means, v_means + v_means_sh)
        _accumulate(quats, v_quats)
        _accumulate(log_scales, v_scales * scales)  # exp's backward
        _accumulate(opacity_logits, torch.ops.aten.sigmoid_backward(v_opacities, opacities))
        _accumulate(sh0, v_coeffs[:, :1].contiguous())
        if spec.degree > 0:  # bands above the degree get a zero gradient, as the composed slice gives
            v_shN = torch.zeros_like(shN)
            v_shN[:, : v_coeffs.shape[1] - 1] = v_coeffs[:, 1:]
            _accumulate(shN, v_shN)
        return v_means2d


def _coeffs(sh0: Tensor, shN: Tensor, degree: int) -> Tensor:  # -> [N, (degree + 1)^2, 3]
    return sh0 if degree == 0 else torch.cat([sh0, shN[:, : (degree + 1) ** 2 - 1]], dim=1)


def _accumulate(param: Tensor, grad: Tensor) -> None:
    if param.requires_grad:
        param.grad = grad if param.grad is None else param.grad + grad


_IDENTITY = torch.eye(3, 4)  # [I | 0]: the colour correction's identity
