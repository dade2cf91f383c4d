"""Placing spatial transformers between the layers of a network.

The paper puts STs at the input (ST-CNN on MNIST, ST-CNN Single on SVHN) or deeper, on
feature maps (ST-CNN Multi: one before each of the first four conv layers of the SVHN net).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from torch import nn

from stn.nn.shape import output_shape


def place_transformers(
    layers: Sequence[nn.Module],
    positions: Iterable[int],
    make_transformer: Callable[[tuple[int, ...]], nn.Module],
    in_shape: Sequence[int],
) -> nn.Sequential:
    """``layers`` in sequence, with a transformer inserted before ``layers[i]`` for each ``i``.

    Args:
        layers: the network's blocks, applied in order.
        positions: indices into ``layers`` (``len(layers)`` places one after the last).
        make_transformer: builds the transformer for the ``(C, H, W)`` it will see; it must
            return that shape unchanged or the next layer must accept what it returns.
        in_shape: ``(C, H, W)`` of the network's input.

    Returns:
        ``nn.Sequential`` of the layers and the transformers, in order.
    """
    positions = sorted(set(positions))
    if any(not 0 <= p <= len(layers) for p in positions):
        raise ValueError(f"positions must lie in [0, {len(layers)}], got {positions}")
    shape = tuple(in_shape)
    placed: list[nn.Module] = []
    for i in range(len(layers) + 1):
        if i in positions:
            placed.append(make_transformer(shape))
            shape = output_shape(placed[-1], shape)
        if i < len(layers):
            placed.append(layers[i])
            shape = output_shape(layers[i], shape)
    return nn.Sequential(*placed)
