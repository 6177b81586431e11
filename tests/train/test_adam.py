"""`adam_step` against `torch.optim.Adam.step` itself: the same parameters and moments, bit for bit."""

import pytest
import torch

from splatcine.train.adam import adam_step


def _setup(seed: int):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(50, 3), (50, 4), (50,), (7, 3, 4)]
    params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
    rates = [1.6e-4, 1e-3, 5e-2, 2.5e-3]
    opts = [torch.optim.Adam([p], lr=lr, eps=1e-15, fused=True) for p, lr in zip(params, rates)]
    return params, opts


@pytest.mark.parametrize("none_grad", [False, True])
def test_adam_step_equals_optimizer_step_bit_for_bit(none_grad):
    """Exact equality, no tolerance: both run torch's own fused kernel on the same arguments."""
    ours, ours_opts = _setup(0)
    theirs, their_opts = _setup(0)
    gen = torch.Generator().manual_seed(1)
    for step in range(5):
        grads = [torch.randn(p.shape, generator=gen) * 10.0 ** -step for p in ours]
        for i, (a, b, g) in enumerate(zip(ours, theirs, grads)):
            skip = none_grad and i == 1 and step in (2, 3)  # a parameter that got no gradient
            a.grad, b.grad = (None, None) if skip else (g.clone(), g.clone())
        ours_opts[0].param_groups[0]["lr"] = their_opts[0].param_groups[0]["lr"] = 1e-3 / (step + 1)
        adam_step(ours_opts)  # the first step goes through opt.step() (it creates the state)
        for opt in their_opts:
            opt.step()
            opt.zero_grad(set_to_none=True)
        for a, b, oa, ob in zip(ours, theirs, ours_opts, their_opts):
            assert a.grad is None
            assert torch.equal(a.data, b.data)
            sa, sb = oa.state[a], ob.state[b]
            assert sorted(sa) == sorted(sb)
            for key in sb:
                assert torch.equal(sa[key], sb[key]), key


def test_adam_step_leaves_other_optimisers_to_their_own_step():
    p = torch.nn.Parameter(torch.ones(4))
    q = torch.nn.Parameter(torch.ones(4))
    sgd = torch.optim.SGD([p], lr=0.5)
    adam = torch.optim.Adam([q], lr=0.5, amsgrad=True)  # not the fused path: opt.step() runs
    for _ in range(2):
        p.grad, q.grad = torch.ones(4), torch.ones(4)
        adam_step([sgd, adam])
    assert torch.allclose(p.data, torch.zeros(4))  # two SGD steps of 0.5
    assert p.grad is None and q.grad is None
    assert adam.state[q]["step"] == 2 and "max_exp_avg_sq" in adam.state[q]
