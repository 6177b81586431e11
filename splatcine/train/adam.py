"""One Adam step over all of the trainer's optimisers, without `Optimizer.step`'s per-call cost.

The trainer keeps one `torch.optim.Adam(fused=True)` per parameter (densification edits
each parameter's moments with its rows, as gsplat does). Stepping seven of them through
`Optimizer.step` and `zero_grad` costs about 0.8 ms of Python a step on this machine (hooks,
grouping, profiler scopes): more than the arithmetic on 4.5k Gaussians. And torch's fused
CPU kernel opens a parallel region per tensor, each waking a sleeping thread (about 1 ms a
step more at that size, `cuda/adam_cpu.cpp`). So `adam_step` takes every optimiser's fused
groups from their state and steps them all in one call to the C++ kernel: torch's update in
the same float arithmetic, equal to `opt.step()` up to float rounding. Where the kernel does
not apply (not float32 on the CPU, weight decay, no compiler) it makes the calls
`torch.optim.Adam`'s fused path makes for each group (`torch/optim/adam.py`, `_fused_adam`:
`_foreach_add_` on the step counters, then `torch._fused_adam_`), bit for bit the same as
`opt.step()`; anything else (a group without state yet, another flavour of Adam) goes
through `opt.step()` itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.optimizer import _global_optimizer_post_hooks, _global_optimizer_pre_hooks


def adam_step(optimizers: Iterable[torch.optim.Optimizer]) -> None:
    """`opt.step(); opt.zero_grad(set_to_none=True)` for each of `optimizers`, same result."""
    optimizers = list(optimizers)
    fused = []  # (group, params with a gradient, their states) of every optimiser done here
    for opt in optimizers:
        groups = _fused_groups(opt)
        if groups is None:
            opt.step()
        else:
            fused += groups
    if fused and not _native_step(fused):
        _torch_step(fused)
    for opt in optimizers:
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = None


def _torch_step(fused: list) -> None:
    """The fused groups' step as `torch.optim.Adam`'s fused path takes it (bit for bit)."""
    counts = [[s["step"] for s in states] for _, _, states in fused]
    for device in {p.device for _, live, _ in fused for p in live}:  # the step counters: one call
        torch._foreach_add_([t for (_, live, _), c in zip(fused, counts) if live[0].device == device
                             for t in c], 1)  # fmt: skip
    for (group, live, states), steps in zip(fused, counts):
        beta1, beta2 = group["betas"]
        torch._fused_adam_(live, [p.grad for p in live], [s["exp_avg"] for s in states],
                           [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False,
                           lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                           eps=group["eps"], maximize=False)  # fmt: skip


def _native_step(fused: list) -> bool:
    """The fused groups' step in one call to the C++ kernel, where it applies (float32 on the
    CPU, no weight decay); False, with nothing done, where it does not."""
    from splatcine.raster import _native

    if any(group["weight_decay"] != 0 for group, _, _ in fused):
        return False
    p = [(param, state, group) for group, live, states in fused for param, state in zip(live, states)]
    return _native.adam_step([q for q, _, _ in p], [q.grad for q, _, _ in p], [s["exp_avg"] for _, s, _ in p],
                             [s["exp_avg_sq"] for _, s, _ in p], [s["step"] for _, s, _ in p],
                             [(g["lr"], *g["betas"], g["eps"]) for _, _, g in p])  # fmt: skip


_OTHER_FLAVOURS = ("amsgrad", "maximize", "differentiable", "capturable", "decoupled_weight_decay")


def _fused_groups(opt: torch.optim.Optimizer) -> list | None:
    """`opt`'s groups as its fused Adam would step them; None when it is not such a case."""
    if type(opt) is not torch.optim.Adam or opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks \
            or _global_optimizer_pre_hooks or _global_optimizer_post_hooks:  # fmt: skip
        return None  # someone listens to Optimizer.step
    groups, state = [], opt.state
    for group in opt.param_groups:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not group["fused"] or any(group.get(k) for k in _OTHER_FLAVOURS) \
                or isinstance(lr, torch.Tensor) or isinstance(beta1, torch.Tensor) or isinstance(beta2, torch.Tensor):  # fmt: skip
            return None
        live = [p for p in group["params"] if p.grad is not None]
        if not live:
            continue
        states = [state.get(p) for p in live]
        kind = (live[0].device, live[0].dtype)
        for p, s in zip(live, states):
            if s is None or not isinstance(s.get("step"), torch.Tensor) or p.grad.is_sparse or p.is_complex() \
                    or (p.device, p.dtype) != kind:  # fmt: skip
                return None  # first step (torch initialises the state), or tensors torch groups apart
        groups.append((group, live, states))
    return groups
