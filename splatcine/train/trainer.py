"""The training state and one optimisation step.

`TrainState` holds everything a run depends on (parameters, one Adam per parameter,
the colour correction, the strategy's accumulators, the random generator, the step)
and turns into and out of a checkpoint, so a resumed run takes exactly the steps an
uninterrupted one would. `TrainState.step` is the whole loop body.
"""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import Tensor
from torch.nn import Parameter

from splatcine.errors import InputError, ReconstructionError
from splatcine.gaussians import Gaussians
from splatcine.io.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
from splatcine.train.adam import adam_step
from splatcine.train.color import ColorCorrection
from splatcine.train.config import TrainConfig
from splatcine.train.data import View
from splatcine.train.evaluate import render_view
from splatcine.train import fused
from splatcine.train.loss import SSIM_WINDOW, RobustWeights, photometric_loss, psnr
from splatcine.train.strategy import StepInfo, Strategy, make_strategy
from splatcine.train.strategy.ops import Optimizers, Params

# Fields that may differ between a checkpoint's config and the config that resumes it.
RESUMABLE_CHANGES = {"iterations", "checkpoint_every", "backend", "device"}


PARAMS = ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")  # checkpointed as param.NAME
# Steps between the renderer's input checks (non-finite parameters, bad ranges). Every step
# they cost about 2% of a 100k-Gaussian step; a diverging loss is caught at every step anyway.
INPUT_CHECK_EVERY = 100


@dataclass(frozen=True)
class StepResult:
    loss: float
    psnr: float
    num_gaussians: int
    refined: dict[str, int]


class TrainState:
    def __init__(self, config: TrainConfig, gaussians: Gaussians, n_views: int, extent: float,
                 device: torch.device | str = "cpu"):  # fmt: skip
        self.config, self.extent, self.step_index = config, extent, 0
        keep_freed_memory()
        g = gaussians.to(device)
        tensors = {"means": g.means, "quats": g.quats, "log_scales": g.log_scales,
                   "opacity_logits": g.opacity_logits, "sh0": g.sh[:, :1], "shN": g.sh[:, 1:]}
        self.params: Params = {k: Parameter(v.float().contiguous().clone()) for k, v in tensors.items()}
        lr = config.lr
        rates = {"means": lr.means * extent, "quats": lr.quats, "log_scales": lr.log_scales,
                 "opacity_logits": lr.opacity_logits, "sh0": lr.sh0, "shN": lr.shN}
        self.optimizers: Optimizers = {
            k: torch.optim.Adam([p], lr=rates[k], eps=1e-15, fused=True) for k, p in self.params.items()
        }
        # which starting Gaussian each one descends from: clones, splits and relocations copy it
        self.params["origin"] = Parameter(torch.arange(len(g.means), device=g.means.device), requires_grad=False)
        self.color = ColorCorrection(n_views).to(device)
        self.color_optimizer = torch.optim.Adam(self.color.parameters(), lr=lr.color_correction, fused=True)
        self.strategy: Strategy = make_strategy(config.strategy, extent)
        self.rng = torch.Generator(device=device).manual_seed(config.seed)
        self.robust = (RobustWeights(round(config.robust_start * config.iterations), config.robust_floor)
                       if config.robust else None)  # fmt: skip
        self._fusable: bool | None = None  # whether the step's loss can be fused.TrainingLoss

    @property
    def num_gaussians(self) -> int:
        return len(self.params["means"])

    def gaussians(self) -> Gaussians:
        """The current Gaussians, detached from the optimiser."""
        return self._live_gaussians().detach()

    def means_lr(self, step: int) -> float:
        """Exponential decay from `lr.means` to `lr.means_final`, both times the scene extent."""
        t = min(1.0, step / max(1, self.config.iterations - 1))
        lr = self.config.lr
        return self.extent * math.exp((1 - t) * math.log(lr.means) + t * math.log(lr.means_final))

    def view_for(self, step: int, n_views: int) -> int:
        """A fresh shuffle of the views each epoch, a pure function of the seed and the step."""
        epoch, offset = divmod(step, n_views)
        order = torch.randperm(n_views, generator=torch.Generator().manual_seed(
            self.config.seed * 1_000_003 + epoch))  # fmt: skip
        return int(order[offset])

    def step(self, view: View) -> StepResult:
        """Render one view, take one Adam step on every parameter, let the strategy refine."""
        cfg, step = self.config, self.step_index
        means_lr = self.means_lr(step)
        self.optimizers["means"].param_groups[0]["lr"] = means_lr
        degree = min(cfg.sh_degree, step // cfg.sh_degree_interval)
        background = (torch.rand(3, generator=self.rng, device=self.rng.device)
                      if cfg.random_background else None)  # fmt: skip
        forward = self._fused_loss if self._fuses(view) else self._composed_loss
        try:
            loss, mse, radii, backward = forward(view, degree, background, validate=step % INPUT_CHECK_EVERY == 0)
        except InputError as err:
            if step == 0:  # the starting Gaussians or the settings, not training, are at fault
                raise
            raise ReconstructionError(f"training diverged by step {step}: {err}") from err
        regularization = self.strategy.regularization(self.params)
        loss_value = float(loss.detach()) + (0.0 if regularization is None else float(regularization.detach()))
        if not math.isfinite(loss_value):  # before the step: the parameters stay as they were
            raise ReconstructionError(f"training diverged at step {step}: the loss is {loss_value}")
        screen_grad = backward()
        if regularization is not None:
            regularization.backward()
        shN = self.params["shN"]
        if shN.grad is None:  # bands not rendered yet: a zero gradient, as slicing them off gave
            shN.grad = torch.zeros_like(shN)  # (Adam then counts the step and moves nothing)
        adam_step((*self.optimizers.values(), self.color_optimizer))
        info = StepInfo(step, screen_grad, radii, view.width, view.height, means_lr, self.rng)
        refined = self.strategy.post_backward(self.params, self.optimizers, info)
        self.step_index += 1
        return StepResult(loss_value, psnr(mse), self.num_gaussians, refined)

    # The step's loss two ways, alike in value and gradients: (loss, mse, radii [N], backward),
    # backward() writing each parameter's .grad and returning the screen-space gradient [N, 2]
    # that densification reads.

    def _composed_loss(self, view: View, degree: int, background: Tensor | None,
                       validate: bool) -> tuple[Tensor, Tensor, Tensor, Callable[[], Tensor]]:  # fmt: skip
        """From the public pieces (render, colour correction, robust weights, loss), by autograd."""
        cfg = self.config
        out = render_view(self._live_gaussians(degree), view, cfg.backend, degree, cfg.antialiased, background,
                          validate=validate)  # fmt: skip
        rgb = self.color(out.rgb, view.index) if cfg.color_correction else out.rgb
        valid, target = view.valid, view.target(background)  # inputs with alpha: over this background
        if self.robust is not None:  # leave out the pixels that stayed badly fit (transients)
            valid = self.robust.valid(view.index, rgb, target, valid, self.step_index)
        loss, mse = photometric_loss(rgb, target, valid, cfg.ssim_lambda)
        if cfg.color_correction:
            loss = loss + cfg.color_reg * self.color.regularization()

        def backward() -> Tensor:
            loss.backward()
            return out.means2d.grad if out.means2d.grad is not None else torch.zeros_like(out.means2d)

        return loss, mse, out.radii, backward

    def _fused_loss(self, view: View, degree: int, background: Tensor | None,
                    validate: bool) -> tuple[Tensor, Tensor, Tensor, Callable[[], Tensor]]:  # fmt: skip
        """The same on the CPU kernels by hand (`splatcine.train.fused`)."""
        cfg, p = self.config, self.params
        spec = fused.LossSpec(view.cam_from_world, view.K, view.width, view.height, degree, cfg.antialiased,
                              background, view.target(background), view.valid, view.index, cfg.ssim_lambda,
                              cfg.color_reg)  # fmt: skip
        out = fused.TrainingLoss(p["means"], p["quats"], p["log_scales"], p["opacity_logits"], p["sh0"], p["shN"],
                                 self.color.affine if cfg.color_correction else None, spec, validate)  # fmt: skip
        return out.loss, out.mse, out.radii, out.backward

    def _fuses(self, view: View) -> bool:
        if self._fusable is None:  # the parameters' device and type, the backend and robust weights are the run's
            self._fusable = self.robust is None and fused.applies([self.params[k] for k in PARAMS],
                                                                  self.config.backend)  # fmt: skip
        return self._fusable and min(view.width, view.height) > SSIM_WINDOW // 2  # the loss kernel's smallest

    def _live_gaussians(self, degree: int | None = None) -> Gaussians:
        """The parameters as Gaussians; with `degree`, only the SH bands up to it (no copy at 0)."""
        p = self.params
        rest = p["shN"] if degree is None else p["shN"][:, : (degree + 1) ** 2 - 1]
        sh = p["sh0"] if rest.shape[1] == 0 else torch.cat([p["sh0"], rest], dim=1)
        return Gaussians(p["means"], p["quats"], p["log_scales"], p["opacity_logits"], sh)

    # -- checkpoints -------------------------------------------------------------------

    def save(self, path: Path) -> None:
        tensors: dict[str, Tensor] = {f"param.{k}": v.data for k, v in self.params.items() if k != "origin"}
        named_opts = {**self.optimizers, "color": self.color_optimizer}
        for name, opt in named_opts.items():
            for key, value in _adam_state(opt).items():
                tensors[f"adam.{name}.{key}"] = value
        tensors["color.affine"] = self.color.affine.data
        tensors.update({f"strategy.{k}": v for k, v in self.strategy.state_dict().items()})
        tensors["rng"] = self.rng.get_state()
        if self.robust is not None:
            tensors.update({f"robust.{i}": m for i, m in self.robust.maps.items()})
        meta = {"step": self.step_index, "extent": self.extent,
                "config": self.config.model_dump(mode="json")}  # fmt: skip
        save_checkpoint(path, tensors, meta)

    @classmethod
    def load(cls, path: Path, config: TrainConfig | None = None,
             device: torch.device | str = "cpu") -> "TrainState":  # fmt: skip
        """The state saved at `path`, to continue with `config` (default: the checkpoint's own).

        `config` may differ from the saved one only in `RESUMABLE_CHANGES`, and may not
        end before the checkpoint's step.
        """
        tensors, raw = load_checkpoint(path)
        meta = checkpoint_meta(path, raw)
        config = config or meta.config
        changed = {k for k in TrainConfig.model_fields if getattr(meta.config, k) != getattr(config, k)}
        if changed - RESUMABLE_CHANGES:
            raise InputError(f"{path}: made with a different training config (field "
                             f"'{sorted(changed - RESUMABLE_CHANGES)[0]}'); resume with the same "
                             f"settings or start afresh")  # fmt: skip
        if config.iterations < meta.step:
            raise InputError(f"{path}: the checkpoint is at step {meta.step}, past --iterations "
                             f"{config.iterations}; give at least {meta.step} to resume it")  # fmt: skip
        p = {name: tensors[f"param.{name}"] for name in PARAMS}  # a missing one names the file
        gaussians = Gaussians(p["means"], p["quats"], p["log_scales"], p["opacity_logits"],
                              torch.cat([p["sh0"], p["shN"]], dim=1))  # fmt: skip
        state = cls(config, gaussians, tensors["color.affine"].shape[0], meta.extent, device)
        state.step_index = meta.step
        state.color.affine.data.copy_(tensors["color.affine"])
        for name, opt in {**state.optimizers, "color": state.color_optimizer}.items():
            prefix = f"adam.{name}."
            _set_adam_state(opt, {k[len(prefix):]: v if k.endswith(".step") else v.to(device)
                                  for k, v in tensors.items() if k.startswith(prefix)})  # fmt: skip
        try:
            state.strategy.load_state_dict({k[len("strategy."):]: v.to(device) for k, v in tensors.items()
                                            if k.startswith("strategy.")})  # fmt: skip
        except KeyError as err:
            raise InputError(f"{path}: the checkpoint has no tensor 'strategy.{err.args[0]}'") from None
        state.rng.set_state(tensors["rng"])
        if state.robust is not None:
            state.robust.maps = {int(k[len("robust."):]): v.to(device).clone() for k, v in tensors.items()
                                 if k.startswith("robust.")}  # fmt: skip
        return state


class CheckpointMeta(BaseModel):
    """The plain values of a checkpoint, checked (a hand-edited or foreign file is one line)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    step: int = Field(ge=0)
    extent: float = Field(gt=0)
    config: TrainConfig


def checkpoint_meta(path: Path, raw: dict | None = None) -> CheckpointMeta:
    """Step, scene extent and training config of the checkpoint at `path`."""
    try:
        return CheckpointMeta.model_validate(read_checkpoint_meta(path) if raw is None else raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: checkpoint field '{where}': {first['msg']}") from None


def keep_freed_memory() -> None:
    """Let glibc keep freed blocks for reuse instead of returning them to the kernel.

    A step allocates and frees the same image-sized buffers (SSIM moments, gradients)
    every time; by default glibc maps each one afresh and unmaps it on free, so every step
    page-faults its buffers in again: about 9,300 faults a step at 480x270, 380 with this
    (a step about 15% faster). Allocations of 32 MiB and more are still mapped and unmapped.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt  # glibc only (musl has no mallopt)
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # glibc's malloc.h
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest allowed value
    mallopt(m_trim_threshold, 1 << 30)
    mallopt(m_top_pad, 64 << 20)


def _adam_state(opt: torch.optim.Optimizer) -> dict[str, Tensor]:
    (param,) = opt.param_groups[0]["params"]
    state = opt.state.get(param, {})
    return {k: v if torch.is_tensor(v) else torch.tensor(float(v)) for k, v in state.items()}


def _set_adam_state(opt: torch.optim.Optimizer, state: dict[str, Tensor]) -> None:
    if state:
        (param,) = opt.param_groups[0]["params"]
        opt.state[param] = {k: v.clone() for k, v in state.items()}
