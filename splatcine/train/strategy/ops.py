"""Edits of the Gaussian set that keep each parameter's Adam state in step with it.

Parameters live in a dict of `nn.Parameter` (means, quats, log_scales, opacity_logits,
sh0, shN), one Adam per entry (as in gsplat), so adding and removing Gaussians is a
row operation applied alike to a parameter and to its optimiser moments. New rows
start with zero moments.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from kornia.geometry.conversions import quaternion_to_rotation_matrix
from torch import Tensor
from torch.nn import Parameter

Params = dict[str, Parameter]
Optimizers = dict[str, torch.optim.Optimizer]


def update(
    params: Params,
    optimizers: Optimizers,
    param_fn: Callable[[str, Tensor], Tensor],
    moment_fn: Callable[[str, Tensor], Tensor],
    names: tuple[str, ...] | None = None,
) -> None:
    """Replace each parameter by `param_fn(name, data)` and its Adam moments by `moment_fn`.

    An entry without an optimiser (`TrainState`'s `origin`) is a per-Gaussian tag: it follows the rows."""
    for name in names or tuple(params):
        old = params[name]
        new = Parameter(param_fn(name, old.data), requires_grad=old.requires_grad)
        params[name] = new
        if name not in optimizers:
            continue
        opt = optimizers[name]
        state = opt.state.pop(old, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key] = moment_fn(name, state[key])
        opt.param_groups[0]["params"] = [new]
        if state:
            opt.state[new] = state


def duplicate(params: Params, optimizers: Optimizers, mask: Tensor) -> None:
    """Append a copy of each Gaussian in `mask` [N] (ADC's clone)."""
    update(params, optimizers, lambda _, p: torch.cat([p, p[mask]]),
           lambda _, v: torch.cat([v, torch.zeros_like(v[mask])]))


def remove(params: Params, optimizers: Optimizers, mask: Tensor) -> None:
    """Drop the Gaussians in `mask` [N]."""
    keep = ~mask
    update(params, optimizers, lambda _, p: p[keep], lambda _, v: v[keep])


def split(params: Params, optimizers: Optimizers, mask: Tensor, rng: torch.Generator) -> None:
    """Replace each Gaussian in `mask` [N] by two drawn from it, 1.6x smaller (ADC's split)."""
    keep = ~mask
    scales = torch.exp(params["log_scales"].data[mask])  # [S, 3]
    rotmats = quaternion_to_rotation_matrix(_normalized(params["quats"].data[mask]))  # [S, 3, 3]
    noise = torch.randn((2, *scales.shape), generator=rng, device=scales.device)
    offsets = torch.einsum("nij,nj,bnj->bni", rotmats, scales, noise)  # [2, S, 3]

    def param_fn(name: str, p: Tensor) -> Tensor:
        if name == "means":
            halves = (p[mask][None] + offsets).reshape(-1, 3)
        elif name == "log_scales":
            halves = torch.log(scales / 1.6).repeat(2, 1)
        else:
            halves = p[mask].repeat(2, *[1] * (p.dim() - 1))
        return torch.cat([p[keep], halves])

    update(params, optimizers, param_fn,
           lambda _, v: torch.cat([v[keep], torch.zeros_like(v[mask]).repeat(2, *[1] * (v.dim() - 1))]))


def reset_opacity(params: Params, optimizers: Optimizers, value: float) -> None:
    """Clamp every opacity to at most `value` and forget its Adam moments (ADC's reset)."""
    ceiling = math.log(value / (1.0 - value))
    update(params, optimizers, lambda _, p: p.clamp_max(ceiling), lambda _, v: torch.zeros_like(v),
           names=("opacity_logits",))


def relocate(
    params: Params, optimizers: Optimizers, dead: Tensor, rng: torch.Generator, min_opacity: float
) -> int:
    """Move the `dead` [N] Gaussians onto live ones drawn by opacity (3DGS-MCMC); returns the count."""
    n_dead = int(dead.sum())
    alive = torch.where(~dead)[0]
    if n_dead == 0 or len(alive) == 0:
        return 0
    opacities = torch.sigmoid(params["opacity_logits"].data)
    sampled = alive[torch.multinomial(opacities[alive], n_dead, replacement=True, generator=rng)]
    _share(params, sampled, min_opacity)
    dead_idx = torch.where(dead)[0]

    def param_fn(_: str, p: Tensor) -> Tensor:
        p = p.clone()
        p[dead_idx] = p[sampled]
        return p

    def moment_fn(_: str, v: Tensor) -> Tensor:
        v = v.clone()
        v[sampled] = 0
        return v

    update(params, optimizers, param_fn, moment_fn)
    return n_dead


def sample_add(
    params: Params, optimizers: Optimizers, n_new: int, rng: torch.Generator, min_opacity: float
) -> int:
    """Add `n_new` Gaussians as copies of existing ones drawn by opacity (3DGS-MCMC)."""
    if n_new <= 0:
        return 0
    opacities = torch.sigmoid(params["opacity_logits"].data)
    sampled = torch.multinomial(opacities, n_new, replacement=True, generator=rng)
    _share(params, sampled, min_opacity)

    def moment_fn(_: str, v: Tensor) -> Tensor:
        v = v.clone()
        v[sampled] = 0
        return torch.cat([v, torch.zeros_like(v[sampled])])

    update(params, optimizers, lambda _, p: torch.cat([p, p[sampled]]), moment_fn)
    return n_new


def inject_noise(params: Params, scale: float, rng: torch.Generator) -> None:
    """Perturb positions along each Gaussian's covariance, mostly for transparent ones (3DGS-MCMC)."""
    means = params["means"].data
    opacities = torch.sigmoid(params["opacity_logits"].data)
    rotmats = quaternion_to_rotation_matrix(_normalized(params["quats"].data))  # [N, 3, 3]
    var = torch.exp(2.0 * params["log_scales"].data)  # [N, 3]
    covars = torch.einsum("nij,nj,nkj->nik", rotmats, var, rotmats)  # [N, 3, 3]
    gate = torch.sigmoid(100.0 * ((1.0 - opacities) - 0.995))  # ~1 only for nearly invisible ones
    noise = torch.randn(means.shape, generator=rng, device=means.device) * gate[:, None] * scale
    means.add_(torch.einsum("nij,nj->ni", covars, noise))


def _share(params: Params, sampled: Tensor, min_opacity: float) -> None:
    """Lower opacity and size of Gaussians that gain copies so the sum of the copies looks the same.

    The closed form of 3DGS-MCMC (Kheradmand et al. 2024, eq. 9): with N copies,
    o' = 1 - (1 - o)^(1/N) and s' = o / (sum_i sum_k C(i-1, k) (-1)^k o'^(k+1) / sqrt(k+1)) s.
    """
    copies = torch.bincount(sampled, minlength=len(params["means"]))  # [N] copies added
    idx = torch.where(copies > 0)[0]
    n = (copies[idx] + 1).to(params["means"].dtype)  # the original plus its copies
    opacity = torch.sigmoid(params["opacity_logits"].data[idx])
    new_opacity = 1.0 - torch.pow(1.0 - opacity, 1.0 / n)
    denom = torch.zeros_like(opacity)
    for i in range(1, int(n.max()) + 1):
        active = n >= i
        for k in range(i):
            term = math.comb(i - 1, k) * (-1.0) ** k / math.sqrt(k + 1) * new_opacity ** (k + 1)
            denom += torch.where(active, term, torch.zeros_like(term))
    new_opacity = new_opacity.clamp(min_opacity, 1.0 - 1e-6)
    factor = (opacity / denom).clamp_min(1e-12)
    params["opacity_logits"].data[idx] = torch.logit(new_opacity)
    params["log_scales"].data[idx] += torch.log(factor)[:, None]


def _normalized(quats: Tensor) -> Tensor:
    return quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
