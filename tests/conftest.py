import pytest
import torch

from stn.nn import TRANSFORMS, build_transform


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def near_identity(transform, batch: int, scale: float = 0.1, dtype=torch.float32):
    """Random θ ``(batch, n_params)`` around the identity."""
    theta = transform.identity(dtype).repeat(batch, 1)
    return theta + scale * torch.randn(batch, transform.n_params, dtype=dtype)


@pytest.fixture(params=list(TRANSFORMS))
def transform(request):
    return build_transform(request.param)
