"""The spatial transformer: localisation net → θ → grid generator → sampler."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from stn.nn.sampler import check_sampling, sample
from stn.nn.transforms import Transform


def _size(size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, int) else size
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in pair)
    ):
        raise ValueError(f"out_size must be a positive int or (H, W) of ints, got {size!r}")
    return tuple(pair)


class ParallelSpatialTransformer(nn.Module):
    """``n`` spatial transformers sharing one localisation net, each warping the same input.

    The localisation net's features go through one regression layer to ``n`` θs; its weights
    start at zero and its bias at ``theta_init`` (default: the identity for every
    transformer), so training starts from known transformations.

    Args:
        localisation: ``(B, C, H, W)`` → ``(B, F)``; ``F`` is read from its ``out_features``
            (as the ``Localisation`` builders set it) or given as ``in_features``.
        transform: the grid generator (``stn.nn.build_transform``).
        n: number of transformers.
        out_size: output ``(H, W)`` (or one int for a square); ``None`` keeps the input's.
        mode: ``grid_sample`` interpolation: ``bilinear`` (the paper's), ``nearest``, ``bicubic``.
        padding_mode: value outside the input: ``zeros`` or ``border`` (or ``reflection``).
        theta_init: ``(n, n_params)`` initial θs.
        in_features: ``F`` when the localisation net has no ``out_features``.

    After each forward, ``theta`` holds that forward's θs, detached, ``(B, n, n_params)``.
    """

    def __init__(
        self,
        localisation: nn.Module,
        transform: Transform,
        n: int,
        out_size: int | tuple[int, int] | None = None,
        mode: str = "bilinear",
        padding_mode: str = "zeros",
        theta_init: Tensor | None = None,
        in_features: int | None = None,
    ) -> None:
        super().__init__()
        check_sampling(mode, padding_mode)
        in_features = in_features or getattr(localisation, "out_features", None)
        if in_features is None:
            raise ValueError(
                "cannot tell the localisation net's output width: give it an `out_features` "
                "attribute (the stn.nn.localisation builders do) or pass in_features="
            )
        if theta_init is None:
            theta_init = transform.identity().repeat(n, 1)
        if tuple(theta_init.shape) != (n, transform.n_params):
            raise ValueError(
                f"theta_init must have shape (n={n}, {transform.n_params}), "
                f"got {tuple(theta_init.shape)}"
            )
        self.localisation = localisation
        self.transform = transform
        self.n = n
        self.out_size = _size(out_size)
        self.mode = mode
        self.padding_mode = padding_mode
        self.regression = nn.Linear(in_features, n * transform.n_params)
        nn.init.zeros_(self.regression.weight)
        self.regression.bias.data.copy_(theta_init.flatten())
        self.theta: Tensor | None = None

    def localise(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` → θ ``(B, n, n_params)``."""
        if x.dim() == 0 or x.shape[0] == 0:
            raise ValueError(f"expected a non-empty batch (B, ...), got {tuple(x.shape)}")
        expected = getattr(self.localisation, "in_shape", None)
        if expected is not None and tuple(x.shape[1:]) != tuple(expected):
            # A conv loc net may map another size to the same width: say so, not guess.
            raise ValueError(
                f"the localisation net was built for inputs (B, {', '.join(map(str, expected))}), "
                f"got {tuple(x.shape)}"
            )
        features = self.localisation(x)
        if features.dim() != 2 or features.shape[1] != self.regression.in_features:
            raise ValueError(
                f"the localisation net must return (B, {self.regression.in_features}) features, "
                f"got {tuple(features.shape)}"
            )
        return self.regression(features).view(x.shape[0], self.n, self.transform.n_params)

    def transformed(self, x: Tensor, theta: Tensor) -> tuple[Tensor, ...]:
        """Warp ``x`` ``(B, C, H, W)`` by each of ``theta`` ``(B, n, n_params)``.

        Returns:
            ``n`` tensors ``(B, C, *out_size)``.
        """
        size = self.out_size or tuple(x.shape[-2:])
        return tuple(
            sample(x, self.transform.grid(theta[:, i], size), self.mode, self.padding_mode)
            for i in range(self.n)
        )

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        theta = self.localise(x)
        if not _exporting():  # an exported program is a pure function: no logged θ
            self.theta = theta.detach()
        return self.transformed(x, theta)

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, out_size={self.out_size}, mode={self.mode}, "
            f"padding_mode={self.padding_mode}"
        )


class SpatialTransformer(ParallelSpatialTransformer):
    """One spatial transformer: ``(B, C, H, W)`` → ``(B, C, *out_size)``.

    Args are those of ``ParallelSpatialTransformer`` with ``n = 1``; ``theta_init`` is
    ``(n_params,)``. After each forward, ``theta`` holds its θ, detached, ``(B, n_params)``.
    """

    def __init__(
        self,
        localisation: nn.Module,
        transform: Transform,
        out_size: int | tuple[int, int] | None = None,
        mode: str = "bilinear",
        padding_mode: str = "zeros",
        theta_init: Tensor | None = None,
        in_features: int | None = None,
    ) -> None:
        if theta_init is not None:
            theta_init = theta_init.view(1, -1)
        super().__init__(
            localisation, transform, 1, out_size, mode, padding_mode, theta_init, in_features
        )

    def forward(self, x: Tensor) -> Tensor:
        (out,) = super().forward(x)
        if not _exporting():
            self.theta = self.theta[:, 0]
        return out


def _exporting() -> bool:
    is_exporting = getattr(torch.compiler, "is_exporting", None)  # torch >= 2.6
    return bool(is_exporting and is_exporting())
