"""Batch-level data augmentation on the device (seed 003 P2 and P4).

All functions take float tensors ``[N, C, H, W]`` on any device and a
``torch.Generator`` for every random draw.  Draws are made on the generator's
device and then moved to ``x.device``, so a CPU generator gives the same
augmentation whether the batch lives on the CPU or a GPU.  Nothing loops over
samples in Python: per-image parameters are vectors, applied with index
arithmetic, masks or one batched ``grid_sample``.

Random-number order inside :func:`apply` is fixed (shift -> hflip -> cutout, each
drawing its vectors in the order documented there), so a seeded generator gives
identical batches run to run.

Batch augmentation (a run's ``augment`` keys beyond :data:`APPLY_ORDER`, read by the
trainer): ``repeat`` (M copies of every sample), ``repeat_layout`` (``batch``: the M
copies of an image sit side by side in one step's batch of B x M; ``spread``: the M x N
copies form one training set that the epoch's shuffle spreads, B x M per step, as
Keras's ``fit(shuffle=True)`` on a pre-built M-fold array) and ``cutout_draw``
(``step``: a fresh mask at every use; ``once``: each copy's mask is drawn once before
training, :func:`cutout_centres`, and reused every epoch, as a data set built by
applying the mask M times up front).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["random_shift", "translate", "random_hflip", "hflip", "cutout", "cutout_mask", "cutout_centres",
           "mask_from_centres", "repeat_batch", "resize", "apply", "APPLY_ORDER", "BATCH_AUG_KEYS",
           "REPEAT_LAYOUTS", "CUTOUT_DRAWS"]

APPLY_ORDER = ("shift", "hflip", "cutout")
#: keys of a run's ``augment`` the trainer reads (batch augmentation), not :func:`apply`
BATCH_AUG_KEYS = ("repeat", "repeat_layout", "cutout_draw")
REPEAT_LAYOUTS = ("batch", "spread")
CUTOUT_DRAWS = ("step", "once")


def _check(x: torch.Tensor) -> None:
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"expected a float tensor [N, C, H, W], got {tuple(x.shape)} {x.dtype}")


def _rand(n: int, gen: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=gen.device).to(device)


def _randint(high: int, n: int, gen: torch.Generator, device) -> torch.Tensor:
    return torch.randint(0, high, (n,), generator=gen, device=gen.device).to(device)


def translate(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Output pixel (i, j) = input at (i + dy, j + dx), bilinear, edge pixels repeated.

    This is ``scipy.ndimage.affine_transform(order=1, mode='nearest')`` with a pure
    translation, which is what Keras's ``apply_affine_transform`` does for
    ``width/height_shift_range`` (interpolation order 1, fill_mode 'nearest').
    ``dy``/``dx`` are per-image shifts in pixels (float, may be fractional).
    """
    _check(x)
    n, _, h, w = x.shape
    dy = dy.to(device=x.device, dtype=x.dtype).reshape(n)
    dx = dx.to(device=x.device, dtype=x.dtype).reshape(n)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    # align_corners=True: normalised coordinate u = 2 * j / (W - 1) - 1
    theta[:, 0, 2] = 2 * dx / max(w - 1, 1)
    theta[:, 1, 2] = 2 * dy / max(h - 1, 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def random_shift(x: torch.Tensor, frac: float, gen: torch.Generator) -> torch.Tensor:
    """Keras ``width_shift_range=height_shift_range=frac`` with ``fill_mode='nearest'``.

    Per image: ``ty ~ U(-frac, frac) * H``, ``tx ~ U(-frac, frac) * W`` (continuous, as
    Keras draws ``np.random.uniform`` for a float range < 1), applied by
    :func:`translate`.  Draw order: all ty (N values), then all tx.
    """
    _check(x)
    if frac == 0:
        return x
    n, _, h, w = x.shape
    ty = (_rand(n, gen, x.device) * 2 - 1) * frac * h
    tx = (_rand(n, gen, x.device) * 2 - 1) * frac * w
    return translate(x, ty, tx)


def hflip(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mirror the width axis of the images where ``mask`` (bool [N]) is true."""
    return torch.where(mask.view(-1, 1, 1, 1).to(x.device), x.flip(-1), x)


def random_hflip(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Keras ``horizontal_flip=True``: each image mirrored with probability ``p`` (0.5)."""
    _check(x)
    return hflip(x, _rand(x.shape[0], gen, x.device) < p)


def cutout_mask(n: int, h: int, w: int, size: int, gen: torch.Generator,
                device=None) -> torch.Tensor:
    """Bool mask [N, H, W], true inside each image's (clipped) square.

    Centre ``(cy, cx)`` uniform over all pixels (draw order: N rows, then N columns), box
    rows ``[cy - size//2, cy - size//2 + size)`` clipped to ``[0, H)``, same for columns.
    For even ``size`` this is DeVries & Taylor's ``Cutout`` and the seed's ``apply_mask``
    (``clip(y - size//2)`` .. ``clip(y + size//2)``); for odd ``size`` the side is
    ``size`` (theirs is ``size - 1``).
    """
    device = device if device is not None else gen.device
    cy, cx = cutout_centres(n, h, w, gen, device)
    return mask_from_centres(cy, cx, h, w, size)


def cutout_centres(n: int, h: int, w: int, gen: torch.Generator, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The square centres of :func:`cutout_mask`: N rows uniform in ``[0, H)``, then N
    columns uniform in ``[0, W)`` (int64 vectors on ``device``). Drawn once for a whole
    M-fold training set, they are the static masks of ``augment.cutout_draw: once``."""
    device = device if device is not None else gen.device
    return _randint(h, n, gen, device), _randint(w, n, gen, device)


def mask_from_centres(cy: torch.Tensor, cx: torch.Tensor, h: int, w: int, size: int) -> torch.Tensor:
    """Bool mask [N, H, W] of the clipped squares of side ``size`` around the given centres."""
    device = cy.device
    y1 = cy - size // 2
    x1 = cx - size // 2
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    in_y = (rows >= y1[:, None]) & (rows < (y1 + size)[:, None])  # [N, H]
    in_x = (cols >= x1[:, None]) & (cols < (x1 + size)[:, None])  # [N, W]
    return in_y[:, :, None] & in_x[:, None, :]


def cutout(x: torch.Tensor, size: int, gen: torch.Generator, value: float = 0.0,
           centres: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """One square of side ``size`` set to ``value`` (0) per image, all channels, see :func:`cutout_mask`.

    The zero is in whatever space ``x`` is in (after normalisation it is the mean colour,
    as in DeVries & Taylor, who cut out after normalising). ``centres`` (one (row, column)
    per image, e.g. drawn once by :func:`cutout_centres`) replaces the draw: ``gen`` is
    then not used.
    """
    _check(x)
    if not size:
        return x
    n, _, h, w = x.shape
    if centres is None:
        m = cutout_mask(n, h, w, int(size), gen, x.device)
    else:
        cy, cx = (c.to(x.device) for c in centres)
        if len(cy) != n or len(cx) != n:
            raise ValueError(f"cutout: {len(cy)} centres for {n} images")
        m = mask_from_centres(cy, cx, h, w, int(size))
    return x.masked_fill(m[:, None], value)


def repeat_batch(x: torch.Tensor, y: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch augmentation (Hoffer et al. 2019): each sample repeated ``m`` times, copies adjacent.

    Apply random augmentation (e.g. :func:`cutout`) *after* this call so that every
    copy gets its own independent draw.
    """
    if m < 1:
        raise ValueError("repeat factor m must be >= 1")
    if m == 1:
        return x, y
    return x.repeat_interleave(m, dim=0), y.repeat_interleave(m, dim=0)


def resize(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (28 -> 32 for Fashion-MNIST), half-pixel centres (``align_corners=False``).

    Same sampling convention as the seed's ``cv2.resize`` (INTER_LINEAR); no antialiasing
    (upsampling only in this project).
    """
    _check(x)
    if isinstance(size, int):
        size = (size, size)
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def apply(x: torch.Tensor, spec: dict | None, gen: torch.Generator,
          cutout_centres: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Apply ``spec`` (e.g. ``{hflip: true, shift: 0.1, cutout: 12}``) in ``APPLY_ORDER``.

    Order: shift, then horizontal flip (Keras ``ImageDataGenerator.random_transform``
    applies the affine transform before the flip), then cutout (after the standard
    augmentation, as DeVries & Taylor).  Keys: ``shift`` (float fraction, 0/None = off),
    ``hflip`` (bool), ``cutout`` (int side, 0/None = off).  Unknown keys are an error.
    ``cutout_centres``: the images' static square centres (``augment.cutout_draw: once``).
    """
    if not spec:
        return x
    unknown = set(spec) - set(APPLY_ORDER)
    if unknown:
        raise ValueError(f"unknown augmentation keys {sorted(unknown)}; known: {list(APPLY_ORDER)}")
    if spec.get("shift"):
        x = random_shift(x, float(spec["shift"]), gen)
    if spec.get("hflip"):
        x = random_hflip(x, gen)
    if spec.get("cutout"):
        x = cutout(x, int(spec["cutout"]), gen, centres=cutout_centres)
    return x
