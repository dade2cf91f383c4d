"""The spatial transformer: localisation net → θ → grid generator → sampler."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from stn.nn.sampler import check_sampling, sample
from stn.nn.shape import output_shape
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

    The localisation net's features go through one regression layer, which the transformer
    adds, to ``n`` θs; its weights start at zero and its bias at ``theta_init`` (default: the
    identity for every transformer), so training starts from known transformations.

    Args:
        localisation: any net ``(B, C, H, W)`` → flat features ``(B, F)`` (end a conv net with
            ``nn.Flatten()``). It must not end in its own regression to θ: the transformer
            adds that layer.
        transform: the grid generator (``stn.nn.build_transform``).
        n: number of transformers.
        out_size: output ``(H, W)`` (or one int for a square); ``None`` keeps the input's.
        mode: ``grid_sample`` interpolation: ``bilinear`` (the paper's), ``nearest``, ``bicubic``.
        padding_mode: value outside the input: ``zeros`` or ``border`` (or ``reflection``).
        theta_init: ``(n, n_params)`` initial θs.
        in_features: ``F``, when known.
        in_shape: the input's ``(C, H, W)``: ``F`` is read from one dry run of the
            localisation net at construction, and other input shapes are refused.
        align_corners: where pixels sit in normalised coordinates, as ``F.grid_sample``'s
            (``stn.nn.transforms.base``); ``False``, the default, is the paper's and torch's.

    The regression layer is built at construction when ``F`` is known: from ``in_features``,
    ``in_shape``, or the localisation net's ``out_features`` (``stn.nn.localisation``'s
    builders set it). Otherwise it is lazy, read from the first batch: until then the
    network's parameters cannot be counted, moved or exported, and as it draws no random
    numbers, the layers built after it start from other draws than in an eager build.

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
        *,
        in_shape: tuple[int, int, int] | None = None,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        check_sampling(mode, padding_mode)
        if theta_init is None:
            theta_init = transform.identity().repeat(n, 1)
        if tuple(theta_init.shape) != (n, transform.n_params):
            raise ValueError(
                f"theta_init must have shape (n={n}, {transform.n_params}), "
                f"got {tuple(theta_init.shape)}"
            )
        _warn_if_it_regresses(localisation, n * transform.n_params)
        self.in_shape = tuple(in_shape) if in_shape is not None else None
        in_features = in_features or _width(localisation, self.in_shape)
        self.localisation = localisation
        self.transform = transform
        self.n = n
        self.out_size = _size(out_size)
        self.mode = mode
        self.padding_mode = padding_mode
        self.align_corners = align_corners
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
        expected = self.in_shape or getattr(self.localisation, "in_shape", None)
        if expected is not None and tuple(x.shape[1:]) != tuple(expected):
            # A conv loc net may map another size to the same width: say so, not guess.
            raise ValueError(
                f"the localisation net was built for inputs (B, {', '.join(map(str, expected))}), "
                f"got {tuple(x.shape)}"
            )
        features = self.localisation(x)
        width = self.regression.in_features or "F"  # 0: a lazy layer, any width
        if features.dim() != 2 or (width != "F" and features.shape[1] != width):
            raise ValueError(_features_error(features.shape, width))
        return self.regression(features).view(x.shape[0], self.n, self.transform.n_params)

    def transformed(self, x: Tensor, theta: Tensor) -> tuple[Tensor, ...]:
        """Warp ``x`` ``(B, C, H, W)`` by each of ``theta`` ``(B, n, n_params)``.

        Returns:
            ``n`` tensors ``(B, C, *out_size)``.
        """
        # int(): under torch.jit.trace a size is a tensor; a trace fixes the output size.
        size = self.out_size or (int(x.shape[-2]), int(x.shape[-1]))
        return tuple(
            sample(
                x,
                self.transform.grid(theta[:, i], size, self.align_corners),
                self.mode,
                self.padding_mode,
                self.align_corners,
            )
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
            f"padding_mode={self.padding_mode}, align_corners={self.align_corners}"
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
        *,
        in_shape: tuple[int, int, int] | None = None,
        align_corners: bool = False,
    ) -> None:
        if theta_init is not None:
            theta_init = theta_init.view(1, -1)
        super().__init__(
            localisation,
            transform,
            1,
            out_size,
            mode,
            padding_mode,
            theta_init,
            in_features,
            in_shape=in_shape,
            align_corners=align_corners,
        )

    def forward(self, x: Tensor) -> Tensor:
        (out,) = super().forward(x)
        if not _exporting():
            self.theta = self.theta[:, 0]
        return out


def _width(localisation: nn.Module, in_shape: tuple[int, ...] | None) -> int | None:
    """``F`` of the localisation net's ``(B, F)`` features, where it can be known before a
    batch: from one dry run on ``in_shape``, else its ``out_features``."""
    if in_shape is None:
        return getattr(localisation, "out_features", None)
    shape = output_shape(localisation, in_shape)
    if len(shape) != 1:
        raise ValueError(_features_error((1, *shape), "F"))
    return shape[0]


def _features_error(shape: tuple[int, ...], width: int | str) -> str:
    hint = " (end it with nn.Flatten())" if len(shape) > 2 else ""
    return f"the localisation net must return flat (B, {width}) features{hint}, got {tuple(shape)}"


def _warn_if_it_regresses(localisation: nn.Module, n_theta: int) -> None:
    """Warn when the localisation net already ends in a linear layer of ``n_theta`` outputs,
    as the PyTorch tutorial's ``fc_loc`` does: the transformer's own regression layer would
    follow it."""
    last = [m for m in localisation.modules() if not list(m.children())][-1:]
    if last and isinstance(last[0], nn.Linear) and last[0].out_features == n_theta:
        warnings.warn(
            f"the localisation net ends in {last[0]}, as many outputs as θ has parameters: the "
            f"transformer adds its own regression layer to θ (zero weights, identity bias), so "
            f"this one would be a second; end the localisation net at its features instead",
            stacklevel=3,
        )


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
