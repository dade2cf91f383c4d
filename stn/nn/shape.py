"""Shape inference by a dry run, so that builders never hard-code feature sizes."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def output_shape(module: nn.Module, in_shape: Sequence[int]) -> tuple[int, ...]:
    """Shape of ``module``'s output for one input of ``in_shape`` (no batch dimension).

    Runs one zero sample in eval mode without gradients, so batch-norm statistics and
    the module's training flag are left untouched.
    """
    was_training = module.training
    param = next(module.parameters(), None)
    device = param.device if param is not None else None
    module.eval()
    try:
        with torch.no_grad():
            out = module(torch.zeros(1, *in_shape, device=device))
    except RuntimeError as err:
        raise ValueError(
            f"{type(module).__name__} cannot take an input of shape {tuple(in_shape)}: {err}"
        ) from err
    finally:
        module.train(was_training)
    return tuple(out.shape[1:])
