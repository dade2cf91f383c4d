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
        localisation: any net ``(B, C, H, W)`` → ``(B, F)``. ``F`` is ``in_features`` if
            given, else its ``out_features`` (the ``Localisation`` builders set it), else
            read from the first batch (a lazy regression layer, initialised then).
        transform: the grid generator (``stn.nn.build_transform``).
        n: number of transformers.
        out_size: output ``(H, W)`` (or one int for a square); ``None`` keeps the input's.
        mode: ``grid_sample`` interpolation: ``bilinear`` (the paper's), ``nearest``, ``bicubic``.
        padding_mode: value outside the input: ``zeros`` or ``border`` (or ``reflection``).
        theta_init: ``(n, n_params)`` initial θs.
        in_features: ``F``, when known.

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
        if in_features is None:
            self.regression: nn.Module = _LazyRegression(theta_init.flatten())
        else:
            self.regression = nn.Linear(in_features, n * transform.n_params)
            _start_at(self.regression, theta_init.flatten())
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
        width = self.regression.in_features or "F"  # 0: a lazy layer, any width
        if features.dim() != 2 or (width != "F" and features.shape[1] != width):
            raise ValueError(
                f"the localisation net must return (B, {width}) features, "
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


def _start_at(regression: nn.Linear, bias: Tensor) -> None:
    """Zero weights and ``bias`` θs: every input starts at the same, known transformation."""
    with torch.no_grad():
        regression.weight.zero_()
        regression.bias.copy_(bias)


class _LazyRegression(nn.LazyLinear):
    """The regression layer of a localisation net of unknown width: its input width is read
    from the first batch, and its weights then start as ``_start_at`` says (it becomes an
    ``nn.Linear``)."""

    def __init__(self, bias: Tensor) -> None:
        super().__init__(bias.numel())
        self.initial_bias = bias

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            _start_at(self, self.initial_bias)


def _exporting() -> bool:
    is_exporting = getattr(torch.compiler, "is_exporting", None)  # torch >= 2.6
    return bool(is_exporting and is_exporting())
