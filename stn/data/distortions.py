"""The paper's distorted MNIST variants, generated a batch at a time with the core's transforms.

Each distortion takes digits ``(B, 28, 28)`` (float in [0, 1]) and a ``torch.Generator``, and
returns distorted images ``(B, C, S, S)`` and the θ (in the core's convention: output canvas
→ source digit) it sampled with. The random draws are made on the CPU, from the generator,
and the warp on the digits' device: the same seed gives the same distortions on any device.
Names and parameters follow Jaderberg et al. (2015), §4.1:

- ``r``:   rotation U(±angle°), 28 × 28.
- ``rts``: rotation U(±angle°), scale U(scale), placed at a random location of a canvas.
- ``p``:   scale U(scale), then each corner moved by N(0, corner_std px): a homography
  (``corners`` and ``folds`` choose between readings of the paper's sentence).
- ``e``:   elastic: a thin-plate spline whose control points move by N(0, std px)
  (``grid_span`` says where they sit: the whole image, or a reading's smaller box).
- ``tc``:  the digit at a random location of a canvas, plus clutter patches cut from others.
"""

from __future__ import annotations

import inspect

import torch
from torch import Tensor

from stn.data.options import DIGIT
from stn.errors import UsageError
from stn.nn import Transform, build_transform, sample

SQUARE = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])  # image corners


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _similarity(angle: Tensor, scale: Tensor, centre: Tensor, canvas: int) -> Tensor:
    """θ ``(B, 6)`` of a digit rotated by ``angle`` (rad), scaled, centred at ``centre``
    ``(B, 2)`` (normalised canvas coordinates) on a ``canvas``-pixel square."""
    k = canvas / DIGIT / scale  # canvas units → digit units, undoing the scale
    cos, sin = torch.cos(angle) * k, torch.sin(angle) * k
    # Output → source is the inverse rotation: [[cos, sin], [-sin, cos]] (p - centre).
    a = torch.stack((cos, sin, -sin, cos), dim=1).view(-1, 2, 2)
    t = -(a @ centre.unsqueeze(-1)).squeeze(-1)
    return torch.cat((a, t.unsqueeze(-1)), dim=2).view(-1, 6)


def _warp(digits: Tensor, transform: str | Transform, theta: Tensor, canvas: int) -> Tensor:
    if isinstance(transform, str):
        transform = build_transform(transform)
    grid = transform.grid(theta.to(digits.device), (canvas, canvas))
    return sample(digits.unsqueeze(1), grid)


def rotation(digits: Tensor, gen: torch.Generator, angle: float = 90.0) -> tuple[Tensor, Tensor]:
    """R: rotation by U(±angle) degrees about the centre."""
    n = len(digits)
    rad = torch.deg2rad(_uniform(n, -angle, angle, gen))
    theta = _similarity(rad, torch.ones(n), torch.zeros(n, 2), DIGIT)
    return _warp(digits, "affine", theta, DIGIT), theta


def rts(
    digits: Tensor,
    gen: torch.Generator,
    canvas: int = 42,
    angle: float = 45.0,
    scale: tuple[float, float] = (0.7, 1.2),
    shift: float | None = None,
) -> tuple[Tensor, Tensor]:
    """RTS: rotation U(±angle), scale U(scale), at a random place where the scaled digit's
    square fits the canvas (centred when it does not); with ``shift``, the centre moves by
    U(±shift) pixels in x and y instead, whatever the scale."""
    n = len(digits)
    rad = torch.deg2rad(_uniform(n, -angle, angle, gen))
    s = _uniform(n, *scale, gen)
    if shift is None:
        room = (1 - DIGIT * s / canvas).clamp(min=0)  # how far the centre may move
    else:
        room = torch.full((n,), 2 * shift / canvas)  # pixels → normalised canvas units
    centre = (2 * torch.rand(n, 2, generator=gen) - 1) * room.unsqueeze(1)
    theta = _similarity(rad, s, centre, canvas)
    return _warp(digits, "affine", theta, canvas), theta


def projective(
    digits: Tensor,
    gen: torch.Generator,
    scale: tuple[float, float] = (0.75, 1.0),
    corner_std: float = 5.0,
    corners: str = "any",
    folds: str = "keep",
) -> tuple[Tensor, Tensor]:
    """P: scale U(scale), then each image corner moved by N(0, corner_std px).

    The paper leaves choices open (experiments/table1_distorted_mnist.md, "P: four readings"):
    ``corners="any"`` moves each corner's x and y by N(0, σ); ``"outward"`` moves them away
    from the centre by |N(0, σ)| (a stretch). ``folds="redraw"`` draws again every sample
    that would show part of the image from behind, mirrored (``"keep"`` keeps them)."""
    if corners not in ("any", "outward") or folds not in ("keep", "redraw"):
        raise UsageError(
            f"distortion p: corners={corners!r} must be 'any' or 'outward', folds={folds!r} "
            f"'keep' or 'redraw'"
        )
    n = len(digits)
    s = _uniform(n, *scale, gen).view(n, 1, 1)

    def draw(rows: Tensor) -> Tensor:
        """θ ``(m, 8)`` for the ``rows`` ``(n,)`` bool: where each corner lands (output)."""
        step = torch.randn(int(rows.sum()), 4, 2, generator=gen) * (2 * corner_std / DIGIT)
        moved = SQUARE * s[rows] + (step.abs() * SQUARE if corners == "outward" else step)
        return homography(moved, SQUARE.expand(len(moved), -1, -1))

    theta = draw(torch.ones(n, dtype=torch.bool))
    folded = folds_frame(theta) if folds == "redraw" else torch.zeros(n, dtype=torch.bool)
    while folded.any():
        theta[folded] = draw(folded)
        folded = folds_frame(theta)
    return _warp(digits, "projective", theta, DIGIT), theta


def folds_frame(theta: Tensor) -> Tensor:
    """``(B,)`` bool: whether the homography θ ``(B, 8)`` (output → source) shows some of
    the output frame from behind: its denominator is not positive at every corner of the
    frame, or it reverses orientation (the Jacobian's sign is det(H) / w³)."""
    h = build_transform("projective").matrix(theta.double())
    w = h[:, 2, :2] @ SQUARE.double().T + 1  # (B, 4)
    return (w <= 0).any(dim=1) | (torch.linalg.det(h) <= 0)


def homography(src: Tensor, dst: Tensor) -> Tensor:
    """θ ``(B, 8)`` of the homographies (h33 = 1) mapping ``src`` ``(B, 4, 2)`` to ``dst``."""
    x, y = src.unbind(-1)
    u, v = dst.unbind(-1)
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    rows_u = torch.stack((x, y, one, zero, zero, zero, -u * x, -u * y), dim=-1)
    rows_v = torch.stack((zero, zero, zero, x, y, one, -v * x, -v * y), dim=-1)
    a = torch.cat((rows_u, rows_v), dim=1).double()  # (B, 8, 8)
    b = torch.cat((u, v), dim=1).double().unsqueeze(-1)
    return torch.linalg.solve(a, b).squeeze(-1).to(src.dtype)


def elastic(
    digits: Tensor,
    gen: torch.Generator,
    std: float = 1.5,
    grid_size: int = 4,
    grid_span: float = DIGIT,
) -> tuple[Tensor, Tensor]:
    """E: a TPS whose ``grid_size``² control points each move by N(0, std px); they sit on
    a regular grid ``grid_span`` pixels wide, centred (28: from edge to edge of the image)."""
    tps = _spline(grid_size, grid_span)
    noise = torch.randn(len(digits), tps.n_params, generator=gen) * (2 * std / DIGIT)
    theta = tps.identity() + noise
    return _warp(digits, tps, theta, DIGIT), theta


def _spline(grid_size: int, grid_span: float) -> Transform:
    return build_transform("tps", grid_size=grid_size, span=grid_span / DIGIT)


def cluttered(
    digits: Tensor,
    gen: torch.Generator,
    clutter_from: Tensor,
    canvas: int = 60,
    clutter: int = 6,
    clutter_size: int = 6,
) -> tuple[Tensor, Tensor]:
    """TC: the digit at a random place of a ``canvas`` square, with ``clutter`` patches of
    ``clutter_size`` pixels cut at random from random digits of ``clutter_from`` ``(M, 28, 28)``
    and pasted at random places (pixel-wise maximum)."""
    n = len(digits)
    room = 1 - DIGIT / canvas
    centre = (2 * torch.rand(n, 2, generator=gen) - 1) * room
    theta = _similarity(torch.zeros(n), torch.ones(n), centre, canvas)
    images = _warp(digits, "affine", theta, canvas)
    device = images.device
    offsets = torch.arange(clutter_size, device=device)
    rows = torch.arange(n, device=device).view(n, 1, 1)
    for _ in range(clutter):
        source = torch.randint(len(clutter_from), (n,), generator=gen).to(device)
        sy, sx = torch.randint(DIGIT - clutter_size + 1, (2, n, 1, 1), generator=gen).to(device)
        dy, dx = torch.randint(canvas - clutter_size + 1, (2, n, 1, 1), generator=gen).to(device)
        ys, xs = offsets.view(1, -1, 1), offsets.view(1, 1, -1)
        patch = clutter_from[source.view(n, 1, 1), sy + ys, sx + xs]  # (n, size, size)
        region = images[rows, 0, dy + ys, dx + xs]
        images[rows, 0, dy + ys, dx + xs] = torch.maximum(region, patch)
    return images, theta


DISTORTIONS = {"r": rotation, "rts": rts, "p": projective, "e": elastic, "tc": cluttered}


def transform_of(name: str, params: dict) -> Transform:
    """The grid generator whose θ the distortion ``name`` with ``params`` returns."""
    kwargs = inspect.signature(DISTORTIONS[name]).bind_partial(**params)
    kwargs.apply_defaults()
    if name == "e":
        return _spline(kwargs.arguments["grid_size"], kwargs.arguments["grid_span"])
    return build_transform("projective" if name == "p" else "affine")


def angle_of(theta: Tensor) -> Tensor:
    """Rotation angle (degrees) of the digit in the image from an affine θ ``(B, 6)`` of
    ``rotation``/``rts``, whose 2×2 block is ``k R(-angle)``."""
    return torch.rad2deg(torch.atan2(-theta[:, 3], theta[:, 0]))


def scale_of(theta: Tensor, canvas: int) -> Tensor:
    """Scale of the digit from an affine θ ``(B, 6)`` of ``rts`` on a ``canvas`` square."""
    return canvas / DIGIT / torch.hypot(theta[:, 0], theta[:, 3])
