"""The training loss on the CPU by hand: render, colour correction and loss, forward and backward.

`TrainState.step` composes the loss from public pieces: the Gaussians' activations, the
rasterizer's three stages, the frame's colour correction, the photometric loss and the
correction's pull to identity. Each is an autograd node with its own Python around its
C++ call, and on a small step (120x67, 4.5k Gaussians) that Python and autograd's engine
cost about 1 ms of a 4.5 ms step. `TrainingLoss` computes the same loss from the raw
parameters in one C++ call that runs the same stages in turn (`cuda/ops.cpp`,
`training_loss_fwd`), and its `backward` one call that runs their backwards in reverse;
it writes each parameter's `.grad`, as `loss.backward()` would. Same kernels, same
arithmetic (but for the scales' exp, `ops.cpp` `exp_`): its loss and
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
    (as `rasterize(validate=True)`). The forward and the backward are one C++ call each
    (`cuda/ops.cpp`, `training_loss_fwd` / `_bwd`): the stages and their glue, as
    `TrainState._composed_loss` puts them together.
    """

    def __init__(self, means: Tensor, quats: Tensor, log_scales: Tensor, opacity_logits: Tensor, sh0: Tensor,
                 shN: Tensor, affine: Tensor | None, spec: LossSpec, validate: bool = False):  # fmt: skip
        self.params = [means, quats, log_scales, opacity_logits, sh0, shN,
                       means.new_empty(0) if affine is None else affine]  # fmt: skip
        self.spec = spec
        self._background = means.new_empty(0) if spec.background is None else spec.background.float().contiguous()
        with torch.no_grad():
            if validate:
                check_inputs(means, quats, log_scales.exp(), opacity_logits.sigmoid(), torch.cat([sh0, shN], dim=1),
                             spec.cam_from_world, spec.K, spec.width, spec.height, spec.degree, spec.background,
                             DEFAULT_NEAR)  # fmt: skip
            out = _native.load().training_loss_fwd(
                self.params, spec.cam_from_world, spec.K, spec.width, spec.height, spec.degree, spec.antialiased,
                DEFAULT_NEAR, self._background, spec.target.contiguous(),
                means.new_empty(0) if spec.valid is None else spec.valid, spec.frame, spec.ssim_lambda,
                spec.color_reg)  # fmt: skip
        self.loss, self.mse, self.radii = out[0], out[1], out[2]  # scalar, scalar, [N] int32 (0 = culled)
        self._saved = out[3:]

    def backward(self) -> Tensor:
        """d loss / d each parameter into its `.grad` (added to one already there, as autograd
        does), and the screen-space gradient [N, 2] densification reads (`means2d.grad`)."""
        spec = self.spec
        with torch.no_grad():
            *grads, screen = _native.load().training_loss_bwd(
                self.params, self._saved, self.radii, spec.cam_from_world, spec.K, spec.width, spec.height,
                spec.degree, spec.antialiased, DEFAULT_NEAR, self._background, spec.frame, spec.ssim_lambda,
                spec.color_reg)  # fmt: skip
        for param, grad in zip(self.params, grads):
            if grad.numel() and param.requires_grad:  # empty: shN below its degree, or no colour correction
                param.grad = grad if param.grad is None else param.grad + grad
        return screen

