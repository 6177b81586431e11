"""`adam_step` against `torch.optim.Adam.step` itself: the same parameters and moments, bit for bit
through torch's kernel and to float rounding through the C++ one."""

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


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("none_grad", [False, True])
def test_adam_step_equals_optimizer_step(none_grad, native, monkeypatch):
    """Through torch's fused kernel (the C++ one switched off): exact equality, both run it on the
    same arguments. Through the C++ kernel: equal to float rounding (its arithmetic is torch's, but
    compiled with -ffast-math: fused multiply-adds and another square root and division order)."""
    from splatcine.raster import _native

    if not native:
        monkeypatch.setattr(_native, "adam_step", lambda *args: False)
    elif not _native._loadable():
        pytest.skip("no C++ compiler: the native Adam cannot be built")
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
            sa, sb = oa.state[a], ob.state[b]
            assert sorted(sa) == sorted(sb)
            for x, y in [(a.data, b.data), *((sa[key], sb[key]) for key in sb)]:
                if native:  # float32 rounding of a few operations on values of order 1 (moments: 1e-5)
                    torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7)
                else:
                    assert torch.equal(x, y)


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


def test_native_adam_moves_every_parameter_as_torch_does_on_many_threads():
    """The C++ kernel splits all tensors' elements into one range per thread; tensors crossing a
    split (sizes not multiples of anything) must still get every element updated, the counters
    counted once, on 1 to 3 threads alike."""
    from splatcine.raster import _native

    if not _native._loadable():
        pytest.skip("no C++ compiler: the native Adam cannot be built")
    threads = torch.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            gen = torch.Generator().manual_seed(5)
            params = [torch.randn(s, generator=gen) for s in (7, 0, 300_001, 13)]  # large: the region opens
            grads = [torch.randn(p.shape, generator=gen) for p in params]
            m = [torch.zeros_like(p) for p in params]
            v = [torch.zeros_like(p) for p in params]
            steps = [torch.tensor(0.0) for _ in params]
            start = [p.clone() for p in params]
            assert _native.adam_step(params, grads, m, v, steps, [(1e-2, 0.9, 0.999, 1e-15)] * len(params))
            assert all(float(s) == 1.0 for s in steps)
            # the first Adam step moves each element by lr * sign(grad) (bias-corrected moments)
            for p, p0, g in zip(params, start, grads):
                # float rounding of parameters up to ~5 in size (2^-21 apart) shows in their difference
                torch.testing.assert_close(p0 - p, 1e-2 * torch.sign(g), rtol=0, atol=1e-6)
            results.append(params)
    finally:
        torch.set_num_threads(threads)
    for other in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(results[0], other))
