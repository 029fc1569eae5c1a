import pytest
import torch

from dlrepro.training import augment as A


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _box_ok(zero_mask, size, h, w):
    """zero_mask [H, W] is one axis-aligned rectangle, side == size unless clipped at a border."""
    rows = zero_mask.any(1).nonzero().flatten()
    cols = zero_mask.any(0).nonzero().flatten()
    r0, r1, c0, c1 = rows.min().item(), rows.max().item() + 1, cols.min().item(), cols.max().item() + 1
    area = (r1 - r0) * (c1 - c0)
    assert zero_mask.sum().item() == area                      # exactly the rectangle, no holes
    assert zero_mask[r0:r1, c0:c1].all()
    for a0, a1, n in ((r0, r1, h), (c0, c1, w)):
        side = a1 - a0
        assert 1 <= side <= size
        if side < size:                                       # only clipping can shorten it
            assert a0 == 0 or a1 == n
    return area


def test_cutout_zeroes_exactly_a_clipped_square_per_image():
    n, c, h, w, size = 64, 3, 32, 32, 12
    x = torch.ones(n, c, h, w)
    y = A.cutout(x, size, gen(1))
    assert y.shape == x.shape
    clipped = 0
    for i in range(n):
        z = y[i] == 0
        assert (z == z[0:1]).all()                            # same square in every channel
        area = _box_ok(z[0], size, h, w)
        clipped += area < size * size
    assert 0 < clipped < n                                    # both cases occur with this seed
    assert torch.equal(x, torch.ones(n, c, h, w))             # input untouched


def test_cutout_mask_matches_devries_formula():
    # With the same draws, the mask equals clip(c - s//2) .. clip(c + s//2) for even s.
    n, h, w, s = 16, 10, 12, 4
    g1, g2 = gen(3), gen(3)
    m = A.cutout_mask(n, h, w, s, g1)
    cy = torch.randint(0, h, (n,), generator=g2)
    cx = torch.randint(0, w, (n,), generator=g2)
    for i in range(n):
        ref = torch.zeros(h, w, dtype=torch.bool)
        y1, y2 = max(cy[i] - s // 2, 0), min(cy[i] + s // 2, h)
        x1, x2 = max(cx[i] - s // 2, 0), min(cx[i] + s // 2, w)
        ref[y1:y2, x1:x2] = True
        assert torch.equal(m[i], ref)


def test_determinism_and_independence():
    x = torch.rand(8, 3, 16, 16, generator=gen(9))
    spec = {"hflip": True, "shift": 0.1, "cutout": 6}
    a = A.apply(x, spec, gen(5))
    b = A.apply(x, spec, gen(5))
    assert torch.equal(a, b)
    assert not torch.equal(a, A.apply(x, spec, gen(6)))
    # repeated copies get independent cutout masks
    xr, yr = A.repeat_batch(x, torch.arange(8), 4)
    masks = A.cutout(torch.ones_like(xr), 6, gen(2)) == 0
    assert not all(torch.equal(masks[0], masks[k]) for k in range(1, 4))


def test_repeat_batch():
    x = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 2, 4, 4)
    y = torch.tensor([7, 8, 9])
    xr, yr = A.repeat_batch(x, y, 3)
    assert xr.shape == (9, 2, 4, 4)
    assert yr.tolist() == [7, 7, 7, 8, 8, 8, 9, 9, 9]
    assert xr[:, 0, 0, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert A.repeat_batch(x, y, 1)[0] is x
    with pytest.raises(ValueError):
        A.repeat_batch(x, y, 0)


def test_hflip_correctness():
    x = torch.arange(2 * 1 * 2 * 3, dtype=torch.float32).view(2, 1, 2, 3)
    y = A.hflip(x, torch.tensor([True, False]))
    assert y[0, 0].tolist() == [[2, 1, 0], [5, 4, 3]]
    assert torch.equal(y[1], x[1])
    z = A.random_hflip(torch.rand(200, 1, 3, 5), gen(0))
    assert z.shape == (200, 1, 3, 5)
    x = torch.rand(200, 1, 3, 5, generator=gen(1))
    z = A.random_hflip(x, gen(0))
    flipped = (z == x.flip(-1)).flatten(1).all(1)
    same = (z == x).flatten(1).all(1)
    assert (flipped | same).all() and 60 < flipped.sum() < 140


def test_translate_integer_shift_repeats_edges():
    x = torch.arange(2 * 1 * 5 * 6, dtype=torch.float64).view(2, 1, 5, 6)
    dy, dx = torch.tensor([1.0, -2.0]), torch.tensor([-1.0, 3.0])
    out = A.translate(x, dy, dx)
    for i in range(2):
        ri = (torch.arange(5) + int(dy[i])).clamp(0, 4)
        ci = (torch.arange(6) + int(dx[i])).clamp(0, 5)
        ref = x[i, 0][ri][:, ci]
        torch.testing.assert_close(out[i, 0], ref)


def test_translate_fractional_is_bilinear():
    x = torch.tensor([[0.0, 10.0, 20.0, 30.0]]).view(1, 1, 1, 4).expand(1, 1, 3, 4).contiguous()
    out = A.translate(x, torch.zeros(1), torch.tensor([0.5]))
    torch.testing.assert_close(out[0, 0, 1], torch.tensor([5.0, 15.0, 25.0, 30.0]))


def test_random_shift_range_and_identity():
    x = torch.rand(4, 3, 32, 32, generator=gen(0))
    assert torch.equal(A.random_shift(x, 0.0, gen(0)), x)
    y = A.random_shift(x, 0.1, gen(0))
    assert y.shape == x.shape and not torch.equal(x, y)
    assert y.min() >= x.min() - 1e-6 and y.max() <= x.max() + 1e-6   # bilinear + edge fill


def test_resize_shapes_and_constant():
    x = torch.full((2, 1, 28, 28), 0.7)
    y = A.resize(x, 32)
    assert y.shape == (2, 1, 32, 32)
    torch.testing.assert_close(y, torch.full_like(y, 0.7))


def test_apply_spec_validation_and_shapes():
    x = torch.rand(5, 3, 32, 32)
    assert A.apply(x, {}, gen()) is x
    assert A.apply(x, {"hflip": False, "shift": 0, "cutout": 0}, gen()) is x
    assert A.apply(x, {"hflip": True, "shift": 0.1, "cutout": 12}, gen()).shape == x.shape
    with pytest.raises(ValueError):
        A.apply(x, {"rotate": 10}, gen())
    with pytest.raises(ValueError):
        A.cutout(torch.ones(3, 32, 32), 4, gen())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_cpu_generator_gives_same_result_on_gpu():
    x = torch.rand(6, 3, 16, 16, generator=gen(0))
    spec = {"hflip": True, "shift": 0.1, "cutout": 6}
    a = A.apply(x, spec, gen(4))
    b = A.apply(x.cuda(), spec, gen(4)).cpu()
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
